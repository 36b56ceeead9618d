package enforcement

import (
	"errors"
	"testing"
	"time"
)

func TestResolveTarget(t *testing.T) {
	c := fixtureCatalog(t)
	days := func(n int, tod string) Deadline { return Deadline{DaysAfterPosting: ptr(n), TimeOfDay: tod} }
	tests := []struct {
		name             string
		target           Target
		deadline         Deadline
		platform, device string
		catalog          *Catalog
		wantVersion      string
		wantBuild        string
		wantDeadline     string
		wantCode         Code
		wantErr          error
	}{
		{"latest 14 days after posting", Target{Kind: TargetLatest}, days(14, "17:00"), "macOS", "J314sAP", c,
			"26.2", "", "2026-12-01T17:00:00", "", nil},
		{"time of day defaults to 17:00", Target{Kind: TargetLatest}, days(14, ""), "macOS", "J700AP", c,
			"26.2", "", "2026-12-01T17:00:00", "", nil},
		{"latest per model: intel mac", Target{Kind: TargetLatest}, days(7, "09:30"), "macOS", "Mac-AA95B1DDAB278B95", c,
			"15.7.3", "", "2026-11-17T09:30:00", "", nil},
		{"latest within major 14", Target{Kind: TargetLatestMajor, Major: 14}, days(0, "08:00"), "macOS", "J314sAP", c,
			"14.8.3", "", "2026-11-17T08:00:00", "", nil},
		{"latest iPhone 18 fork", Target{Kind: TargetLatest}, days(3, "12:00"), "iOS", "iPhone18,1", c,
			"26.2", "", "2026-11-20T12:00:00", "", nil},
		{"version with fixed deadline", Target{Kind: TargetVersion, OSVersion: "26.2"},
			Deadline{LocalDateTime: "2026-12-15T18:00:00"}, "iOS", "iPhone15,2", c,
			"26.2", "", "2026-12-15T18:00:00", "", nil},
		{"version with build", Target{Kind: TargetVersion, OSVersion: "26.2", BuildVersion: "25C8058"}, days(1, "17:00"),
			"macOS", "J700AP", c, "26.2", "25C8058", "2026-11-18T17:00:00", "", nil},
		{"build of another model", Target{Kind: TargetVersion, OSVersion: "26.2", BuildVersion: "25C8058"}, days(1, "17:00"),
			"macOS", "J314sAP", c, "26.2", "25C8058", "", CodeNoReleaseForModel, nil},
		{"version the model never got", Target{Kind: TargetVersion, OSVersion: "26.2"}, days(1, "17:00"),
			"macOS", "Mac-AA95B1DDAB278B95", c, "26.2", "", "", CodeNoReleaseForModel, nil},
		{"expired version", Target{Kind: TargetVersion, OSVersion: "26.0.1"}, Deadline{LocalDateTime: "2026-12-01T17:00:00"},
			"macOS", "J314sAP", c, "26.0.1", "", "", CodeReleaseExpired, nil},
		{"version newer than our catalog, fixed deadline", Target{Kind: TargetVersion, OSVersion: "26.3"},
			Deadline{LocalDateTime: "2026-12-20T17:00:00"}, "macOS", "J314sAP", c, "26.3", "", "2026-12-20T17:00:00", "", nil},
		{"version newer than our catalog, days after posting", Target{Kind: TargetVersion, OSVersion: "26.3"}, days(3, ""),
			"macOS", "J314sAP", c, "26.3", "", "", CodeNoReleaseForModel, nil},
		{"version without catalog", Target{Kind: TargetVersion, OSVersion: "26.2"}, Deadline{LocalDateTime: "2026-12-20T17:00:00"},
			"macOS", "J314sAP", nil, "26.2", "", "2026-12-20T17:00:00", "", nil},
		{"days after posting without catalog", Target{Kind: TargetVersion, OSVersion: "26.2"}, days(3, ""),
			"macOS", "J314sAP", nil, "", "", "", "", ErrNoCatalog},
		{"latest without catalog", Target{Kind: TargetLatest}, days(3, ""), "macOS", "J314sAP", nil,
			"", "", "", "", ErrNoCatalog},
		{"latest without device id", Target{Kind: TargetLatest}, days(3, ""), "macOS", "", c,
			"", "", "", CodeDeviceIDUnknown, nil},
		{"latest for a model Apple does not list", Target{Kind: TargetLatest}, days(3, ""), "macOS", "J999AP", c,
			"", "", "", CodeNoReleaseForModel, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{ID: "p", Target: tt.target, Deadline: tt.deadline}
			rt, code, err := ResolveTarget(p, tt.catalog, tt.platform, tt.device, fixtureNow)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if code != tt.wantCode {
				t.Errorf("code = %q, want %q", code, tt.wantCode)
			}
			if rt.OSVersion != tt.wantVersion || rt.BuildVersion != tt.wantBuild || rt.LocalDeadline != tt.wantDeadline {
				t.Errorf("got %s/%s by %q, want %s/%s by %q", rt.OSVersion, rt.BuildVersion, rt.LocalDeadline,
					tt.wantVersion, tt.wantBuild, tt.wantDeadline)
			}
		})
	}
}

