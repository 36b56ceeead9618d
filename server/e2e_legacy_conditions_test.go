package server_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/legacy"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
)

// Device conditions on the legacy path: preconditions the server checks
// before sending anything (battery, space, bootstrap token, supervision),
// the same conditions reported by the device mid-update, and devices that
// cannot be reached (locked, silent, push failing). In each case nothing
// loops, the reason names the remedy, and the update completes once the
// condition clears.

// sentUpdates counts the ScheduleOSUpdate commands the device answered.
func sentUpdates(dev *legacyDev) int {
	n := 0
	for _, rc := range dev.d.Received() {
		if rc.RequestType == mdm.RequestScheduleOSUpdate {
			n++
		}
	}
	return n
}

func TestLegacyBatteryLowWaitsWithoutSending(t *testing.T) {
	r, dev := startPhone16(t, legacy.Config{}, sim.LegacyConfig{}, func(a *sim.Attributes) { a.BatteryLevel = 0.3 })
	w := r.until(dev, time.Minute, 4, "battery_low with the update offered", func(w legacyWhy) bool {
		return w.Reason.Code == enforcement.CodeBatteryLow && w.track().Phase == legacy.PhaseReady
	})
	wantReason(t, w, enforcement.CodeBatteryLow, "Plug the device in")
	if w.Reason.Details["battery"] != "30 %" || w.State.Step != enforcement.StepWaiting {
		t.Errorf("reason %+v step %s", w.Reason, w.State.Step)
	}
	asked := w.View.Requested[mdm.RequestDeviceInformation]
	wantNext(t, w, "wait_for_precondition", time.Time{})
	// Hours pass: device facts are read again, nothing is scheduled.
	w = r.until(dev, 30*time.Minute, 4, "a facts refresh", func(w legacyWhy) bool {
		return w.View.Requested[mdm.RequestDeviceInformation].After(asked)
	})
	if n := sentUpdates(dev); n != 0 || w.track().Attempts != 0 {
		t.Fatalf("%d ScheduleOSUpdate sent while the battery is low", n)
	}
	dev.d.Update(func(a *sim.Attributes) { a.BatteryLevel = 0.9 })
	r.until(dev, 30*time.Minute, 20, "install", installed)
}

func TestLegacyBatteryLowReportedByDevice(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{DownloadSteps: 2})
	r.until(dev, quarter, 6, "the install request", phaseIs(legacy.PhaseInstalling))
	dev.d.Update(func(a *sim.Attributes) { a.BatteryLevel = 0.2 })
	w := r.until(dev, quarter, 6, "battery_low", hasReason(enforcement.CodeBatteryLow))
	wantReason(t, w, enforcement.CodeBatteryLow, "Plug the device in")
	if w.Reason.Details["status"] != mdm.UpdateStatusInstallInsufficientPower || w.track().Condition == nil {
		t.Errorf("reason %+v", w.Reason)
	}
	// The device waits by itself: the server polls slower and sends nothing new.
	wantNext(t, w, "poll", w.View.Requested[mdm.RequestOSUpdateStatus].Add(time.Hour))
	dev.d.Update(func(a *sim.Attributes) { a.BatteryLevel = 0.95 })
	w = r.until(dev, 30*time.Minute, 12, "install", installed)
	if w.track().Attempts != 1 {
		t.Errorf("attempts %d", w.track().Attempts)
	}
}

func TestLegacyInsufficientSpaceWaitsWithoutSending(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{}, func(a *sim.Attributes) { a.FreeGB = 5 })
	w := r.until(dev, time.Minute, 4, "insufficient_space", hasReason(enforcement.CodeInsufficientSpace))
	wantReason(t, w, enforcement.CodeInsufficientSpace, "Free up disk space")
	if w.Reason.Details["free"] != "5.0 GB" || w.Reason.Details["needed"] != "20.0 GB" {
		t.Errorf("details %v", w.Reason.Details)
	}
	r.step(time.Hour)
	if n := sentUpdates(dev); n != 0 {
		t.Fatalf("%d ScheduleOSUpdate sent without space", n)
	}
	dev.d.Update(func(a *sim.Attributes) { a.FreeGB = 120 })
	r.until(dev, 30*time.Minute, 20, "install", installed)
}

func TestLegacyInsufficientSpaceReportedByDevice(t *testing.T) {
	big := sim.MacOSUpdate("13.7.8", "22H730", false, 15_000_000_000)
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{big}}, func(a *sim.Attributes) { a.FreeGB = 25 })
	w := r.until(dev, quarter, 8, "insufficient_space", hasReason(enforcement.CodeInsufficientSpace))
	wantReason(t, w, enforcement.CodeInsufficientSpace, "Free up disk space")
	if d := w.Reason.Details; d["free"] != "25.0 GB" || d["needed"] != "30.0 GB" || d["status"] != mdm.UpdateStatusDownloadInsufficientSpace {
		t.Errorf("details %v", d)
	}
	dev.d.Update(func(a *sim.Attributes) { a.FreeGB = 100 })
	r.until(dev, 30*time.Minute, 20, "install", installed)
}

