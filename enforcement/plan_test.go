package enforcement

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

func codes(rs []Reason) []Code {
	out := []Code{}
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

func TestPlanPathsAndPreconditions(t *testing.T) {
	c := fixtureCatalog(t)
	mac := func(version, deviceID string, change func(*DeviceFacts)) DeviceFacts {
		f := baseMac()
		f.OSVersion, f.SoftwareUpdateDeviceID = version, deviceID
		if change != nil {
			change(&f)
		}
		return f
	}
	phone := func(platform, version, model string, change func(*DeviceFacts)) DeviceFacts {
		f := baseIPhone()
		f.Platform, f.OSVersion, f.Model = platform, version, model
		if change != nil {
			change(&f)
		}
		return f
	}
	tests := []struct {
		name    string
		facts   DeviceFacts
		policy  Policy
		path    Path
		action  Action
		reasons []Code
		target  string
	}{
		{"macOS 13 → legacy", mac("13.6.1", "J314sAP", nil), latestPolicy(), PathLegacy, ActionDeliver, []Code{}, "26.2"},
		{"macOS 14 → ddm", mac("14.8", "J314sAP", nil), latestPolicy(), PathDDM, ActionDeliver, []Code{}, "26.2"},
		{"macOS 26 → ddm", mac("26.1", "J314sAP", nil), latestPolicy(), PathDDM, ActionDeliver, []Code{}, "26.2"},
		{"macOS 27 → ddm only", mac("27.0", "J314sAP", nil), versionPolicy("27.1", "2027-01-10T17:00:00"), PathDDM, ActionDeliver, []Code{}, "27.1"},
		{"macOS 27 without DDM → none", mac("27.0", "J314sAP", func(f *DeviceFacts) { f.DDMCapable = ptr(false) }),
			versionPolicy("27.1", "2027-01-10T17:00:00"), PathNone, ActionBlocked, []Code{CodeDDMUnavailable}, "27.1"},
		{"macOS 26 without DDM → legacy", mac("26.1", "J314sAP", func(f *DeviceFacts) { f.DDMCapable = ptr(false) }),
			latestPolicy(), PathLegacy, ActionDeliver, []Code{}, "26.2"},
		{"intel Mac gets its own latest", mac("15.6", "Mac-AA95B1DDAB278B95", func(f *DeviceFacts) { f.AppleSilicon = false }),
			latestPolicy(), PathDDM, ActionDeliver, []Code{}, "15.7.3"},
		{"unsupervised macOS 26 → blocked", mac("26.1", "J314sAP", func(f *DeviceFacts) { f.Supervised = false }),
			latestPolicy(), PathDDM, ActionBlocked, []Code{CodeNotSupervised}, "26.2"},
		{"unsupervised macOS 13 → blocked", mac("13.6.1", "J314sAP", func(f *DeviceFacts) { f.Supervised = false }),
			latestPolicy(), PathLegacy, ActionBlocked, []Code{CodeNotSupervised}, "26.2"},
		{"bootstrap missing on ddm: delivered, user authorises", mac("26.1", "J314sAP", func(f *DeviceFacts) { f.BootstrapEscrowed = false }),
			latestPolicy(), PathDDM, ActionDeliver, []Code{CodeBootstrapTokenMissing}, "26.2"},
		{"bootstrap missing on legacy: blocked", mac("13.6.1", "J314sAP", func(f *DeviceFacts) { f.BootstrapEscrowed = false }),
			latestPolicy(), PathLegacy, ActionBlocked, []Code{CodeBootstrapTokenMissing}, "26.2"},
		{"bootstrap awaited right after enrolment", mac("13.6.1", "J314sAP", func(f *DeviceFacts) {
			f.BootstrapEscrowed, f.EnrolledAt = false, fixtureNow.Add(-30*time.Minute)
		}), latestPolicy(), PathLegacy, ActionDeliver, []Code{CodeAwaitingBootstrapToken}, "26.2"},
		{"bootstrap not required", mac("13.6.1", "J314sAP", func(f *DeviceFacts) { f.BootstrapEscrowed, f.BootstrapRequired = false, ptr(false) }),
			latestPolicy(), PathLegacy, ActionDeliver, []Code{}, "26.2"},
		{"legacy battery low", mac("13.6.1", "J314sAP", func(f *DeviceFacts) { f.Battery = ptr(0.3) }),
			latestPolicy(), PathLegacy, ActionDeliver, []Code{CodeBatteryLow}, "26.2"},
		{"legacy battery low on power", mac("13.6.1", "J314sAP", func(f *DeviceFacts) { f.Battery, f.OnPower = ptr(0.3), ptr(true) }),
			latestPolicy(), PathLegacy, ActionDeliver, []Code{}, "26.2"},
		{"ddm leaves battery to the device", mac("26.1", "J314sAP", func(f *DeviceFacts) { f.Battery = ptr(0.1) }),
			latestPolicy(), PathDDM, ActionDeliver, []Code{}, "26.2"},
		{"low disk, not seen, push failing", mac("26.1", "J314sAP", func(f *DeviceFacts) {
			f.FreeSpace, f.LastSeen, f.PushFailing = ptr(int64(5e9)), fixtureNow.Add(-5*24*time.Hour), true
		}), latestPolicy(), PathDDM, ActionDeliver, []Code{CodeNotCheckingIn, CodePushFailing, CodeInsufficientSpace}, "26.2"},
		{"iOS 16 → legacy", phone("iOS", "16.7.10", "iPhone10,4", nil), latestPolicy(), PathLegacy, ActionDeliver, []Code{}, "16.7.16"},
		{"iPadOS 17 → ddm", phone("iPadOS", "17.7.10", "iPad7,5", nil), latestPolicy(), PathDDM, ActionDeliver, []Code{}, "17.7.11"},
		{"unsupervised iPhone on 26 → ddm works", phone("iOS", "26.1", "iPhone15,2", func(f *DeviceFacts) { f.Supervised = false }),
			latestPolicy(), PathDDM, ActionDeliver, []Code{}, "26.2"},
		{"unsupervised iPhone on 16 → blocked", phone("iOS", "16.7.10", "iPhone10,4", func(f *DeviceFacts) { f.Supervised = false }),
			latestPolicy(), PathLegacy, ActionBlocked, []Code{CodeNotSupervised}, "16.7.16"},
		{"already installed → remove", mac("26.2", "J314sAP", nil), latestPolicy(), PathDDM, ActionRemove, []Code{}, "26.2"},
		{"already newer → remove", mac("26.3", "J314sAP", nil), latestPolicy(), PathDDM, ActionRemove, []Code{CodeAlreadyNewer}, "26.2"},
		{"legacy installed → none", mac("13.7.8", "Mac-AA95B1DDAB278B95", nil), Policy{ID: "m13", Scope: Scope{All: true},
			Target: Target{Kind: TargetLatestMajor, Major: 13}, Deadline: Deadline{DaysAfterPosting: ptr(7)}}, PathLegacy, ActionNone, []Code{}, "13.7.8"},
		{"out of scope → remove", mac("26.1", "J314sAP", func(f *DeviceFacts) { f.Groups = []string{"lab"} }),
			Policy{ID: "p", Scope: Scope{Groups: []string{"staff"}}, Target: Target{Kind: TargetLatest}, Deadline: Deadline{DaysAfterPosting: ptr(1)}},
			PathNone, ActionRemove, []Code{CodeNotInScope}, ""},
		{"out of scope legacy → none", mac("13.6.1", "J314sAP", func(f *DeviceFacts) { f.Groups = nil }),
			Policy{ID: "p", Scope: Scope{Groups: []string{"staff"}}, Target: Target{Kind: TargetLatest}, Deadline: Deadline{DaysAfterPosting: ptr(1)}},
			PathNone, ActionNone, []Code{CodeNotInScope}, ""},
		{"paused → remove", mac("26.1", "J314sAP", nil), func() Policy { p := latestPolicy(); p.Paused = true; return p }(),
			PathDDM, ActionRemove, []Code{CodePolicyPaused}, "26.2"},
		{"no release for model → remove", mac("26.1", "J999AP", nil), latestPolicy(), PathDDM, ActionRemove, []Code{CodeNoReleaseForModel}, ""},
		{"device id unknown → wait", mac("26.1", "", nil), latestPolicy(), PathDDM, ActionNone, []Code{CodeDeviceIDUnknown}, ""},
		{"unknown OS version → nothing", mac("", "J314sAP", nil), latestPolicy(), PathNone, ActionNone, []Code{CodeStatusUnknown}, "26.2"},
		{"tvOS → not enforced", phone("tvOS", "26.1", "AppleTV14,1", nil), latestPolicy(), PathNone, ActionNone, []Code{CodePlatformUnsupported}, ""},
		{"not enrolled", mac("26.1", "J314sAP", func(f *DeviceFacts) { f.Enrolled = false }), latestPolicy(), PathNone, ActionNone, []Code{CodeNotEnrolled}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dp := Plan(tt.facts, tt.policy, c, fixtureNow, Options{})
			if dp.Path != tt.path || dp.Action != tt.action {
				t.Errorf("path %s action %s, want %s %s", dp.Path, dp.Action, tt.path, tt.action)
			}
			if got := codes(dp.Reasons); !reflect.DeepEqual(got, tt.reasons) {
				t.Errorf("reasons %v, want %v", got, tt.reasons)
			}
			if dp.Target.OSVersion != tt.target {
				t.Errorf("target %q, want %q", dp.Target.OSVersion, tt.target)
			}
			if dp.Action == ActionDeliver && (dp.Path == PathDDM) != (dp.DDM != nil) {
				t.Errorf("ddm plan %v on path %s", dp.DDM != nil, dp.Path)
			}
			if dp.Action == ActionDeliver && (dp.Path == PathLegacy) != (dp.Legacy != nil) {
				t.Errorf("legacy plan %v on path %s", dp.Legacy != nil, dp.Path)
			}
		})
	}
}

