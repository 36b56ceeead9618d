package server_test

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/legacy"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/sim"
)

// One test per failure mode of the legacy path: the condition is injected
// in the simulated device, the test checks the reason, its remedy, the
// retry the driver plans and, once the condition clears, that the update
// ends verified.

const quarter = 15 * time.Minute

// startMac13 starts a rig with a passed deadline (so the install is forced
// at once) and one Mac on 13.7.7.
func startMac13(t *testing.T, cfg legacy.Config, sc sim.LegacyConfig, edit ...func(*sim.Attributes)) (*legacyRig, *legacyDev) {
	t.Helper()
	r := startLegacy(t, cfg)
	r.policy("mac13", "macOS", "13.7.8", r.deadline(-48*time.Hour))
	if sc.Catalog == nil {
		sc.Catalog = mac13Catalog()
	}
	a := legacyMac(1, 13)
	for _, e := range edit {
		e(&a)
	}
	return r, r.enroll(a, sc)
}

func startPhone16(t *testing.T, cfg legacy.Config, sc sim.LegacyConfig, edit ...func(*sim.Attributes)) (*legacyRig, *legacyDev) {
	t.Helper()
	r := startLegacy(t, cfg)
	r.policy("ios16", "iOS", "16.7.16", r.deadline(-48*time.Hour))
	if sc.Catalog == nil {
		sc.Catalog = []mdm.AvailableOSUpdate{ios16Target}
	}
	a := legacyPhone(1, 16)
	for _, e := range edit {
		e(&a)
	}
	return r, r.enroll(a, sc)
}

func phaseIs(p legacy.Phase) func(w legacyWhy) bool {
	return func(w legacyWhy) bool { return w.track().Phase == p }
}

func TestLegacyNotOfferedIsTransient(t *testing.T) {
	key := mac13Target.ProductKey
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{Faults: sim.LegacyFaults{HiddenScans: map[string]int{key: 2}}})
	w := r.until(dev, time.Minute, 5, "product_key_not_found", hasReason(enforcement.CodeProductKeyNotFound))
	wantReason(t, w, enforcement.CodeProductKeyNotFound, "scan again")
	if w.Reason.Severity != enforcement.SeverityWaiting || w.State.Step != enforcement.StepWaiting {
		t.Errorf("not offered yet must wait, not fail: %s/%s", w.Reason.Severity, w.State.Step)
	}
	wantNext(t, w, "scan", w.View.Scan.LastAt.Add(30*time.Minute))
	w = r.until(dev, 30*time.Minute, 4, "offer", func(w legacyWhy) bool { return w.track().Offer != nil })
	if n := w.View.Scan.Count; n != 3 {
		t.Errorf("offered after %d scans, want 3 (two hidden)", n)
	}
	r.until(dev, quarter, 20, "install", installed)
}

func TestLegacyNotOfferedBecomesFailure(t *testing.T) {
	key := mac13Target.ProductKey
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{Faults: sim.LegacyFaults{HiddenScans: map[string]int{key: 1000}}})
	r.until(dev, time.Minute, 4, "the first scan", func(w legacyWhy) bool { return w.track().NotFound.Scans == 1 })
	// Default: six scans spread over at least a day. Five scans in 24 h
	// are still transient.
	for i := range 4 {
		w := r.until(dev, 6*time.Hour, 1, "another scan", func(legacyWhy) bool { return true })
		if w.Reason.Code != enforcement.CodeProductKeyNotFound || w.Reason.Severity != enforcement.SeverityWaiting ||
			w.track().NotFound.Scans != i+2 {
			t.Fatalf("after %d scans: %s", i+2, describeWhy(w))
		}
	}
	w := r.until(dev, 6*time.Hour, 1, "failure", func(w legacyWhy) bool { return w.State.Step == enforcement.StepFailed })
	wantReason(t, w, enforcement.CodeProductKeyNotFound, "scan again")
	if w.Reason.Severity != enforcement.SeverityFailed || w.Reason.Details["scans"] != "6" || w.track().NotFound.Scans != 6 {
		t.Errorf("failure: %+v %+v", w.Reason, w.track().NotFound)
	}
	dev.lg.SetFaults(sim.LegacyFaults{})
	r.until(dev, 30*time.Minute, 20, "install", installed)
}

