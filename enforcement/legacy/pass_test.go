package legacy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

func TestPassScansOnEnrolment(t *testing.T) {
	for platform, want := range map[string]string{
		mdm.PlatformMacOS: "ScheduleOSUpdateScan,AvailableOSUpdates", mdm.PlatformIOS: "AvailableOSUpdates",
	} {
		f := newFixture(t, platform, -48*time.Hour)
		p := f.pass()
		if got := fmt.Sprint(f.sent); got != "["+replaceComma(want)+"]" {
			t.Errorf("%s: sent %s", platform, got)
		}
		if p.t.Next.Action != "wait_for_answer" || p.rec.Scan.LastReason != "enrollment" || p.t.Step != enforcement.StepPlanned {
			t.Errorf("%s: next %+v scan %+v step %s", platform, p.t.Next, p.rec.Scan, p.t.Step)
		}
		// Nothing new until the scan is answered: no duplicate.
		f.now = f.now.Add(40 * time.Minute)
		f.pass()
		if len(f.sent) != len(splitComma(want)) {
			t.Errorf("%s: re-sent while queued: %v", platform, f.sent)
		}
	}
}

func TestPassScheduleChoice(t *testing.T) {
	wallOf := func(d time.Duration) time.Time { return t0.Add(d) } // the fixture's deadline, as UTC wall time
	cases := []struct {
		name       string
		platform   string
		deadline   time.Duration
		edit       func(f *fixture)
		wantSent   string
		wantNext   string
		wantNextAt time.Time
	}{
		{name: "pre-stage waits for the window", platform: mdm.PlatformIOS, deadline: 7 * 24 * time.Hour,
			wantNext: "schedule DownloadOnly", wantNextAt: wallOf(7 * 24 * time.Hour).Add(-14*time.Hour - 5*24*time.Hour)},
		{name: "window open", platform: mdm.PlatformIOS, deadline: 4 * 24 * time.Hour, wantSent: "ScheduleOSUpdate:DownloadOnly"},
		{name: "downloaded mac with deferrals on a minor update", platform: mdm.PlatformMacOS, deadline: 4 * 24 * time.Hour,
			edit:     func(f *fixture) { f.in.Policy.UserDeferrals = 3; f.rec.Tracks["p1"] = &Track{Downloaded: true} },
			wantSent: "ScheduleOSUpdate:InstallLater/3"},
		{name: "downloaded major update waits for the deadline", platform: mdm.PlatformMacOS, deadline: 4 * 24 * time.Hour,
			edit: func(f *fixture) {
				f.in.Policy.UserDeferrals = 3
				f.offer.IsMajorOSUpdate = true
				f.rec.Tracks["p1"] = &Track{Downloaded: true}
			},
			wantNext: "schedule InstallASAP", wantNextAt: wallOf(4 * 24 * time.Hour).Add(12 * time.Hour)},
		{name: "downloaded iPhone waits for the deadline", platform: mdm.PlatformIOS, deadline: 4 * 24 * time.Hour,
			edit:     func(f *fixture) { f.rec.Tracks["p1"] = &Track{Downloaded: true} },
			wantNext: "schedule InstallASAP", wantNextAt: wallOf(4 * 24 * time.Hour).Add(12 * time.Hour)},
		{name: "deadline passed, force restart allowed", platform: mdm.PlatformMacOS, deadline: -48 * time.Hour,
			edit: func(f *fixture) { f.in.Policy.AllowForceRestart = true }, wantSent: "ScheduleOSUpdate:InstallForceRestart"},
		{name: "force restart is macOS only", platform: mdm.PlatformIOS, deadline: -48 * time.Hour,
			edit: func(f *fixture) { f.in.Policy.AllowForceRestart = true }, wantSent: "ScheduleOSUpdate:InstallASAP"},
		{name: "a failing precondition sends nothing", platform: mdm.PlatformIOS, deadline: -48 * time.Hour,
			edit: func(f *fixture) {
				f.in.Plan.Reasons = []enforcement.Reason{enforcement.NewReason(enforcement.CodeBatteryLow, "battery", "20 %")}
			},
			wantNext: "wait_for_precondition", wantNextAt: t0.Add(time.Hour)}, // facts from t0, read again an hour later
		{name: "an install waits for its maintenance window", platform: mdm.PlatformMacOS, deadline: -48 * time.Hour,
			edit: func(f *fixture) {
				f.in.Plan.Reasons = []enforcement.Reason{enforcement.NewReason(enforcement.CodeWaitingForMaintenanceWindow,
					"window", "nightly", "next_start", t0.Add(6*time.Hour).Format(time.RFC3339), "max_run_time", "2h0m0s")}
			},
			wantNext: "wait_for_maintenance_window", wantNextAt: t0.Add(6 * time.Hour)},
		{name: "a download does not wait for a window", platform: mdm.PlatformIOS, deadline: 2 * 24 * time.Hour,
			edit: func(f *fixture) {
				f.in.Plan.Reasons = []enforcement.Reason{enforcement.NewReason(enforcement.CodeWaitingForMaintenanceWindow,
					"window", "nightly", "next_start", t0.Add(6*time.Hour).Format(time.RFC3339), "max_run_time", "2h0m0s")}
			},
			wantSent: "ScheduleOSUpdate:DownloadOnly"},
		{name: "never two at once", platform: mdm.PlatformIOS, deadline: -48 * time.Hour,
			edit: func(f *fixture) {
				f.queue = append(f.queue, storage.QueueEntry{UUID: "admin", RequestType: mdm.RequestScheduleOSUpdate})
			},
			wantNext: "wait_for_answer"},
		{name: "backoff", platform: mdm.PlatformIOS, deadline: -48 * time.Hour,
			edit: func(f *fixture) {
				f.rec.Tracks["p1"] = &Track{Backoff: t0.Add(time.Hour), LastFailure: &Failure{Code: enforcement.CodeScheduleFailed}}
			},
			wantNext: "schedule InstallASAP", wantNextAt: t0.Add(time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.platform, tc.deadline)
			if tc.edit != nil {
				tc.edit(f)
			}
			if tr := f.rec.Tracks["p1"]; tr != nil {
				tr.PolicyID, tr.Target, tr.Phase = "p1", f.target, PhaseFind
			}
			f.pass()
			f.scanned(f.offer)
			f.sent = nil
			p := f.pass()
			if tc.wantSent != "" {
				if f.lastSent() != tc.wantSent {
					t.Fatalf("sent %v, want %s", f.sent, tc.wantSent)
				}
				return
			}
			for _, s := range f.sent {
				if s[:len(mdm.RequestScheduleOSUpdate)] == mdm.RequestScheduleOSUpdate {
					t.Fatalf("sent %s", s)
				}
			}
			if n := p.t.Next; n.Action != tc.wantNext || (!tc.wantNextAt.IsZero() && !n.At.Equal(tc.wantNextAt)) {
				t.Errorf("next %+v, want %s at %s", n, tc.wantNext, tc.wantNextAt)
			}
		})
	}
}

