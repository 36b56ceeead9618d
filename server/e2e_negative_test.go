package server_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
)

func apiEnqueue(id, kind string) api.EnqueueRequest {
	return api.EnqueueRequest{Devices: []string{id}, Type: kind}
}

func tokenUpdateFor(udid string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
<key>MessageType</key><string>TokenUpdate</string><key>PushMagic</key><string>evil</string>
<key>Token</key><data>AQID</data><key>Topic</key><string>t</string>
<key>UDID</key><string>` + udid + `</string></dict></plist>`)
}

// TestRefusedRequestsChangeNothing: every bad request gets the documented
// status and leaves storage byte-for-byte as it was.
func TestRefusedRequestsChangeNothing(t *testing.T) {
	clk := &clock{}
	env := testenv.Start(t, func(c *server.Config) { c.Now = clk.now })
	ctx := context.Background()
	victim := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	attacker := env.Enroll(t, testenv.Mac(2, "15.7.1", "24G231"), 1)
	if err := victim.SetBootstrapToken(ctx, []byte("tok")); err != nil {
		t.Fatal(err)
	}
	key := testenv.Key(2)
	unbound, err := env.Server.CA().IssueDirect(&key.PublicKey, "unbound", time.Hour*24)
	if err != nil {
		t.Fatal(err)
	}
	shortLived, err := env.Server.CA().IssueDirect(&key.PublicKey, "short", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	self := selfSigned(t, key, victim.UDID())
	victimCert, victimKey := victim.Identity()
	attackerCert, attackerKey := attacker.Identity()

	// 100k levels of <array> (the closing tags would exceed the 1 MiB body limit).
	deep := "<plist>" + strings.Repeat("<array>", 100_000)
	dupKeys := strings.Replace(string(idleReport(victim.UDID())), "<key>Status</key>", "<key>UDID</key><string>x</string><key>Status</key>", 1)
	binary := append([]byte("bplist00\xa1\x01\x08\x0a"), make([]byte, 32)...)

	cases := []struct {
		name    string
		checkin bool
		body    []byte
		so      sim.SignOptions
		prepare func()
		want    int
	}{
		{name: "another device's UDID with a bound certificate", checkin: true, body: tokenUpdateFor(victim.UDID()),
			prepare: func() { victim.SetIdentity(attackerCert, attackerKey) }, want: http.StatusForbidden},
		{name: "another device's UDID in Authenticate", checkin: true,
			body:    []byte(strings.Replace(string(tokenUpdateFor(victim.UDID())), "TokenUpdate", "Authenticate", 1)),
			prepare: func() { victim.SetIdentity(attackerCert, attackerKey) }, want: http.StatusForbidden},
		{name: "report for another device", body: idleReport(victim.UDID()),
			prepare: func() { victim.SetIdentity(attackerCert, attackerKey) }, want: http.StatusForbidden},
		{name: "unbound valid certificate", checkin: true, body: tokenUpdateFor(victim.UDID()),
			prepare: func() { victim.SetIdentity(unbound, key) }, want: http.StatusForbidden},
		{name: "self-signed certificate", checkin: true, body: tokenUpdateFor(victim.UDID()),
			prepare: func() { victim.SetIdentity(self, key) }, want: http.StatusForbidden},
		{name: "expired certificate", body: idleReport(victim.UDID()),
			prepare: func() { victim.SetIdentity(shortLived, key); clk.offset.Store(int64(3 * time.Hour)) }, want: http.StatusForbidden},
		{name: "missing signature", body: idleReport(victim.UDID()), so: sim.SignOptions{Signature: "-"}, want: http.StatusBadRequest},
		{name: "garbled signature", body: idleReport(victim.UDID()), so: sim.SignOptions{Signature: "bm90IGEgc2lnbmF0dXJl!!"}, want: http.StatusForbidden},
		{name: "truncated signature", body: idleReport(victim.UDID()), so: sim.SignOptions{Signature: "MIAGCSqGSIb3DQEHAqCAMIACAQExCzAJBgUrDgMCGgUA"}, want: http.StatusForbidden},
		{name: "body changed after signing", checkin: true, body: tokenUpdateFor(victim.UDID()), so: sim.SignOptions{TamperAfterSign: true}, want: http.StatusForbidden},
		{name: "100k-deep nested plist", body: []byte(deep), want: http.StatusBadRequest},
		{name: "self-referencing binary plist", checkin: true, body: binary, want: http.StatusBadRequest},
		{name: "duplicate keys", body: []byte(dupKeys), want: http.StatusBadRequest},
		{name: "unknown message type", checkin: true, body: []byte(strings.Replace(string(tokenUpdateFor(victim.UDID())), "TokenUpdate", "Reboot", 1)), want: http.StatusBadRequest},
		{name: "UDID of the wrong type", checkin: true, body: []byte(strings.Replace(string(tokenUpdateFor("x")), "<string>x</string>", "<integer>7</integer>", 1)), want: http.StatusBadRequest},
		{name: "20 MB body", body: bytes.Repeat([]byte("A"), 20<<20), want: http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			victim.SetIdentity(victimCert, victimKey)
			clk.offset.Store(0)
			if tc.prepare != nil {
				tc.prepare()
			}
			defer func() { victim.SetIdentity(victimCert, victimKey); clk.offset.Store(0) }()
			before := env.Snapshot(t)
			start := time.Now()
			resp, err := victim.Do(ctx, tc.checkin, tc.body, tc.so)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.want {
				t.Fatalf("want %d, got %d: %s", tc.want, resp.Status, resp.Body)
			}
			if resp.Status == http.StatusUnauthorized {
				t.Fatal("devices must never get 401")
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
			env.AssertUnchanged(t, before)
		})
	}
	// The victim still works with its own identity afterwards.
	if _, err := victim.Connect(ctx, 5); err != nil {
		t.Fatalf("victim after the attacks: %v", err)
	}
}

func TestOneTimeChallengeWorksOnce(t *testing.T) {
	env := testenv.Start(t, func(c *server.Config) { c.StaticChallenge = "" })
	ctx := context.Background()
	profile, err := env.API.EnrollmentProfile(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	first := env.NewDevice(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	if err := first.Enroll(ctx, profile); err != nil {
		t.Fatal(err)
	}
	before := env.Snapshot(t)
	second := env.NewDevice(t, testenv.Mac(2, "15.7.1", "24G231"), 1)
	err = second.Enroll(ctx, profile)
	var fail *sim.SCEPFailure
	if !errors.As(err, &fail) {
		t.Fatalf("reused challenge: want a SCEP failure, got %v", err)
	}
	if c, _ := second.Identity(); c != nil {
		t.Error("a certificate was issued for a reused challenge")
	}
	env.AssertUnchanged(t, before)
}
