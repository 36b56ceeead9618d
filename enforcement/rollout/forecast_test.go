package rollout

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// forecastFleet is one device per situation the forecast must recognise;
// the map gives the risk codes expected (nil: not at risk).
func forecastFleet() ([]ForecastDevice, map[string][]enforcement.Code) {
	dev := func(f enforcement.DeviceFacts) ForecastDevice { return ForecastDevice{Facts: f} }
	healthy := dev(mac("healthy", "it"))
	installed := dev(mac("installed"))
	installed.Facts.OSVersion, installed.Facts.BuildVersion = "26.2", "25C56"
	installed.State = enforcement.DeviceState{Compliance: enforcement.Installed, InstalledAt: fixtureNow.Add(-time.Hour)}
	unsupervised := dev(mac("unsupervised"))
	unsupervised.Facts.Supervised = false
	noToken := dev(mac("no-token"))
	noToken.Facts.BootstrapEscrowed = false
	phone := dev(mac("low-battery-phone"))
	phone.Facts.Platform, phone.Facts.Model, phone.Facts.SoftwareUpdateDeviceID = "iOS", "iPhone15,2", ""
	phone.Facts.Battery = ptr(0.2)
	tight := dev(mac("legacy-tight-disk"))
	tight.Facts.OSVersion, tight.Facts.BuildVersion, tight.Facts.FreeSpace = "13.7.8", "22H730", ptr(int64(25e9))
	tight.UpdateSizes = map[string]int64{"26.2": 30e9}
	offline := dev(mac("offline"))
	offline.Facts.LastSeen, offline.Facts.InfoUpdatedAt = fixtureNow.Add(-5*24*time.Hour), fixtureNow.Add(-5*24*time.Hour)
	failing := dev(mac("failing"))
	failing.Facts.DDM = &enforcement.DDMFacts{InstallState: "failed", FailureCount: 3, FailureReason: "Unable to verify",
		StatusUpdatedAt: fixtureNow.Add(-time.Hour)}
	failing.State = enforcement.DeviceState{Compliance: enforcement.Required, Step: enforcement.StepFailed}
	noRelease := dev(mac("no-release"))
	noRelease.Facts.SoftwareUpdateDeviceID = "J999AP"
	downloading := dev(mac("downloading", "it"))
	downloading.Facts.DDM = &enforcement.DDMFacts{InstallState: "downloading", PendingOSVersion: "26.2", StatusUpdatedAt: fixtureNow.Add(-time.Hour)}
	tv := dev(mac("apple-tv"))
	tv.Facts.Platform = "tvOS"
	fleet := []ForecastDevice{healthy, installed, unsupervised, noToken, phone, tight, offline, failing, noRelease, downloading, tv}
	want := map[string][]enforcement.Code{
		"unsupervised":      {enforcement.CodeNotSupervised},
		"no-token":          {enforcement.CodeBootstrapTokenMissing},
		"low-battery-phone": {enforcement.CodeBatteryLow},
		"legacy-tight-disk": {enforcement.CodeInsufficientSpace},
		"offline":           {enforcement.CodeNotCheckingIn},
		"failing":           {enforcement.CodeFailingRepeatedly},
		"no-release":        {enforcement.CodeNoReleaseForModel},
	}
	return fleet, want
}

func TestForecast(t *testing.T) {
	cat := fixtureCatalog(t)
	p := ringed()
	p.Scope.Platforms = nil
	p.CreatedAt = fixtureNow.Add(-24 * time.Hour)
	fleet, want := forecastFleet()
	fc := NewForecaster(p, cat, &State{Rings: []RingStart{{Name: "it", StartedAt: fixtureNow}}}, fixtureNow, enforcement.Options{})
	for i := range fleet {
		fc.Add(&fleet[i])
	}
	f := fc.Result()
	got := map[string][]enforcement.Code{}
	for _, d := range f.AtRisk {
		for _, r := range d.Risks {
			got[d.DeviceID] = append(got[d.DeviceID], r.Code)
			if r.Message == "" || r.Remedy == "" || strings.Contains(r.Message, "{") {
				t.Errorf("%s %s: message %q remedy %q", d.DeviceID, r.Code, r.Message, r.Remedy)
			}
		}
	}
	for id, codes := range want {
		if strings.Join(codesOf(got[id]), ",") != strings.Join(codesOf(codes), ",") {
			t.Errorf("%s: risks %v, want %v", id, got[id], codes)
		}
	}
	for id := range got {
		if want[id] == nil {
			t.Errorf("%s is at risk (%v) but should not be", id, got[id])
		}
	}
	if f.InScope != 10 || f.CompliantNow != 1 || f.InProgress != 1 || f.Clear != 1 || f.LikelyMiss != 4 {
		t.Errorf("counts: in scope %d compliant %d in progress %d clear %d likely %d", f.InScope, f.CompliantNow, f.InProgress, f.Clear, f.LikelyMiss)
	}
	// Estimate: 1 compliant + 5 open (in progress, clear, three waiting
	// risks) × (1 − 1 failing of 3 attempts) = 1 + 5 × 2/3 ≈ 4.3.
	if f.FailureRate != 33.3 || f.EstimatedCompliant != 4 || f.EstimatedCompliantPercent != 43.3 {
		t.Errorf("failure rate %.1f, estimate %d (%.1f %%)", f.FailureRate, f.EstimatedCompliant, f.EstimatedCompliantPercent)
	}
	if f.Deadline != "2026-12-01T17:00:00" || f.LatestDeadline != "2026-12-08T17:00:00" || f.DaysLeft != 10 {
		t.Errorf("deadlines %s..%s, %d days left", f.Deadline, f.LatestDeadline, f.DaysLeft)
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "rollout/forecast.golden.json"), append(raw, '\n'))
}

func codesOf(cs []enforcement.Code) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, string(c))
	}
	sort.Strings(out)
	return out
}

// A release Apple stops signing before the device's (ring) deadline.
func TestForecastReleaseExpiringBeforeDeadline(t *testing.T) {
	cat := fixtureCatalog(t)
	p := ringed()
	p.Target.OSVersion = "26.1" // expires 2026-12-08 in the fixture
	p.Rings = nil
	p.Deadline.LocalDateTime = "2026-12-10T17:00:00"
	f := mac("on-26.0")
	f.OSVersion, f.BuildVersion = "26.0", "25A354"
	fc := NewForecaster(p, cat, nil, fixtureNow, enforcement.Options{})
	fc.Add(&ForecastDevice{Facts: f})
	out := fc.Result()
	if len(out.AtRisk) != 1 || out.AtRisk[0].Risks[0].Code != enforcement.CodeReleaseExpiresBeforeDeadline || !out.AtRisk[0].Likely {
		t.Fatalf("at risk %+v", out.AtRisk)
	}
	if msg := out.AtRisk[0].Risks[0].Message; msg != "Apple stops signing 26.1 on 2026-12-08, before this device's deadline 2026-12-10T17:00:00." {
		t.Errorf("message %q", msg)
	}
	// With the deadline before the expiry the device is clear.
	p.Deadline.LocalDateTime = "2026-12-04T17:00:00"
	fc = NewForecaster(p, cat, nil, fixtureNow, enforcement.Options{})
	fc.Add(&ForecastDevice{Facts: f})
	if out := fc.Result(); out.AtRiskTotal != 0 || out.Clear != 1 {
		t.Errorf("deadline before expiry: %+v", out)
	}
}