func TestPassNotFoundBecomesFailureAfterADay(t *testing.T) {
	f := newFixture(t, mdm.PlatformMacOS, -48*time.Hour)
	f.pass()
	for i := 1; i <= 6; i++ {
		f.scanned() // nothing listed
		p := f.pass()
		r := p.t.Reason
		wantFailed := i == 6 // six scans, 25 h apart at the end
		if r.Code != enforcement.CodeProductKeyNotFound || (r.Severity == enforcement.SeverityFailed) != wantFailed {
			t.Fatalf("scan %d: %+v step %s", i, r, p.t.Step)
		}
		if wantFailed && p.t.Step != enforcement.StepFailed {
			t.Errorf("step %s", p.t.Step)
		}
		f.now = f.now.Add(5 * time.Hour)
		f.pass() // the cadence asks again
	}
	f.scanned(f.offer)
	if p := f.pass(); p.t.Reason.Code != enforcement.CodeDeadlinePassed || f.lastSent() != "ScheduleOSUpdate:InstallASAP" {
		t.Errorf("after the offer: %+v, sent %v", p.t.Reason, f.sent)
	}
}

func TestPassDownloadStallNeedsSpreadChecks(t *testing.T) {
	f := newFixture(t, mdm.PlatformMacOS, -48*time.Hour)
	f.started(mdm.InstallActionInstallASAP)
	stuck := mdm.OSUpdateStatusItem{ProductKey: f.offer.ProductKey, Status: mdm.UpdateStatusDownloading}
	var p *pass
	for i := range 13 { // every 15 minutes for three hours
		f.status(time.Minute, stuck)
		p = f.pass()
		f.now = f.now.Add(14 * time.Minute)
		if i < 12 && p.t.Assumed {
			t.Fatalf("stalled after %d checks over %s", i+1, f.now.Sub(p.t.ZeroProgress[0]))
		}
		f.pass()
	}
	if len(p.t.ZeroProgress) != 3 || p.t.ZeroProgress[2].Sub(p.t.ZeroProgress[0]) != 3*time.Hour || !p.t.Assumed {
		t.Fatalf("strikes %v", p.t.ZeroProgress)
	}
	if f.lastSent() != "ScheduleOSUpdate:InstallASAP" || p.t.Reason.Code != enforcement.CodeDownloadStalled {
		t.Errorf("sent %v reason %s", f.sent, p.t.Reason.Code)
	}
	// Still at 0 % two hours after the install request: the assumption did
	// not help, and the admin is told to act.
	f.scheduled(mdm.UpdateResult{ProductKey: f.offer.ProductKey, InstallAction: mdm.InstallActionInstallASAP, Status: mdm.UpdateStatusDownloading})
	f.pass()
	f.now = f.now.Add(2 * time.Hour) // past the gap between strikes
	f.pass()                         // polls
	f.status(time.Minute, stuck)
	p = f.pass()
	if len(p.t.ZeroProgress) != 4 || p.t.Reason.Code != enforcement.CodeDownloadStuck || p.t.Reason.Severity != enforcement.SeverityBlocking {
		t.Errorf("after the install request: strikes %d reason %+v", len(p.t.ZeroProgress), p.t.Reason)
	}
}

