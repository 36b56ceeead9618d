package server

// This file is an internal test: it reaches enrollmentHandler and
// enrollmentOptions directly and builds its own mux around them, so it
// cannot use internal/testenv (which imports this package).

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/micromdm/plist"
	"github.com/smallstep/pkcs7"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/enrollment"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage"
)

const enrollUDID = "0000FE00-0000-4000-8000-000000000042"

// enrollmentEnv is a server whose mux carries the enrollment routes the
// way assemble() is meant to.
type enrollmentEnv struct {
	srv  *Server
	url  string
	api  *api.Client
	hc   *http.Client
	sign func(t *testing.T, content []byte) []byte
}

func startEnrollmentEnv(t *testing.T) *enrollmentEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{DataDir: dir, PublicURL: "http://" + ln.Addr().String(), StaticChallenge: "e2e-challenge",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	admin := api.New(s.apiKey, s.store, commands.New(), s, s.push, s.enrollmentOptions()...)
	mux := http.NewServeMux()
	enroll := s.enrollmentHandler()
	mux.Handle("POST /enroll", enroll)
	mux.Handle("POST /mdm/enroll", enroll)
	mux.Handle("/v1/enrollment/", admin)
	mux.Handle("/", s.Handler())
	ts := httptest.NewUnstartedServer(mux)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(func() { ts.Close(); s.Close() })
	hc := &http.Client{Timeout: 30 * time.Second}
	return &enrollmentEnv{srv: s, url: ts.URL, hc: hc, api: api.NewClient(ts.URL, s.apiKey, hc), sign: deviceSigner(t)}
}

// deviceSigner stands in for a device identity: self-signed, as we cannot
// hold a certificate chained to Apple's device CA.
func deviceSigner(t *testing.T) func(t *testing.T, content []byte) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: enrollUDID},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return func(t *testing.T, content []byte) []byte {
		sd, err := pkcs7.NewSignedData(content)
		if err != nil {
			t.Fatal(err)
		}
		if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
			t.Fatal(err)
		}
		out, err := sd.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// catalogNow is a small catalog dated around the real clock, which the
// server's default Now reads.
func catalogNow() []byte {
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format("2006-01-02") }
	entry := func(v, b string, devices string) string {
		return fmt.Sprintf(`{"ProductVersion":%q,"Build":%q,"PostingDate":%q,"ExpirationDate":%q,"SupportedDevices":[%s]}`,
			v, b, day(-20), day(160), devices)
	}
	return []byte(`{"PublicAssetSets":{"macOS":[` + entry("26.1", "25B78", `"J413AP"`) + `,` +
		entry("15.7.2", "24G325", `"J413AP"`) + `],"iOS":[` + entry("18.7.2", "22H124", `"iPhone15,2"`) + `]}}`)
}

func (e *enrollmentEnv) postMachineInfo(t *testing.T, mi mdm.MachineInfo, accept string) (*http.Response, []byte) {
	t.Helper()
	raw, err := plist.Marshal(mi)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.url+"/mdm/enroll", bytes.NewReader(e.sign(t, raw)))
	req.Header.Set("Content-Type", mdm.MachineInfoContentType)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestEnrollmentMinimumOSEndToEnd(t *testing.T) {
	e := startEnrollmentEnv(t)
	ctx := context.Background()
	if _, err := e.srv.policy.ImportCatalog(ctx, catalogNow(), "test", "test"); err != nil {
		t.Fatal(err)
	}
	settings := enrollment.Settings{Rules: []enrollment.MinOSRule{
		{Name: "macs", Platform: "macOS", Mode: enrollment.ModeMinimum, MinVersion: "15.4"},
		{Platform: "iOS", Mode: enrollment.ModeMinimum, MinVersion: "18.5"}}}
	var view enrollment.SettingsView
	if err := e.api.Do(ctx, http.MethodPut, "/v1/enrollment/min-os", settings, &view); err != nil || len(view.Rules) != 2 {
		t.Fatalf("PUT min-os: %v %+v", err, view)
	}

	mac := mdm.MachineInfo{UDID: enrollUDID, Serial: "C02SYN000042", Product: "Mac14,2", Version: "24B83",
		OSVersion: "15.1", SoftwareUpdateDeviceID: "J413AP", MDMCanRequestSoftwareUpdate: true}
	resp, body := e.postMachineInfo(t, mac, "application/xml")
	var required mdm.SoftwareUpdateRequired
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/xml" {
		t.Fatalf("old Mac: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if err := mdm.DecodePlist(body, &required); err != nil || required.Code != mdm.SoftwareUpdateRequiredCode ||
		required.Details.OSVersion != "15.7.2" {
		t.Fatalf("403 body: %v %+v", err, required)
	}

	// The device updates as told, restarts Setup Assistant and asks again.
	mac.OSVersion, mac.Version = "15.7.2", "24G325"
	resp, profile := e.postMachineInfo(t, mac, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != enrollment.ProfileContentType {
		t.Fatalf("updated Mac: %d %s", resp.StatusCode, body)
	}
	dev, err := sim.New(sim.Attributes{UDID: enrollUDID, SerialNumber: mac.Serial, Platform: "macOS", OSVersion: "15.7.2",
		BuildVersion: "24G325", ProductName: "Mac14,2", SoftwareUpdateDeviceID: "J413AP", AppleSilicon: true}, sim.WithHTTPClient(e.hc))
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Enroll(ctx, profile); err != nil {
		t.Fatalf("enrolling with the served profile: %v", err)
	}

	// An iPhone that cannot be asked to update enrolls despite the rule.
	phone := mdm.MachineInfo{UDID: "00008110-0000000000000043", Product: "iPhone15,2", Version: "21A329", OSVersion: "17.0"}
	if resp, body := e.postMachineInfo(t, phone, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("iPhone that cannot update: %d %s", resp.StatusCode, body)
	}

	// Now known, the Mac's next decision lands in its own history.
	if resp, _ := e.postMachineInfo(t, mac, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("re-enrollment: %d", resp.StatusCode)
	}
	assertEnrollmentEvents(t, e.srv.store)
}

func assertEnrollmentEvents(t *testing.T, st storage.EventStore) {
	t.Helper()
	ctx := context.Background()
	server, err := st.Events(ctx, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, ev := range server {
		if ev.Kind == enrollment.EventUpdateRequired || ev.Kind == enrollment.EventAllowed {
			kinds[ev.Kind+"/"+ev.Data["code"]]++
		}
	}
	want := map[string]int{"enrollment_update_required/update_required": 1, "enrollment_allowed/meets_minimum": 1,
		"enrollment_allowed/cannot_request_update": 1}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("server events %v, want %v", kinds, want)
	}
	own, err := st.Events(ctx, enrollUDID, 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range own {
		found = found || (ev.Kind == enrollment.EventAllowed && ev.Data["code"] == enrollment.CodeMeetsMinimum)
	}
	if !found {
		t.Errorf("the enrolled Mac's history lacks its decision: %+v", own)
	}
}

func TestEnrollmentRoutesRefuse(t *testing.T) {
	e := startEnrollmentEnv(t)
	resp, err := e.hc.Post(e.url+"/enroll", "text/xml", bytes.NewReader([]byte("<plist><dict/></plist>")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("unsigned MachineInfo with the default settings: %d", resp.StatusCode)
	}
	if err := e.api.Do(context.Background(), http.MethodPut, "/v1/enrollment/min-os",
		map[string]any{"rules": []map[string]string{{"platform": "watchOS", "mode": "latest"}}}, nil); err == nil {
		t.Error("invalid settings accepted")
	}
}