func TestLegacyScheduleFailed(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{Faults: sim.LegacyFaults{ScheduleError: true}})
	w := r.until(dev, time.Minute, 6, "schedule_failed", hasReason(enforcement.CodeScheduleFailed))
	wantReason(t, w, enforcement.CodeScheduleFailed, "restart the device")
	tr := w.track()
	if !reflect.DeepEqual(tr.LastFailure.ErrorChain, sim.ScheduleErrorChain()) || tr.Failures != 1 || tr.Attempts != 1 {
		t.Fatalf("failure %+v (failures %d, attempts %d)", tr.LastFailure, tr.Failures, tr.Attempts)
	}
	if w.State.Step != enforcement.StepFailed {
		t.Errorf("step %s", w.State.Step)
	}
	wantNext(t, w, "schedule InstallASAP", tr.LastFailure.At.Add(30*time.Minute))
	// The retry comes after the backoff, and fails again: the backoff doubles.
	w = r.until(dev, 10*time.Minute, 4, "second failure", func(w legacyWhy) bool { return w.track().Failures == 2 })
	wantNext(t, w, "schedule InstallASAP", w.track().LastFailure.At.Add(time.Hour))
	if w.track().Attempts != 2 {
		t.Errorf("attempts %d", w.track().Attempts)
	}
	dev.lg.SetFaults(sim.LegacyFaults{})
	w = r.until(dev, quarter, 20, "install", installed)
	if got := w.track().Attempts; got != 3 || w.track().Fallback != nil {
		t.Errorf("attempts %d, fallback %+v", got, w.track().Fallback)
	}
}

func TestLegacyStatusErrorNoDetail(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{})
	r.until(dev, quarter, 6, "the install request", phaseIs(legacy.PhaseInstalling))
	dev.lg.SetFaults(sim.LegacyFaults{StatusErrorNoDetail: true})
	w := r.until(dev, quarter, 3, "status_error_no_detail", hasReason(enforcement.CodeStatusErrorNoDetail))
	wantReason(t, w, enforcement.CodeStatusErrorNoDetail, "retries at the next attempt")
	tr := w.track()
	if tr.LastFailure.RequestType != mdm.RequestOSUpdateStatus || len(tr.LastFailure.ErrorChain) != 0 || tr.Attempts != 1 {
		t.Errorf("failure %+v attempts %d", tr.LastFailure, tr.Attempts)
	}
	wantNext(t, w, "poll", w.View.Requested[mdm.RequestOSUpdateStatus].Add(quarter))
	dev.lg.SetFaults(sim.LegacyFaults{})
	w = r.until(dev, quarter, 20, "install", installed)
	if w.track().Attempts != 1 {
		t.Errorf("a failed status query must not re-schedule: %d attempts", w.track().Attempts)
	}
}

func TestLegacyDownloadStalled(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{Faults: sim.LegacyFaults{DownloadStuck: true}})
	w := r.until(dev, quarter, 8, "download_stalled", hasReason(enforcement.CodeDownloadStalled))
	wantReason(t, w, enforcement.CodeDownloadStalled, "assumes the download is complete")
	first := w.track().ZeroProgress[0]
	// Three checks about three hours apart; then the install is asked for.
	w = r.until(dev, quarter, 16, "the install after the stall", func(w legacyWhy) bool { return w.track().Attempts == 2 })
	tr := w.track()
	if !tr.Assumed || len(tr.ZeroProgress) != 3 || tr.ZeroProgress[2].Sub(first) < 3*time.Hour {
		t.Fatalf("strikes %v assumed %v", tr.ZeroProgress, tr.Assumed)
	}
	if got := actions(w); len(got) != 2 || got[1] != mdm.InstallActionInstallASAP {
		t.Errorf("actions %v", got)
	}
	dev.lg.SetFaults(sim.LegacyFaults{})
	r.until(dev, quarter, 20, "install", installed)
}