func TestPassIdleFallsBackKeepingTheDeadline(t *testing.T) {
	for platform, fallback := range map[string]string{mdm.PlatformMacOS: "InstallLater", mdm.PlatformIOS: "DownloadOnly"} {
		f := newFixture(t, platform, -48*time.Hour)
		f.started(mdm.InstallActionInstallASAP)
		idle := mdm.OSUpdateStatusItem{ProductKey: f.offer.ProductKey, Status: mdm.UpdateStatusIdle}
		var p *pass
		for i := range 4 {
			f.now = f.now.Add(14 * time.Minute)
			f.pass()
			f.status(time.Minute, idle)
			p = f.pass()
			if i < 3 && p.t.Reason.Code != enforcement.CodeIdleAfterInstallRequest {
				t.Fatalf("%s idle %d: %s", platform, i+1, p.t.Reason.Code)
			}
		}
		if p.t.Reason.Code != enforcement.CodeFallbackRequested || f.lastSent() != "ScheduleOSUpdate:"+fallback {
			t.Fatalf("%s: reason %s sent %v", platform, p.t.Reason.Code, f.sent)
		}
		f.scheduled(mdm.UpdateResult{ProductKey: f.offer.ProductKey, InstallAction: fallback, Status: mdm.UpdateStatusIdle})
		p = f.pass()
		if p.t.Reason.Code != enforcement.CodeFallbackIssued || p.t.Reason.Details["deadline"] == "" || p.t.Fallback.IssuedAt.IsZero() {
			t.Errorf("%s: %+v", platform, p.t.Reason)
		}
		// The deadline has passed: offered again, forced, after FallbackRetry.
		f.now = p.t.Fallback.OfferedAt.Add(24 * time.Hour)
		f.pass()
		f.scanned(f.offer) // the list is older than a day: trusted again after a scan
		f.pass()
		if f.lastSent() != "ScheduleOSUpdate:InstallASAP" {
			t.Errorf("%s: after a day sent %v", platform, f.sent)
		}
	}
}