func TestPlanNoCatalogKeepsDeclarations(t *testing.T) {
	dp := Plan(baseMac(), latestPolicy(), nil, fixtureNow, Options{})
	if dp.Action != ActionNone || len(dp.Reasons) != 1 || dp.Reasons[0].Code != CodeCatalogUnavailable {
		t.Errorf("without catalog: %s %v; must not remove anything", dp.Action, codes(dp.Reasons))
	}
}

func TestPlanDDMDeclaration(t *testing.T) {
	c := fixtureCatalog(t)
	p := latestPolicy()
	p.DetailsURL = "https://it.example.com/updates"
	dp := Plan(baseMac(), p, c, fixtureNow, Options{})
	want := EnforcementSpec{TargetOSVersion: "26.2", TargetLocalDateTime: "2026-12-01T17:00:00", DetailsURL: "https://it.example.com/updates"}
	if dp.DDM == nil || dp.DDM.Enforcement != want {
		t.Fatalf("enforcement = %+v, want %+v", dp.DDM, want)
	}
	if dp.DDM.DeclarationIdentifier != "tidemark.enforcement.latest-all" {
		t.Errorf("identifier %q", dp.DDM.DeclarationIdentifier)
	}
	if !dp.DDM.NeedsStatusSubscription || dp.DDM.Settings != nil {
		t.Errorf("subscription %v settings %+v", dp.DDM.NeedsStatusSubscription, dp.DDM.Settings)
	}
	// Editing the policy keeps the identifier; the subscription, once
	// active on the device, is not needed again.
	p.Target = Target{Kind: TargetVersion, OSVersion: "26.2"}
	f := baseMac()
	f.DDM = &DDMFacts{StatusUpdatedAt: fixtureNow, Declarations: []DeclarationStatus{
		{Identifier: StatusSubscriptionIdentifier, Active: true, Valid: "valid"}}}
	dp2 := Plan(f, p, c, fixtureNow, Options{})
	if dp2.DDM.DeclarationIdentifier != dp.DDM.DeclarationIdentifier || dp2.DDM.NeedsStatusSubscription {
		t.Errorf("after edit: %q, subscription needed %v", dp2.DDM.DeclarationIdentifier, dp2.DDM.NeedsStatusSubscription)
	}
}

