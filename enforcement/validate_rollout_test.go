package enforcement

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateRollout(t *testing.T) {
	c := fixtureCatalog(t)
	base := versionPolicy("26.2", "2026-12-15T17:00:00", "macOS")
	rings := []Ring{{Name: "it", Groups: []string{"it"}}, {Name: "pilot", Percent: 20, DeadlineOffsetDays: 3}, {Name: "broad", DeadlineOffsetDays: 7}}
	nights := MaintenanceWindow{Name: "nights", Days: []string{"mon", "Tuesday", "weekend"}, Start: "22:00", End: "02:00"}
	edit := func(change func(*Policy)) Policy {
		p := base
		p.Rings = append([]Ring(nil), rings...)
		change(&p)
		return p
	}
	tests := []struct {
		name     string
		policy   Policy
		wantErr  string
		wantWarn string
	}{
		{"rings and a window", edit(func(p *Policy) { p.MaintenanceWindows = []MaintenanceWindow{nights}; p.MaxRunTime = "4h" }), "", ""},
		{"window shorter than the run time, with the numbers", edit(func(p *Policy) {
			p.MaintenanceWindows = []MaintenanceWindow{nights}
			p.MaxRunTime = "4h30m"
		}), `maintenance window 1 ("nights") is 4h long (22:00-02:00), shorter than max_run_time 4h30m`, ""},
		{"default run time is one hour", edit(func(p *Policy) {
			p.MaintenanceWindows = []MaintenanceWindow{{Name: "lunch", Start: "12:00", End: "12:45"}}
		}), "is 45m long (12:00-12:45), shorter than max_run_time 1h", ""},
		{"empty window", edit(func(p *Policy) { p.MaintenanceWindows = []MaintenanceWindow{{Name: "x", Start: "10:00", End: "10:00"}} }),
			"start and end are both 10:00", ""},
		{"bad day", edit(func(p *Policy) {
			p.MaintenanceWindows = []MaintenanceWindow{{Name: "x", Days: []string{"funday"}, Start: "10:00", End: "12:00"}}
		}),
			`day "funday"`, ""},
		{"bad clock", edit(func(p *Policy) { p.MaintenanceWindows = []MaintenanceWindow{{Name: "x", Start: "9:00", End: "12:00"}} }),
			"start: time \"9:00\"", ""},
		{"bad run time", edit(func(p *Policy) { p.MaxRunTime = "soon" }), "max_run_time \"soon\"", ""},
		{"run time without windows", edit(func(p *Policy) { p.MaxRunTime = "2h" }), "", "no effect without maintenance_windows"},
		{"duplicate ring", edit(func(p *Policy) { p.Rings = append(p.Rings[:2:2], Ring{Name: "it", DeadlineOffsetDays: 9}) }), "name used twice", ""},
		{"groups and percent", edit(func(p *Policy) { p.Rings[0].Percent = 5 }), "set groups or percent, not both", ""},
		{"catch-all not last", edit(func(p *Policy) { p.Rings[1].Percent = 0 }), "must be the last", ""},
		{"percentages over 100", edit(func(p *Policy) {
			p.Rings = []Ring{{Name: "a", Percent: 60}, {Name: "b", Percent: 50}}
		}), "add up to 110", ""},
		{"offsets going backwards", edit(func(p *Policy) { p.Rings[2].DeadlineOffsetDays = 1 }), "earlier than the previous ring's 3", ""},
		{"success percent out of range", edit(func(p *Policy) { p.Rings[0].SuccessPercent = 120 }), "success_percent 120", ""},
		{"bad ring name", edit(func(p *Policy) { p.Rings[0].Name = "" }), "name must be", ""},
		{"auto-pause bounds", edit(func(p *Policy) { p.AutoPause = &AutoPause{FailurePercent: 150, MinDevices: -1} }),
			"failure_percent 150", ""},
		{"auto-pause window", edit(func(p *Policy) { p.AutoPause = &AutoPause{Window: "1s"} }), "at least 1m", ""},
		{"base deadline passed but the last ring's has not", edit(func(p *Policy) {
			p.Deadline.LocalDateTime = "2026-11-18T17:00:00"
		}), "", ""},
		{"last ring's deadline passed", edit(func(p *Policy) { p.Deadline.LocalDateTime = "2026-11-10T17:00:00" }),
			"deadline 2026-11-17T17:00:00 has already passed everywhere", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warnings, err := tt.policy.Validate(c, nil, fixtureNow, false)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "":
				var ve *ValidationError
				if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
			}
			if tt.wantWarn != "" && !strings.Contains(strings.Join(warnings, "\n"), tt.wantWarn) {
				t.Errorf("warnings %q, want %q", warnings, tt.wantWarn)
			}
		})
	}
}

func TestRingShiftDeadline(t *testing.T) {
	tue, _ := parseLocalDateTime("2026-12-01T17:00:00")
	sat, _ := parseLocalDateTime("2026-11-28T17:00:00")
	tests := []struct {
		ring Ring
		from time.Time
		want string
	}{
		{Ring{}, tue, "2026-12-01T17:00:00"},
		{Ring{DeadlineOffsetDays: 7}, tue, "2026-12-08T17:00:00"},
		{Ring{DeadlineOffsetDays: 3, SkipWeekends: true}, tue, "2026-12-04T17:00:00"},
		{Ring{DeadlineOffsetDays: 4, SkipWeekends: true}, tue, "2026-12-07T17:00:00"},
		{Ring{DeadlineOffsetDays: 0, SkipWeekends: true}, sat, "2026-11-30T17:00:00"},
		{Ring{DeadlineOffsetDays: 1, SkipWeekends: true}, sat, "2026-11-30T17:00:00"},
		{Ring{DeadlineOffsetDays: 2, SkipWeekends: true}, sat, "2026-12-01T17:00:00"},
	}
	for _, tt := range tests {
		if got := tt.ring.ShiftDeadline(tt.from).Format(LocalDateTimeLayout); got != tt.want {
			t.Errorf("%+v from %s: got %s, want %s", tt.ring, tt.from.Format(LocalDateTimeLayout), got, tt.want)
		}
	}
}

func TestAutoPauseSettings(t *testing.T) {
	p := versionPolicy("26.2", "2026-12-15T17:00:00")
	if s, _ := p.AutoPauseSettings(); s.Enabled {
		t.Error("an unringed policy without auto_pause must not pause itself")
	}
	p.Rings = []Ring{{Name: "all"}}
	s, err := p.AutoPauseSettings()
	if err != nil || !s.Enabled || s.FailurePercent != 10 || s.MinDevices != 20 || s.Window != 24*time.Hour {
		t.Errorf("ringed defaults %+v %v", s, err)
	}
	p.AutoPause = &AutoPause{Disabled: true}
	if s, _ := p.AutoPauseSettings(); s.Enabled {
		t.Error("disabled")
	}
}
