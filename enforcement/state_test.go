package enforcement

import (
	"strings"
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	c := fixtureCatalog(t)
	ourID := DeclarationIdentifier("latest-all")
	ddm := func(state, pending string, decl ...DeclarationStatus) *DDMFacts {
		return &DDMFacts{InstallState: state, PendingOSVersion: pending, Declarations: decl, StatusUpdatedAt: fixtureNow.Add(-5 * time.Minute)}
	}
	active := DeclarationStatus{Identifier: ourID, Active: true, Valid: "valid"}
	mac := func(change func(*DeviceFacts)) DeviceFacts {
		f := baseMac()
		change(&f)
		return f
	}
	legacyMac := func(lf *LegacyFacts) DeviceFacts {
		return mac(func(f *DeviceFacts) {
			f.OSVersion, f.SoftwareUpdateDeviceID, f.Legacy = "13.6.1", "Mac-AA95B1DDAB278B95", lf
		})
	}
	pinned := func(version, build, deadline string) Policy {
		p := versionPolicy(version, deadline, "macOS")
		p.Target.BuildVersion = build
		return p
	}
	paused := latestPolicy()
	paused.Paused = true
	scanned := fixtureNow.Add(-10 * time.Minute)
	tests := []struct {
		name       string
		facts      DeviceFacts
		policy     Policy
		compliance Compliance
		step       Step
		reason     Code
	}{
		{"installed", mac(func(f *DeviceFacts) { f.OSVersion = "26.2" }), latestPolicy(), Installed, "", ""},
		{"already newer", mac(func(f *DeviceFacts) { f.OSVersion = "26.3" }), latestPolicy(), NotRequired, "", CodeAlreadyNewer},
		{"required, nothing confirmed", baseMac(), latestPolicy(), Required, StepPlanned, ""},
		{"declaration active but old version: still required", mac(func(f *DeviceFacts) { f.DDM = ddm("none", "", active) }),
			latestPolicy(), Required, StepDelivered, ""},
		{"downloading", mac(func(f *DeviceFacts) { f.DDM = ddm("downloading", "26.2", active) }), latestPolicy(), Required, StepDownloading, ""},
		{"prepared", mac(func(f *DeviceFacts) { f.DDM = ddm("prepared", "26.2", active) }), latestPolicy(), Required, StepPrepared, ""},
		{"installing", mac(func(f *DeviceFacts) { f.DDM = ddm("installing", "26.2", active) }), latestPolicy(), Required, StepInstalling, ""},
		{"apple's waiting state", mac(func(f *DeviceFacts) { f.DDM = ddm("waiting", "26.2", active) }), latestPolicy(), Required, StepWaiting, ""},
		{"failed", mac(func(f *DeviceFacts) {
			f.DDM = ddm("failed", "26.2", active)
			f.DDM.FailureCount, f.DDM.FailureReason = 2, "Unable to verify the update"
		}), latestPolicy(), Required, StepFailed, CodeUpdateFailed},
		{"failures then a new attempt", mac(func(f *DeviceFacts) {
			f.DDM = ddm("downloading", "26.2", active)
			f.DDM.FailureCount = 1
		}), latestPolicy(), Required, StepDownloading, CodeUpdateFailed},
		{"declaration rejected", mac(func(f *DeviceFacts) {
			f.DDM = ddm("none", "", DeclarationStatus{Identifier: ourID, Valid: "invalid",
				Reasons: []StatusReason{{Code: "Error.ConfigurationCannotBeApplied", Description: "bad target"}}})
		}), latestPolicy(), Required, StepFailed, CodeDeclarationRejected},
		{"queued behind another target", mac(func(f *DeviceFacts) { f.DDM = ddm("downloading", "26.1.1", active) }),
			latestPolicy(), Required, StepWaiting, CodeQueuedBehindOtherTarget},
		{"stale report → unknown even if it looked installed", mac(func(f *DeviceFacts) {
			f.OSVersion, f.InfoUpdatedAt = "26.2", fixtureNow.Add(-25*time.Hour)
		}), latestPolicy(), Unknown, "", CodeStatusUnknown},
		{"fresh DDM status counts as fresh", mac(func(f *DeviceFacts) {
			f.InfoUpdatedAt, f.DDM = fixtureNow.Add(-25*time.Hour), ddm("none", "", active)
		}), latestPolicy(), Required, StepDelivered, ""},
		{"blocked: not supervised", mac(func(f *DeviceFacts) { f.Supervised = false }), latestPolicy(), Required, StepBlocked, CodeNotSupervised},
		{"waiting: push failing", mac(func(f *DeviceFacts) { f.PushFailing = true }), latestPolicy(), Required, StepWaiting, CodePushFailing},
		{"progress beats waiting reasons", mac(func(f *DeviceFacts) { f.PushFailing, f.DDM = true, ddm("installing", "26.2", active) }),
			latestPolicy(), Required, StepInstalling, ""},
		{"deadline passed", mac(func(f *DeviceFacts) {
			f.DDM = ddm("none", "", DeclarationStatus{Identifier: DeclarationIdentifier("pin-26.2"), Active: true, Valid: "valid"})
		}),
			pinned("26.2", "", "2026-11-19T17:00:00"), Required, StepDelivered, CodeDeadlinePassed},
		{"paused", baseMac(), paused, Required, StepWaiting, CodePolicyPaused},
		{"out of scope", mac(func(f *DeviceFacts) { f.Platform, f.Model = "iPadOS", "iPad13,1" }),
			versionPolicy("26.2", "2026-12-01T17:00:00", "macOS"), NotRequired, "", CodeNotInScope},
		{"no release for model", mac(func(f *DeviceFacts) { f.SoftwareUpdateDeviceID = "Mac-AA95B1DDAB278B95" }),
			pinned("26.2", "", "2026-12-01T17:00:00"), NotRequired, "", CodeNoReleaseForModel},
		{"expired target, device older", mac(func(f *DeviceFacts) { f.OSVersion = "26.0" }),
			pinned("26.0.1", "", "2026-12-01T17:00:00"), Required, StepBlocked, CodeReleaseExpired},
		{"expired target, device newer", baseMac(), pinned("26.0.1", "", "2026-12-01T17:00:00"), NotRequired, "", CodeAlreadyNewer},
		{"exact build installed", mac(func(f *DeviceFacts) { f.OSVersion, f.BuildVersion = "26.2", "25C56" }),
			pinned("26.2", "25C56", "2026-12-01T17:00:00"), Installed, "", ""},
		{"right version, older build", mac(func(f *DeviceFacts) { f.OSVersion, f.BuildVersion = "26.2", "25C50" }),
			pinned("26.2", "25C56", "2026-12-01T17:00:00"), Required, StepPlanned, ""},
		{"device id unknown", mac(func(f *DeviceFacts) { f.SoftwareUpdateDeviceID = "" }), latestPolicy(), Unknown, "", CodeDeviceIDUnknown},
		{"iPhone without device id uses its model", func() DeviceFacts { f := baseIPhone(); f.OSVersion = "26.2"; return f }(),
			latestPolicy(), Installed, "", ""},
		{"legacy downloading", legacyMac(&LegacyFacts{ScannedAt: scanned, Offered: true, Status: "Downloading"}),
			latestPolicy(), Required, StepDownloading, ""},
		{"legacy power", legacyMac(&LegacyFacts{ScannedAt: scanned, Offered: true, Status: "DownloadInsufficientPower"}),
			latestPolicy(), Required, StepWaiting, CodeBatteryLow},
		{"legacy schedule error", legacyMac(&LegacyFacts{ScannedAt: scanned, Offered: true, ScheduledAction: "Error"}),
			latestPolicy(), Required, StepFailed, CodeScheduleFailed},
		{"legacy not offered", legacyMac(&LegacyFacts{ScannedAt: scanned}), latestPolicy(), Required, StepWaiting, CodeProductKeyNotFound},
		{"legacy install later accepted", legacyMac(&LegacyFacts{ScannedAt: scanned, Offered: true, IsDownloaded: true, ScheduledAction: "InstallLater"}),
			latestPolicy(), Required, StepPendingRestart, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Evaluate(tt.facts, tt.policy, c, fixtureNow, Options{})
			if ev.Compliance != tt.compliance || ev.Step != tt.step || ev.Reason.Code != tt.reason {
				t.Errorf("got %s/%s/%s (%s), want %s/%s/%s", ev.Compliance, ev.Step, ev.Reason.Code, ev.Reason.Message,
					tt.compliance, tt.step, tt.reason)
			}
			if strings.Contains(ev.Reason.Message, "{") || strings.Contains(ev.Reason.Remedy, "{") {
				t.Errorf("unfilled placeholder: %q / %q", ev.Reason.Message, ev.Reason.Remedy)
			}
		})
	}
}