func TestLegacyIdleAfterInstallFallsBack(t *testing.T) {
	cfg := legacy.Config{FallbackRetry: 4 * time.Hour}
	r, dev := startMac13(t, cfg, sim.LegacyConfig{Faults: sim.LegacyFaults{IdleAfterInstall: true}})
	w := r.until(dev, quarter, 8, "idle_after_install_request", hasReason(enforcement.CodeIdleAfterInstallRequest))
	wantReason(t, w, enforcement.CodeIdleAfterInstallRequest, "deadline still stands")
	w = r.until(dev, quarter, 6, "fallback_requested", hasReason(enforcement.CodeFallbackRequested))
	wantReason(t, w, enforcement.CodeFallbackRequested, "deadline still stands")
	fb := w.track().Fallback
	if fb.Because != enforcement.CodeIdleAfterInstallRequest || fb.Action != mdm.InstallActionInstallLater || w.Reason.Details["deadline"] == "" {
		t.Fatalf("fallback %+v, details %v", fb, w.Reason.Details)
	}
	w = r.until(dev, time.Minute, 3, "fallback_issued", hasReason(enforcement.CodeFallbackIssued))
	wantReason(t, w, enforcement.CodeFallbackIssued, "deadline still stands")
	fb = w.track().Fallback
	wantNext(t, w, "poll", time.Time{})
	if w.State.Compliance != enforcement.Required {
		t.Errorf("compliance %s", w.State.Compliance)
	}
	// The deadline has passed: the update is offered again, forced, after
	// FallbackRetry; the device now installs.
	dev.lg.SetFaults(sim.LegacyFaults{})
	w = r.until(dev, time.Hour, 6, "the forced offer", func(w legacyWhy) bool { return w.track().Attempts == 3 })
	if last := w.track().LastAction; last.InstallAction != mdm.InstallActionInstallASAP || last.QueuedAt.Before(fb.OfferedAt.Add(4*time.Hour)) {
		t.Errorf("forced offer %+v, fallback offered at %s", last, fb.OfferedAt)
	}
	w = r.until(dev, quarter, 20, "install", installed)
	if got := actions(w); len(got) != 3 || got[1] != mdm.InstallActionInstallLater {
		t.Errorf("actions %v", got)
	}
}

func TestLegacyActionUnsupported(t *testing.T) {
	key := mac13Target.ProductKey
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{Faults: sim.LegacyFaults{ActionUnsupported: []string{key}}})
	w := r.until(dev, time.Minute, 6, "install_action_unsupported", hasReason(enforcement.CodeInstallActionUnsupported))
	wantReason(t, w, enforcement.CodeInstallActionUnsupported, "re-checks the available updates")
	tr := w.track()
	if !reflect.DeepEqual(tr.LastFailure.ErrorChain, sim.ActionUnsupportedChain(key, mdm.InstallActionInstallASAP)) {
		t.Errorf("chain %+v", tr.LastFailure.ErrorChain)
	}
	retry := tr.LastFailure.At.Add(30 * time.Minute)
	wantNext(t, w, "schedule InstallASAP", retry)
	if !w.View.Scan.RescanAt.Equal(retry) {
		t.Errorf("rescan at %s, want %s", w.View.Scan.RescanAt, retry)
	}
	dev.lg.SetFaults(sim.LegacyFaults{})
	w = r.until(dev, quarter, 20, "install", installed)
	if w.track().Attempts != 2 || w.View.Scan.Count < 3 {
		t.Errorf("attempts %d scans %d", w.track().Attempts, w.View.Scan.Count)
	}
}

func TestLegacyPersonalizationFailed(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{}, sim.LegacyConfig{DownloadSteps: 1, Faults: sim.LegacyFaults{PersonalizationFailure: true}})
	w := r.until(dev, quarter, 12, "personalization_failed", hasReason(enforcement.CodePersonalizationFailed))
	wantReason(t, w, enforcement.CodePersonalizationFailed, "personalisation hosts")
	tr := w.track()
	if !reflect.DeepEqual(tr.LastFailure.ErrorChain, sim.PersonalizationErrorChain()) || tr.LastFailure.Counted {
		t.Errorf("failure %+v", tr.LastFailure)
	}
	wantNext(t, w, "schedule InstallASAP", tr.Backoff)
	dev.lg.SetFaults(sim.LegacyFaults{})
	w = r.until(dev, quarter, 20, "install", installed)
	if w.track().Fallback != nil {
		t.Errorf("a transient network problem must not fall back: %+v", w.track().Fallback)
	}
}

func TestLegacyMaxRuntimeExceeded(t *testing.T) {
	r, dev := startMac13(t, legacy.Config{MaxRuntime: 2 * time.Hour}, sim.LegacyConfig{DownloadSteps: 1, InstallSteps: 14})
	w := r.until(dev, quarter, 20, "max_runtime_exceeded", hasReason(enforcement.CodeMaxRuntimeExceeded))
	wantReason(t, w, enforcement.CodeMaxRuntimeExceeded, "longer run time")
	tr := w.track()
	if w.Reason.Details["max_runtime"] != "2h0m0s" || r.clk.now().Sub(tr.InstallStartedAt) <= 2*time.Hour {
		t.Errorf("details %v, started %s", w.Reason.Details, tr.InstallStartedAt)
	}
	// The device is still installing: nothing is re-sent, polling goes on.
	wantNext(t, w, "poll", time.Time{})
	w = r.until(dev, quarter, 20, "install", installed)
	if w.track().Attempts != 1 {
		t.Errorf("attempts %d", w.track().Attempts)
	}
}