func TestPassFailuresBackOffThenFallBack(t *testing.T) {
	f := newFixture(t, mdm.PlatformMacOS, -48*time.Hour)
	f.pass()
	f.scanned(f.offer)
	f.pass()
	refused := mdm.UpdateResult{ProductKey: f.offer.ProductKey, InstallAction: mdm.InstallActionError, Status: mdm.UpdateStatusIdle,
		ErrorChain: []mdm.ErrorChainItem{{ErrorDomain: "MCMDMErrorDomain", ErrorCode: 12082, USEnglishDescription: "could not be scheduled"}}}
	for i, wait := range []time.Duration{30 * time.Minute, time.Hour} {
		f.scheduled(refused)
		p := f.pass()
		if p.t.Reason.Code != enforcement.CodeScheduleFailed || !p.t.Next.At.Equal(f.now.Add(wait)) || p.t.Step != enforcement.StepFailed {
			t.Fatalf("failure %d: %+v next %+v", i+1, p.t.Reason, p.t.Next)
		}
		f.now = p.t.Next.At
		f.pass()
	}
	f.scheduled(refused)
	p := f.pass()
	if p.t.Fallback == nil || p.t.Fallback.Because != enforcement.CodeScheduleFailed || f.lastSent() != "ScheduleOSUpdate:InstallLater" {
		t.Fatalf("fallback %+v sent %v", p.t.Fallback, f.sent)
	}
	if p.t.Attempts != 4 || p.t.Failures != 3 {
		t.Errorf("attempts %d failures %d", p.t.Attempts, p.t.Failures)
	}
}

func TestPassLockedAndSilentDevices(t *testing.T) {
	f := newFixture(t, mdm.PlatformIOS, -48*time.Hour)
	f.pass()
	f.queue[0].NotNow, f.queue[0].NotNowCount = true, 1
	f.now = f.now.Add(2 * time.Hour)
	p := f.pass()
	if p.t.Next.Action != "wait_for_checkin" || len(f.sent) != 1 {
		t.Errorf("next %+v sent %v", p.t.Next, f.sent)
	}
	f.now = f.now.Add(4 * 24 * time.Hour)
	f.in.Facts.LastSeen = t0
	p = newPass(f.cfg, f.in, f.eval, f.us, f.rec, f.queue)
	p.now, p.in.Now = f.now, f.now
	p.run()
	p.conclude()
	if p.t.Reason.Code != enforcement.CodeNotCheckingIn {
		t.Errorf("silent: %+v", p.t.Reason)
	}
	f.eval.Compliance = enforcement.Unknown
	p = newPass(f.cfg, f.in, f.eval, f.us, f.rec, f.queue)
	p.now, p.in.Now = f.now, f.now
	if out := p.report(); out.Reason == nil || out.Reason.Code != enforcement.CodeNotCheckingIn {
		t.Errorf("unknown and silent: %+v", out)
	}
}

func TestPassPushDisabledIsNotAFailure(t *testing.T) {
	f := newFixture(t, mdm.PlatformIOS, -48*time.Hour)
	f.in.Plan.Reasons = []enforcement.Reason{enforcement.NewReason(enforcement.CodePushFailing)}
	f.in.Device.LastPush = &storage.Push{Reason: "push disabled: no push certificate"}
	if p := f.pass(); p.t.Reason.Code != enforcement.CodeDeadlinePassed {
		t.Errorf("push disabled reported as %s", p.t.Reason.Code)
	}
	f.in.Device.PushTokenDead = true
	if p := f.pass(); p.t.Reason.Code != enforcement.CodePushFailing {
		t.Errorf("dead token: %s", p.t.Reason.Code)
	}
}

func TestPassMaxRuntimeThenVerified(t *testing.T) {
	f := newFixture(t, mdm.PlatformMacOS, -48*time.Hour)
	f.started(mdm.InstallActionInstallASAP)
	installing := mdm.OSUpdateStatusItem{ProductKey: f.offer.ProductKey, Status: mdm.UpdateStatusInstalling, IsDownloaded: true, DownloadPercentComplete: 1}
	f.status(time.Minute, installing)
	start := f.now
	f.pass()
	f.now = start.Add(6*time.Hour + time.Minute)
	p := f.pass()
	if p.t.Reason.Code != enforcement.CodeMaxRuntimeExceeded || p.t.Phase != PhaseInstalling || p.t.Reason.Details["max_runtime"] != "6h0m0s" {
		t.Fatalf("reason %+v phase %s", p.t.Reason, p.t.Phase)
	}
	f.status(time.Minute) // the update left the list
	p = f.pass()
	if p.t.Phase != PhaseVerifying || f.lastSent() != mdm.RequestDeviceInformation || p.t.Step != enforcement.StepVerifying {
		t.Fatalf("phase %s sent %v", p.t.Phase, f.sent)
	}
	f.eval.Compliance = enforcement.Installed
	p = f.pass()
	if p.t.Phase != PhaseInstalled || p.rec.Scan.LastReason != "install" || f.lastSent() != mdm.RequestAvailableOSUpdates {
		t.Errorf("phase %s scan %+v sent %v", p.t.Phase, p.rec.Scan, f.sent)
	}
}