func TestResolveTargetMalformed(t *testing.T) {
	c := fixtureCatalog(t)
	for name, p := range map[string]Policy{
		"unknown kind":       {Target: Target{Kind: "newest"}, Deadline: Deadline{LocalDateTime: "2026-12-01T17:00:00"}},
		"bad version":        {Target: Target{Kind: TargetVersion, OSVersion: "26.x"}, Deadline: Deadline{LocalDateTime: "2026-12-01T17:00:00"}},
		"major missing":      {Target: Target{Kind: TargetLatestMajor}, Deadline: Deadline{LocalDateTime: "2026-12-01T17:00:00"}},
		"no deadline":        {Target: Target{Kind: TargetLatest}},
		"bad local time":     {Target: Target{Kind: TargetLatest}, Deadline: Deadline{LocalDateTime: "2026-12-01 17:00"}},
		"bad time of day":    {Target: Target{Kind: TargetLatest}, Deadline: Deadline{DaysAfterPosting: ptr(3), TimeOfDay: "5pm"}},
		"time of day 24:00:": {Target: Target{Kind: TargetLatest}, Deadline: Deadline{DaysAfterPosting: ptr(3), TimeOfDay: "24:00"}},
	} {
		if _, _, err := ResolveTarget(p, c, "macOS", "J314sAP", fixtureNow); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Deadlines are wall-clock: adding days across a daylight-saving change,
// or evaluating from a zone with DST, never shifts the hour.
func TestDaysAfterPostingIgnoresDST(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	c := fixtureCatalog(t)
	// 26.1 was posted 2026-10-20; US DST ends 2026-11-01, EU DST 2026-10-25.
	p := Policy{Target: Target{Kind: TargetVersion, OSVersion: "26.1"}, Deadline: Deadline{DaysAfterPosting: ptr(14), TimeOfDay: "17:00"}}
	for _, at := range []time.Time{day("2026-10-21"), day("2026-10-21").In(newYork), time.Date(2026, 10, 21, 23, 30, 0, 0, newYork)} {
		rt, code, err := ResolveTarget(p, c, "macOS", "J314sAP", at)
		if err != nil || code != "" || rt.LocalDeadline != "2026-11-03T17:00:00" {
			t.Errorf("at %v: %q %q %v, want 2026-11-03T17:00:00", at, rt.LocalDeadline, code, err)
		}
	}
	// Spring forward: 2026-03-08 in the US.
	got, err := daysAfterPosting(day("2026-03-01"), 14, "09:30")
	if err != nil || got != "2026-03-15T09:30:00" {
		t.Errorf("spring: %q %v", got, err)
	}
	// The same wall-clock deadline is a different instant before and after
	// the change in the device's zone, and never a different wall time.
	wall, _ := parseLocalDateTime("2026-11-03T17:00:00")
	if got := deadlineInstant(wall, newYork, true).UTC().Hour(); got != 22 {
		t.Errorf("17:00 EST = %d:00 UTC, want 22", got)
	}
	wall, _ = parseLocalDateTime("2026-10-30T17:00:00")
	if got := deadlineInstant(wall, newYork, true).UTC().Hour(); got != 21 {
		t.Errorf("17:00 EDT = %d:00 UTC, want 21", got)
	}
}

// Without the device's zone, "passed" waits until it has passed in UTC-12.
func TestDeadlinePassedWithoutZone(t *testing.T) {
	deadline := "2026-11-21T17:00:00"
	if deadlinePassed(deadline, nil, time.Date(2026, 11, 22, 4, 59, 0, 0, time.UTC)) {
		t.Error("passed before it passed in UTC-12")
	}
	if !deadlinePassed(deadline, nil, time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)) {
		t.Error("not passed after UTC-12's 17:00")
	}
	if !deadlinePassed(deadline, time.UTC, time.Date(2026, 11, 21, 17, 0, 0, 0, time.UTC)) {
		t.Error("not passed at 17:00 in a device in UTC")
	}
}

func TestResolveTargetSpansForkedBuilds(t *testing.T) {
	c := fixtureCatalog(t)
	rt, _, _ := ResolveTarget(latestPolicy(), c, "iOS", "iPhone15,2", fixtureNow)
	if rt.BuildVersion != "" {
		t.Errorf("build %q set although 23C55 and 23C6055 both fit the model", rt.BuildVersion)
	}
	if rt.Posted != day("2026-11-17") || rt.Expires != day("2027-02-19") {
		t.Errorf("posted %v expires %v", rt.Posted, rt.Expires)
	}
}