func TestLegacyFallbackAfterRepeatedFailures(t *testing.T) {
	r, dev := startPhone16(t, legacy.Config{FallbackAfter: 2, FallbackRetry: 3 * time.Hour},
		sim.LegacyConfig{Faults: sim.LegacyFaults{ScheduleError: true}})
	w := r.until(dev, 20*time.Minute, 12, "fallback_requested", hasReason(enforcement.CodeFallbackRequested))
	fb := w.track().Fallback
	if fb.Because != enforcement.CodeScheduleFailed || fb.Action != mdm.InstallActionDownloadOnly || w.track().Failures != 2 {
		t.Fatalf("fallback %+v after %d failures", fb, w.track().Failures)
	}
	dev.lg.SetFaults(sim.LegacyFaults{})
	w = r.until(dev, 20*time.Minute, 6, "fallback_issued", hasReason(enforcement.CodeFallbackIssued))
	wantReason(t, w, enforcement.CodeFallbackIssued, "deadline still stands")
	r.until(dev, time.Hour, 12, "install", installed)
}

func TestLegacyPhoneCallRetriesShortly(t *testing.T) {
	r, dev := startPhone16(t, legacy.Config{}, sim.LegacyConfig{})
	r.until(dev, quarter, 6, "the install request", phaseIs(legacy.PhaseInstalling))
	key := ios16Target.ProductKey
	dev.d.Handle(mdm.RequestOSUpdateStatus, fixedStatus(key, mdm.UpdateStatusInstallPhoneCallInProgress))
	w := r.until(dev, quarter, 3, "the phone call", func(w legacyWhy) bool { return w.track().Condition != nil })
	asked := w.View.Requested[mdm.RequestOSUpdateStatus]
	wantNext(t, w, "poll", asked.Add(5*time.Minute))
	// A call is no problem to explain: only the passed deadline is.
	if w.Reason.Code != enforcement.CodeDeadlinePassed || w.State.Step != enforcement.StepDelivered {
		t.Errorf("a phone call is not a problem: %s/%s", w.Reason.Code, w.State.Step)
	}
	// The call ends: the device answers from a fresh model (the scheduled
	// update is gone), so the driver offers it again.
	dev.lg = dev.d.EnableLegacyUpdates(sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{ios16Target}})
	r.until(dev, quarter, 20, "install", installed)
}

func TestLegacyNetworkInsufficient(t *testing.T) {
	r, dev := startPhone16(t, legacy.Config{}, sim.LegacyConfig{})
	r.until(dev, quarter, 6, "the install request", phaseIs(legacy.PhaseInstalling))
	dev.d.Handle(mdm.RequestOSUpdateStatus, fixedStatus(ios16Target.ProductKey, mdm.UpdateStatusDownloadInsufficientNetwork))
	w := r.until(dev, quarter, 3, "network_insufficient", hasReason(enforcement.CodeNetworkInsufficient))
	wantReason(t, w, enforcement.CodeNetworkInsufficient, "faster or unmetered network")
	wantNext(t, w, "poll", w.View.Requested[mdm.RequestOSUpdateStatus].Add(time.Hour))
	dev.lg = dev.d.EnableLegacyUpdates(sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{ios16Target}})
	w = r.until(dev, time.Hour, 20, "install", installed)
	if w.track().Attempts != 2 {
		t.Errorf("attempts %d: the dropped update is offered again once", w.track().Attempts)
	}
}

// fixedStatus answers OSUpdateStatus with one status for key.
func fixedStatus(key, status string) sim.Responder {
	return func(*sim.Device, *sim.IncomingCommand) sim.Answer {
		item := mdm.OSUpdateStatusItem{ProductKey: key, Status: status, DownloadPercentComplete: 0.5}
		return sim.Answer{Status: mdm.StatusAcknowledged, Fields: map[string]any{"OSUpdateStatus": []mdm.OSUpdateStatusItem{item}}}
	}
}

var _ = strconv.Itoa
