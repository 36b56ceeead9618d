package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/legacy"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/sim"
)

// Scheduling on the legacy path: scans and their cadence, pre-staging the
// download ahead of the deadline, user deferrals, the forced install at
// the deadline, and what `device why` shows about it all.

// wall turns a local deadline into the instants the driver uses: the
// earliest (download lead) and latest (forced install) the wall-clock time
// occurs anywhere, the device's zone being unknown.
func wall(t *testing.T, local string) (earliest, latest time.Time) {
	t.Helper()
	w, err := time.Parse(enforcement.LocalDateTimeLayout, local)
	if err != nil {
		t.Fatal(err)
	}
	return w.Add(-14 * time.Hour), w.Add(12 * time.Hour)
}

func (r *legacyRig) updateState(dev *legacyDev) *commands.UpdateState {
	r.t.Helper()
	raw, err := r.env.Server.Store().Blob(context.Background(), commands.UpdateStateCollection, dev.id())
	if err != nil {
		r.t.Fatal(err)
	}
	us, err := commands.DecodeUpdateState(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	return us
}

// jump lets a long time pass in 12 h strides (facts stay fresh, as a
// device checking in twice a day keeps them).
func (r *legacyRig) jump(to time.Time) {
	r.t.Helper()
	for r.clk.now().Add(12 * time.Hour).Before(to) {
		r.step(12 * time.Hour)
	}
	r.step(to.Sub(r.clk.now()))
}

func TestLegacyPreStageThenInstallAtDeadline(t *testing.T) {
	r := startLegacy(t, legacy.Config{})
	deadline := r.deadline(7 * 24 * time.Hour)
	r.policy("ios16", "iOS", "16.7.16", deadline)
	dev := r.enroll(legacyPhone(1, 16), sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{ios16Target}})
	earliest, latest := wall(t, deadline)
	start := earliest.Add(-5 * 24 * time.Hour)
	w := r.until(dev, time.Minute, 4, "the download window", func(w legacyWhy) bool { return w.track().Next.Action == "schedule DownloadOnly" })
	wantNext(t, w, "schedule DownloadOnly", start)
	if w.State.Compliance != enforcement.Required || sentUpdates(dev) != 0 {
		t.Fatalf("%s, %d updates sent before the window", w.State.Compliance, sentUpdates(dev))
	}
	r.jump(start.Add(-time.Minute))
	if sentUpdates(dev) != 0 {
		t.Fatal("downloaded before the window opened")
	}
	w = r.until(dev, quarter, 10, "the pre-staged download", func(w legacyWhy) bool { return w.State.Step == enforcement.StepPrepared })
	wantNext(t, w, "schedule InstallASAP", latest)
	if got := actions(w); strings.Join(got, ",") != mdm.InstallActionDownloadOnly {
		t.Fatalf("actions %v", got)
	}
	if first := w.track().LastAction.QueuedAt; first.Before(start) || first.After(start.Add(quarter)) {
		t.Errorf("DownloadOnly queued at %s, window opened %s", first, start)
	}
	r.jump(latest.Add(-time.Minute))
	if len(actions(r.state(dev))) != 1 {
		t.Fatal("installed before the deadline")
	}
	w = r.until(dev, quarter, 12, "install", installed)
	if got := actions(w); strings.Join(got, ",") != "DownloadOnly,InstallASAP" {
		t.Errorf("actions %v", got)
	}
}