func TestLegacyBootstrapTokenAwaitedThenMissing(t *testing.T) {
	r := startLegacy(t, legacy.Config{})
	r.policy("mac13", "macOS", "13.7.8", r.deadline(-48*time.Hour))
	dev := r.enrollWith(legacyMac(1, 13), sim.LegacyConfig{Catalog: mac13Catalog()}, false)
	w := r.until(dev, time.Minute, 4, "awaiting_bootstrap_token", hasReason(enforcement.CodeAwaitingBootstrapToken))
	wantReason(t, w, enforcement.CodeAwaitingBootstrapToken, "user logging in")
	// After the grace period it blocks; nothing was ever scheduled.
	w = r.until(dev, time.Hour, 3, "bootstrap_token_missing", hasReason(enforcement.CodeBootstrapTokenMissing))
	wantReason(t, w, enforcement.CodeBootstrapTokenMissing, "secure token")
	if w.State.Step != enforcement.StepBlocked || sentUpdates(dev) != 0 {
		t.Fatalf("step %s, %d updates sent", w.State.Step, sentUpdates(dev))
	}
	if err := dev.d.SetBootstrapToken(context.Background(), []byte("escrowed-late")); err != nil {
		t.Fatal(err)
	}
	r.until(dev, 30*time.Minute, 20, "install", installed)
}

func TestLegacyNotSupervisedBlocks(t *testing.T) {
	r, dev := startPhone16(t, legacy.Config{}, sim.LegacyConfig{}, func(a *sim.Attributes) { a.Supervised = false })
	w := r.until(dev, time.Minute, 3, "not_supervised", hasReason(enforcement.CodeNotSupervised))
	wantReason(t, w, enforcement.CodeNotSupervised, "Automated Device Enrollment")
	wantNext(t, w, "wait_for_precondition", time.Time{})
	r.step(6 * time.Hour)
	for _, rc := range dev.d.Received() {
		if rc.RequestType != mdm.RequestDeviceInformation {
			t.Fatalf("a blocked device got %s", rc.RequestType)
		}
	}
	// Re-enrolled through ADE (here: it now reports supervision).
	dev.d.Update(func(a *sim.Attributes) { a.Supervised = true })
	r.step(12 * time.Hour) // the facts are read again (slowly: a person must act first)
	r.until(dev, 30*time.Minute, 20, "install", installed)
}

func TestLegacyNotNowWaitsForCheckIn(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{})
	// Locked right after the update was queued.
	r.until(dev, time.Minute, 4, "the queued update", phaseIs(legacy.PhaseRequested))
	dev.d.SetNotNow("*", true)
	locked := len(dev.d.Received())
	var w legacyWhy
	for range 6 {
		r.step(20 * time.Minute)
		r.noDuplicates(dev)
		w = r.state(dev)
	}
	wantNext(t, w, "wait_for_checkin", time.Time{})
	if sentUpdates(dev) == 0 || w.track().Attempts != 1 || w.track().Phase != legacy.PhaseRequested {
		t.Errorf("the locked device saw %d ScheduleOSUpdate; the driver queued %d", sentUpdates(dev), w.track().Attempts)
	}
	for _, rc := range dev.d.Received()[locked:] {
		if rc.Status != mdm.StatusNotNow {
			t.Fatalf("answered while locked: %+v", rc)
		}
	}
	dev.d.SetNotNow("*", false)
	w = r.until(dev, quarter, 20, "install", installed)
	if w.track().Attempts != 1 {
		t.Errorf("attempts %d: a NotNow is not a failure", w.track().Attempts)
	}
}

func TestLegacyNotCheckingIn(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{})
	r.until(dev, quarter, 6, "the install request", phaseIs(legacy.PhaseInstalling))
	for range 8 { // four silent days: passes run, the device never answers
		r.clk.advance(12 * time.Hour)
		r.reconcile()
		r.noDuplicates(dev)
	}
	w := r.state(dev)
	wantReason(t, w, enforcement.CodeNotCheckingIn, "switched on and online")
	wantNext(t, w, "wait_for_checkin", time.Time{})
	r.until(dev, quarter, 20, "install", installed)
}

func TestLegacyPushFailing(t *testing.T) {
	apns := &fakeAPNs{dead: map[string]bool{}}
	ts := httptest.NewUnstartedServer(apns)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	r := startLegacy(t, legacy.Config{}, func(c *server.Config) { c.APNsEndpoint, c.APNsHTTPClient = ts.URL, ts.Client() })
	ctx := context.Background()
	topic, err := r.env.Server.Topic(ctx)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := certs.NewTestPushCert(topic, time.Now().Add(200*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var info api.PushCertInfo
	if err := r.env.API.Do(ctx, http.MethodPut, "/v1/push-cert", api.PushCertUpload{CertPEM: string(certPEM), KeyPEM: string(keyPEM)}, &info); err != nil {
		t.Fatal(err)
	}
	r.policy("ios16", "iOS", "16.7.16", r.deadline(-48*time.Hour))
	dev := r.enroll(legacyPhone(1, 16), sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{ios16Target}})
	r.until(dev, quarter, 6, "the install request", phaseIs(legacy.PhaseInstalling))
	r.connect(dev) // nothing left queued: the next command needs a push
	token := hex.EncodeToString([]byte("sim-token-" + dev.id()))
	apns.mu.Lock()
	apns.dead[token] = true
	apns.mu.Unlock()
	r.clk.advance(time.Hour) // a poll falls due; the push for it fails
	r.reconcile()
	waitFor(t, "the dead token", func() bool {
		d, err := r.env.API.Device(ctx, dev.id())
		return err == nil && d.PushTokenDead
	})
	r.reconcile()
	w := r.state(dev)
	wantReason(t, w, enforcement.CodePushFailing, "APNs certificate")
	r.noDuplicates(dev)
	// The device gets a new token and checks in on its own.
	apns.mu.Lock()
	delete(apns.dead, token)
	apns.mu.Unlock()
	if err := dev.d.TokenUpdate(ctx); err != nil {
		t.Fatal(err)
	}
	r.until(dev, quarter, 20, "install", installed)
}