func TestPlanSettingsOnlyWhereSupported(t *testing.T) {
	c := fixtureCatalog(t)
	p := latestPolicy()
	p.Notifications = ptr(false)
	p.IncludeSecurityImprovements = true
	tests := []struct {
		name      string
		facts     DeviceFacts
		settings  bool
		rsr       bool
		skipCount int
	}{
		{"macOS 15+", baseMac(), true, true, 0},
		{"macOS 14: no settings declaration", func() DeviceFacts { f := baseMac(); f.OSVersion = "14.8"; return f }(), false, false, 0},
		{"iOS 18+ supervised", baseIPhone(), true, true, 0},
		{"iOS 17: no settings declaration", func() DeviceFacts { f := baseIPhone(); f.OSVersion = "17.7"; return f }(), false, false, 0},
		{"iOS unsupervised: notifications only", func() DeviceFacts { f := baseIPhone(); f.Supervised = false; return f }(), true, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dp := Plan(tt.facts, p, c, fixtureNow, Options{})
			if dp.DDM == nil {
				t.Fatalf("no DDM plan: %s %v", dp.Action, codes(dp.Reasons))
			}
			s := dp.DDM.Settings
			if (s != nil) != tt.settings {
				t.Fatalf("settings = %+v", s)
			}
			if s == nil {
				return
			}
			if s.Notifications == nil || *s.Notifications {
				t.Error("notifications not carried over")
			}
			if (s.RapidSecurityResponseEnable != nil) != tt.rsr || len(s.Skipped) != tt.skipCount {
				t.Errorf("rsr %v skipped %v", s.RapidSecurityResponseEnable, s.Skipped)
			}
			if s.DeclarationIdentifier != "tidemark.softwareupdate-settings.latest-all" {
				t.Errorf("settings identifier %q", s.DeclarationIdentifier)
			}
		})
	}
}