func TestLegacyMacDeferralsThenForceRestart(t *testing.T) {
	r := startLegacy(t, legacy.Config{})
	deadline := r.deadline(6 * 24 * time.Hour)
	r.policy("mac13", "macOS", "13.7.8", deadline, func(p *enforcement.Policy) { p.UserDeferrals, p.AllowForceRestart = 3, true })
	dev := r.enroll(legacyMac(1, 13), sim.LegacyConfig{Catalog: mac13Catalog()})
	_, latest := wall(t, deadline)
	w := r.until(dev, 2*time.Hour, 12, "InstallLater", phaseIs(legacy.PhaseInstallLater))
	last := w.track().LastAction
	if last.InstallAction != mdm.InstallActionInstallLater || last.MaxUserDeferrals == nil || *last.MaxUserDeferrals != 3 {
		t.Fatalf("last action %+v", last)
	}
	w = r.until(dev, time.Hour, 3, "the user's prompt", func(w legacyWhy) bool { return w.State.Step == enforcement.StepPendingRestart })
	// The device took the deferrals: its status says so.
	st := r.updateState(dev).Status
	if len(st) != 1 || st[0].MaxDeferrals == nil || *st[0].MaxDeferrals != 3 {
		t.Fatalf("status %+v", st)
	}
	wantNext(t, w, "poll", time.Time{})
	r.jump(latest.Add(-time.Minute))
	w = r.until(dev, quarter, 12, "install", installed)
	if got := actions(w); strings.Join(got, ",") != "DownloadOnly,InstallLater,InstallForceRestart" {
		t.Errorf("actions %v", got)
	}
}

// received lists the request types the device answered, in order.
func received(dev *legacyDev, from int) []string {
	var out []string
	for _, rc := range dev.d.Received()[from:] {
		out = append(out, rc.RequestType)
	}
	return out
}

func TestLegacyScanCadence(t *testing.T) {
	r := startLegacy(t, legacy.Config{})
	deadline := r.deadline(10 * 24 * time.Hour)
	r.policy("mac13", "macOS", "13.7.8", deadline)
	r.policy("ios16", "iOS", "16.7.16", deadline)
	mac := r.enroll(legacyMac(1, 13), sim.LegacyConfig{Catalog: mac13Catalog()})
	phone := r.enroll(legacyPhone(2, 16), sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{ios16Target}})
	r.step(time.Minute)
	r.step(time.Minute)
	for _, dev := range []*legacyDev{mac, phone} {
		if w := r.state(dev); w.View.Scan.Count != 1 || w.View.Scan.LastReason != "enrollment" {
			t.Fatalf("%s: scan %+v", dev.id(), w.View.Scan)
		}
	}
	macFrom, phoneFrom := len(mac.d.Received()), len(phone.d.Received())
	for range 4 {
		r.step(30 * time.Minute)
	}
	// Every 30 minutes while required: a Mac is told to scan first.
	want := strings.Repeat("ScheduleOSUpdateScan,AvailableOSUpdates,", 4)
	if got := strings.Join(received(mac, macFrom), ","); got+"," != want {
		t.Errorf("mac: %s", got)
	}
	if got := strings.Join(received(phone, phoneFrom), ","); got != "AvailableOSUpdates,AvailableOSUpdates,AvailableOSUpdates,AvailableOSUpdates" {
		t.Errorf("iPhone: %s", got)
	}
	if w := r.state(mac); w.View.Scan.Count != 5 || w.View.Scan.LastReason != "cadence" || mac.lg.Scans() != 5 {
		t.Errorf("mac scans %+v (device ran %d)", w.View.Scan, mac.lg.Scans())
	}
	// A restart onto another build (a user-installed update) is noticed
	// at the next DeviceInformation and scanned after.
	mac.d.Update(func(a *sim.Attributes) { a.BuildVersion = "22H723" })
	w := r.until(mac, 4*time.Hour, 4, "the restart scan", func(w legacyWhy) bool { return w.View.Scan.LastReason == "restart" })
	if w.View.Scan.Build != "22H723" {
		t.Errorf("scan %+v", w.View.Scan)
	}
}