func TestEvaluateFailureMessageCarriesAppleText(t *testing.T) {
	f := baseMac()
	f.DDM = &DDMFacts{InstallState: "failed", FailureCount: 3, FailureReason: "Unable to verify the update", StatusUpdatedAt: fixtureNow}
	ev := Evaluate(f, latestPolicy(), fixtureCatalog(t), fixtureNow, Options{})
	want := "The update failed: Unable to verify the update (failures so far: 3)."
	if ev.Reason.Message != want {
		t.Errorf("message %q, want %q", ev.Reason.Message, want)
	}
}

func TestEvaluateStatusTTL(t *testing.T) {
	f := baseMac()
	f.InfoUpdatedAt = fixtureNow.Add(-2 * time.Hour)
	c := fixtureCatalog(t)
	if ev := Evaluate(f, latestPolicy(), c, fixtureNow, Options{StatusTTL: time.Hour}); ev.Compliance != Unknown {
		t.Errorf("TTL 1h, report 2h old: %s", ev.Compliance)
	}
	if ev := Evaluate(f, latestPolicy(), c, fixtureNow, Options{}); ev.Compliance != Required {
		t.Errorf("default TTL 24h, report 2h old: %s", ev.Compliance)
	}
	f.InfoUpdatedAt = time.Time{}
	if ev := Evaluate(f, latestPolicy(), c, fixtureNow, Options{}); ev.Compliance != Unknown || !strings.Contains(ev.Reason.Message, "never") {
		t.Errorf("never reported: %s %q", ev.Compliance, ev.Reason.Message)
	}
}