func TestRoughEvaluation(t *testing.T) {
	f := newFixture(t, mdm.PlatformIOS, -48*time.Hour)
	in := f.in
	in.Now = t0
	if ev := roughEvaluation(in); ev.Compliance != enforcement.Required || !ev.DeadlinePassed {
		t.Errorf("deliver: %+v", ev)
	}
	in.Plan.Action, in.Plan.Reasons = enforcement.ActionNone, nil
	if ev := roughEvaluation(in); ev.Compliance != enforcement.Installed {
		t.Errorf("nothing to do: %+v", ev)
	}
	for code, want := range map[enforcement.Code]enforcement.Compliance{
		enforcement.CodeAlreadyNewer: enforcement.NotRequired, enforcement.CodeStatusUnknown: enforcement.Unknown,
		enforcement.CodeReleaseExpired: enforcement.Required,
	} {
		in.Plan.Reasons = []enforcement.Reason{enforcement.NewReason(code)}
		if ev := roughEvaluation(in); ev.Compliance != want {
			t.Errorf("%s: %s", code, ev.Compliance)
		}
	}
}

// A device that goes quiet after its install ended has not failed: only a
// version it reports after the verify window counts as evidence.
func TestPassVerifyTimeoutNeedsAReport(t *testing.T) {
	f := newFixture(t, mdm.PlatformIOS, -48*time.Hour)
	f.started(mdm.InstallActionInstallASAP)
	f.status(time.Minute, mdm.OSUpdateStatusItem{ProductKey: f.offer.ProductKey, Status: mdm.UpdateStatusInstalling, IsDownloaded: true, DownloadPercentComplete: 1})
	f.pass()
	f.now = f.now.Add(20 * time.Minute)
	f.pass()              // polls again
	f.status(time.Minute) // the update left the list: the install ended
	p := f.pass()
	if p.t.Phase != PhaseVerifying {
		t.Fatalf("phase %s", p.t.Phase)
	}
	ended := p.t.VerifyStartedAt
	cases := []struct {
		name     string
		reported time.Time // when DeviceInformation last answered (old version)
		wantFail bool
	}{
		{"silent for twelve hours", f.in.Facts.InfoUpdatedAt, false},
		{"answered inside the window", ended.Add(time.Hour), false},
		{"answered after the window", ended.Add(2*time.Hour + time.Minute), true},
	}
	base := *f
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := base
			g.t = t
			raw, err := base.rec.encode()
			if err != nil {
				t.Fatal(err)
			}
			g.rec, _ = DecodeRecord(raw)
			g.queue, g.sent = slices.Clone(base.queue), slices.Clone(base.sent)
			g.now = ended.Add(12 * time.Hour)
			g.in.Facts.InfoUpdatedAt = tc.reported
			p := g.pass()
			failed := p.t.Step == enforcement.StepFailed && p.t.Reason.Code == enforcement.CodeUpdateFailed
			if failed != tc.wantFail {
				t.Fatalf("failed=%v, want %v: phase %s step %s reason %+v", failed, tc.wantFail, p.t.Phase, p.t.Step, p.t.Reason)
			}
			if !tc.wantFail && (p.t.Step != enforcement.StepVerifying || g.lastSent() != mdm.RequestDeviceInformation) {
				t.Errorf("still verifying: step %s sent %v", p.t.Step, g.sent)
			}
			if tc.wantFail && !strings.Contains(p.t.Reason.Details["detail"], "still reported 16.7.15 at ") {
				t.Errorf("detail %q", p.t.Reason.Details["detail"])
			}
		})
	}
}