// Once the device runs the target build, a policy that includes security
// improvements moves on to the improvement for that build.
func TestPlanSecurityImprovement(t *testing.T) {
	c := fixtureCatalog(t)
	p := latestPolicy()
	p.IncludeSecurityImprovements = true
	f := baseMac()
	f.OSVersion, f.BuildVersion = "26.2", "25C56"
	dp := Plan(f, p, c, fixtureNow, Options{})
	want := EnforcementSpec{TargetOSVersion: "26.2", TargetBuildVersion: "25C771056a", TargetLocalDateTime: "2026-12-04T17:00:00"}
	if dp.Action != ActionDeliver || dp.DDM == nil || dp.DDM.Enforcement != want {
		t.Fatalf("got %s %+v, want %+v", dp.Action, dp.DDM, want)
	}
	f.SupplementalBuild, f.SupplementalExtra = "25C771056a", "(a)"
	if dp := Plan(f, p, c, fixtureNow, Options{}); dp.Action != ActionRemove {
		t.Errorf("improvement installed: action %s %v", dp.Action, codes(dp.Reasons))
	}
	p.IncludeSecurityImprovements = false
	f.SupplementalBuild = ""
	if dp := Plan(f, p, c, fixtureNow, Options{}); dp.Action != ActionRemove {
		t.Errorf("without improvements the base is enough: %s", dp.Action)
	}
}