func TestLegacyStaleListIsNotTrusted(t *testing.T) {
	r := startLegacy(t, legacy.Config{})
	deadline := r.deadline(7 * 24 * time.Hour)
	r.policy("ios16", "iOS", "16.7.16", deadline)
	dev := r.enroll(legacyPhone(1, 16), sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{ios16Target}})
	r.until(dev, time.Minute, 4, "the offer", func(w legacyWhy) bool { return w.track().Offer != nil })
	// The device stops answering AvailableOSUpdates (busy); everything else works.
	dev.d.SetNotNow(mdm.RequestAvailableOSUpdates, true)
	earliest, _ := wall(t, deadline)
	r.jump(earliest.Add(-5*24*time.Hour + time.Hour)) // the download window is open
	w := r.state(dev)
	if sentUpdates(dev) != 0 || w.track().Phase != legacy.PhaseFind || !logged(w, "offer_stale", "") {
		t.Fatalf("scheduled from a list older than a day: %s", describeWhy(w))
	}
	wantNext(t, w, "wait_for_checkin", time.Time{})
	r.noDuplicates(dev)
	dev.d.SetNotNow(mdm.RequestAvailableOSUpdates, false)
	w = r.until(dev, quarter, 6, "the download", phaseIs(legacy.PhaseDownloading))
	if w.track().Offer.ListedAt.Before(r.clk.now().Add(-time.Hour)) {
		t.Errorf("scheduled from the old list: %+v", w.track().Offer)
	}
}

// TestLegacyDeviceWhy: `device why` over the admin API shows every step
// with its time, the attempts, the raw ErrorChain and the next planned
// action with its time.
func TestLegacyDeviceWhy(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{Faults: sim.LegacyFaults{ScheduleError: true}})
	r.until(dev, time.Minute, 6, "schedule_failed", hasReason(enforcement.CodeScheduleFailed))
	var why struct {
		Policies []struct {
			PolicyID string             `json:"policy_id"`
			State    map[string]any     `json:"state"`
			Reason   enforcement.Reason `json:"reason"`
			Legacy   json.RawMessage    `json:"legacy"`
		} `json:"policies"`
	}
	if err := r.env.API.Do(context.Background(), "GET", "/v1/devices/"+dev.id()+"/why", nil, &why); err != nil {
		t.Fatal(err)
	}
	if len(why.Policies) != 1 || len(why.Policies[0].Legacy) == 0 {
		t.Fatalf("why: %+v", why)
	}
	pw := why.Policies[0]
	var v legacy.View
	if err := json.Unmarshal(pw.Legacy, &v); err != nil {
		t.Fatal(err)
	}
	tr := v.Track
	if pw.Reason.Code != enforcement.CodeScheduleFailed || pw.Reason.Details["attempts"] != "1" || pw.Reason.Details["retry_at"] == "" {
		t.Errorf("reason %+v", pw.Reason)
	}
	if tr.Attempts != 1 || tr.Failures != 1 || !reflect.DeepEqual(tr.LastFailure.ErrorChain, sim.ScheduleErrorChain()) {
		t.Errorf("track attempts %d failures %d failure %+v", tr.Attempts, tr.Failures, tr.LastFailure)
	}
	if tr.Next.Action != "schedule InstallASAP" || !tr.Next.At.Equal(tr.LastFailure.At.Add(30*time.Minute)) || tr.Next.Why == "" {
		t.Errorf("next %+v", tr.Next)
	}
	events := map[string]bool{}
	for _, e := range tr.Log {
		if e.At.IsZero() {
			t.Errorf("log entry without a time: %+v", e)
		}
		events[e.Event] = true
	}
	for _, e := range []string{"tracking", "scan_requested", "offered", "scheduled", "failed"} {
		if !events[e] {
			t.Errorf("log lacks %s: %+v", e, tr.Log)
		}
	}
	if v.Scan.Count == 0 || v.Requested[mdm.RequestScheduleOSUpdate].IsZero() {
		t.Errorf("view %+v", v)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, pw.Legacy); err != nil || !strings.Contains(compact.String(), `"error_domain":"MCMDMErrorDomain"`) {
		t.Errorf("raw chain missing from %s (%v)", pw.Legacy, err)
	}
}
