package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
)

func TestEnrollMacAndIPhoneWithBootstrapToken(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	mac := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	phone := env.Enroll(t, testenv.IPhone(2, "18.6", "22G86"), 1)

	token := []byte("bootstrap-token-of-mac-1")
	if err := mac.SetBootstrapToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	got, err := mac.GetBootstrapToken(ctx)
	if err != nil || !bytes.Equal(got, token) {
		t.Fatalf("mac got its token back as %q, %v", got, err)
	}
	none, err := phone.GetBootstrapToken(ctx)
	if err != nil || none != nil {
		t.Fatalf("a device without a token gets a successful empty answer; got %q, %v", none, err)
	}

	devices, err := env.API.Devices(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 2 {
		t.Fatalf("want 2 devices, got %d", len(devices))
	}
	byID := map[string]bool{}
	for _, d := range devices {
		if !d.Enrolled {
			t.Errorf("%s not enrolled", d.ID)
		}
		byID[d.ID] = d.BootstrapEscrowed
	}
	if !byID[mac.UDID()] || byID[phone.UDID()] {
		t.Errorf("bootstrap escrow flags wrong: %v", byID)
	}
	d, err := env.API.Device(ctx, mac.UDID())
	if err != nil {
		t.Fatal(err)
	}
	if d.Facts.Platform != "macOS" || d.Facts.OSVersion != "15.7.1" || d.Facts.SerialNumber != "C02SIM000001" {
		t.Errorf("facts from Authenticate: %+v", d.Facts)
	}

	// Clearing with an empty SetBootstrapToken.
	if err := mac.SetBootstrapToken(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := mac.GetBootstrapToken(ctx); err != nil || got != nil {
		t.Errorf("after clearing: %q %v", got, err)
	}
}

// TestBootstrapTokenOnlyForItsDevice: a device presenting its own valid
// certificate but another device's UDID never receives that token.
func TestBootstrapTokenOnlyForItsDevice(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	mac := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	thief := env.Enroll(t, testenv.Mac(2, "15.7.1", "24G231"), 1)
	if err := mac.SetBootstrapToken(ctx, []byte("secret-token")); err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.Replace(plistGetBootstrap, "UDID_HERE", mac.UDID(), 1))
	resp, err := thief.Do(ctx, true, body, sim.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusForbidden || bytes.Contains(resp.Body, []byte("secret-token")) {
		t.Fatalf("status %d body %q", resp.Status, resp.Body)
	}
}

const plistGetBootstrap = `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>MessageType</key><string>GetBootstrapToken</string><key>UDID</key><string>UDID_HERE</string></dict></plist>`

func TestUserAuthenticateDeclined(t *testing.T) {
	env := testenv.Start(t)
	mac := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
<key>MessageType</key><string>UserAuthenticate</string><key>UDID</key><string>` + mac.UDID() + `</string>
<key>UserID</key><string>A1B2</string><key>UserShortName</key><string>ana</string></dict></plist>`)
	resp, err := mac.Do(context.Background(), true, body, sim.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusGone {
		t.Errorf("UserAuthenticate: want 410, got %d", resp.Status)
	}
}

func TestCheckOutAndReEnroll(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	a := testenv.Mac(1, "15.7.1", "24G231")
	mac := env.Enroll(t, a, 0)
	if err := mac.SetBootstrapToken(ctx, []byte("tok")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.API.Enqueue(ctx, apiEnqueue(mac.UDID(), "SecurityInfo")); err != nil {
		t.Fatal(err)
	}
	if err := mac.CheckOut(ctx); err != nil {
		t.Fatal(err)
	}
	d, _ := env.API.Device(ctx, mac.UDID())
	if d.Enrolled || d.CheckedOutAt == nil {
		t.Fatalf("after CheckOut: enrolled=%v checked_out_at=%v", d.Enrolled, d.CheckedOutAt)
	}
	if n, err := mac.Connect(ctx, 5); err == nil && n != 0 {
		t.Errorf("checked-out device received %d commands", n)
	}

	// The same UDID enrolls again with a new certificate.
	again := env.Enroll(t, a, 1)
	d, _ = env.API.Device(ctx, mac.UDID())
	if !d.Enrolled || d.BootstrapEscrowed || *d.QueueLength != 0 {
		t.Fatalf("re-enrolled: enrolled=%v bootstrap=%v queue=%d", d.Enrolled, d.BootstrapEscrowed, *d.QueueLength)
	}
	// The old certificate no longer speaks for the device.
	resp, err := mac.Do(ctx, false, idleReport(mac.UDID()), sim.SignOptions{})
	if err != nil || resp.Status != http.StatusForbidden {
		t.Fatalf("old certificate after re-enrollment: %v %v", resp, err)
	}
	if _, err := again.Connect(ctx, 5); err != nil {
		t.Fatalf("new certificate: %v", err)
	}
	ev, err := env.Server.Store().Events(ctx, mac.UDID(), 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range ev {
		found = found || e.Kind == "reenrolled"
	}
	if !found {
		t.Error("no reenrolled event recorded")
	}
}

func idleReport(udid string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
<key>Status</key><string>Idle</string><key>UDID</key><string>` + udid + `</string></dict></plist>`)
}

// TestRawDatabaseHoldsNoSecrets scans the bbolt file for the tokens and
// their base64 forms: they must only exist sealed.
func TestRawDatabaseHoldsNoSecrets(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	var secrets [][]byte
	for i := range 3 {
		d := env.Enroll(t, testenv.Mac(i+1, "15.7.1", "24G231"), i)
		tok := []byte("BOOTSTRAP-SECRET-" + d.UDID())
		if err := d.SetBootstrapToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, tok, []byte("sim-unlock-token-"+d.UDID()))
	}
	env.Close()
	raw, err := os.ReadFile(filepath.Join(env.DataDir, server.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		for _, form := range [][]byte{s, []byte(base64.StdEncoding.EncodeToString(s)), []byte(base64.RawStdEncoding.EncodeToString(s))} {
			if bytes.Contains(raw, form) {
				t.Errorf("database file contains %q", form)
			}
		}
	}
	info, _ := os.Stat(filepath.Join(env.DataDir, server.DBFile))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("database mode %o", info.Mode().Perm())
	}
}

// controllable clock for certificate-expiry tests.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func selfSigned(t *testing.T, key *rsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}