func TestLegacyNextStep(t *testing.T) {
	c := fixtureCatalog(t)
	past := versionPolicy("13.7.8", "2026-11-20T09:00:00", "macOS")
	future := versionPolicy("13.7.8", "2026-12-20T09:00:00", "macOS")
	future.UserDeferrals = 3
	forced := past
	forced.AllowForceRestart = true
	scanned := fixtureNow.Add(-10 * time.Minute)
	tests := []struct {
		name   string
		legacy *LegacyFacts
		policy Policy
		want   LegacyPlan
	}{
		{"never scanned", nil, future, LegacyPlan{Step: LegacyScan, ProductVersion: "13.7.8"}},
		{"not offered yet", &LegacyFacts{ScannedAt: scanned}, future, LegacyPlan{Step: LegacyScan, ProductVersion: "13.7.8"}},
		{"stale scan", &LegacyFacts{ScannedAt: fixtureNow.Add(-3 * time.Hour), Offered: true, ProductKey: "MSU_UPDATE_22H730"},
			future, LegacyPlan{Step: LegacyScan, ProductVersion: "13.7.8"}},
		{"offered: download first", &LegacyFacts{ScannedAt: scanned, Offered: true, ProductKey: "MSU_UPDATE_22H730"}, future,
			LegacyPlan{Step: LegacyDownload, InstallAction: "DownloadOnly", ProductVersion: "13.7.8", ProductKey: "MSU_UPDATE_22H730"}},
		{"downloading: poll", &LegacyFacts{ScannedAt: scanned, Offered: true, ProductKey: "K", Status: "Downloading"}, future,
			LegacyPlan{Step: LegacyPoll, ProductVersion: "13.7.8", ProductKey: "K"}},
		{"just scheduled: poll", &LegacyFacts{ScannedAt: scanned, Offered: true, ProductKey: "K", ScheduledAction: "DownloadOnly",
			ScheduledAt: fixtureNow.Add(-time.Minute), StatusAt: fixtureNow.Add(-time.Hour)}, future,
			LegacyPlan{Step: LegacyPoll, ProductVersion: "13.7.8", ProductKey: "K"}},
		{"downloaded before deadline: install later with deferrals", &LegacyFacts{ScannedAt: scanned, Offered: true, ProductKey: "K", IsDownloaded: true},
			future, LegacyPlan{Step: LegacyInstall, InstallAction: "InstallLater", ProductVersion: "13.7.8", ProductKey: "K", MaxUserDeferrals: 3}},
		{"install later already accepted: wait", &LegacyFacts{ScannedAt: scanned, Offered: true, ProductKey: "K", IsDownloaded: true,
			ScheduledAction: "InstallLater", ScheduledAt: scanned, StatusAt: fixtureNow}, future,
			LegacyPlan{Step: LegacyWait, ProductVersion: "13.7.8", ProductKey: "K"}},
		{"deadline passed: install now", &LegacyFacts{ScannedAt: scanned, Offered: true, ProductKey: "K", IsDownloaded: true}, past,
			LegacyPlan{Step: LegacyInstall, InstallAction: "InstallASAP", ProductVersion: "13.7.8", ProductKey: "K"}},
		{"deadline passed, force restart allowed", &LegacyFacts{ScannedAt: scanned, Offered: true, ProductKey: "K", IsDownloaded: true}, forced,
			LegacyPlan{Step: LegacyInstall, InstallAction: "InstallForceRestart", ProductVersion: "13.7.8", ProductKey: "K"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := baseMac()
			f.OSVersion, f.SoftwareUpdateDeviceID, f.Legacy = "13.6.1", "Mac-AA95B1DDAB278B95", tt.legacy
			dp := Plan(f, tt.policy, c, fixtureNow, Options{})
			if dp.Legacy == nil {
				t.Fatalf("no legacy plan: %s %v", dp.Action, codes(dp.Reasons))
			}
			if *dp.Legacy != tt.want {
				t.Errorf("got %+v\nwant %+v", *dp.Legacy, tt.want)
			}
		})
	}
}

// The JSON of plans and evaluations is what the admin API shows and the
// reconcile worker stores; a golden file pins the field names.
func TestPlanAndEvaluationJSON(t *testing.T) {
	c := fixtureCatalog(t)
	p := latestPolicy()
	p.Notifications, p.IncludeSecurityImprovements, p.DetailsURL = ptr(false), true, "https://it.example.com/updates"
	legacy := baseMac()
	legacy.ID, legacy.OSVersion, legacy.SoftwareUpdateDeviceID = "mac-legacy", "13.6.1", "Mac-AA95B1DDAB278B95"
	legacy.Battery = ptr(0.3)
	legacy.Legacy = &LegacyFacts{ScannedAt: fixtureNow.Add(-time.Minute), Offered: true, ProductKey: "MSU_UPDATE_22H730"}
	failing := baseMac()
	failing.ID = "mac-failing"
	failing.DDM = &DDMFacts{InstallState: "failed", PendingOSVersion: "26.2", FailureCount: 2,
		FailureReason: "Unable to verify the update", StatusUpdatedAt: fixtureNow}
	out := map[string]any{
		"plan_ddm":        Plan(baseMac(), p, c, fixtureNow, Options{}),
		"plan_legacy":     Plan(legacy, p, c, fixtureNow, Options{}),
		"evaluation_fail": Evaluate(failing, p, c, fixtureNow, Options{}),
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/plan.json", append(got, '\n'))
}
