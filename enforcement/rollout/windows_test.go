package rollout

import (
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func win(name, start, end string, days ...string) enforcement.MaintenanceWindow {
	return enforcement.MaintenanceWindow{Name: name, Start: start, End: end, Days: days}
}

func TestFitWindow(t *testing.T) {
	paris, newYork := zone(t, "Europe/Paris"), zone(t, "America/New_York")
	nights := []enforcement.MaintenanceWindow{win("nights", "22:00", "02:00", "fri")}
	early := []enforcement.MaintenanceWindow{win("early", "01:00", "04:00")}
	tests := []struct {
		name    string
		windows []enforcement.MaintenanceWindow
		loc     *time.Location
		now     string
		maxRun  time.Duration
		inside  bool
		next    string // RFC 3339 UTC; "" = none expected
	}{
		{"inside with time to spare", early, nil, "2026-11-24T01:30:00Z", 2 * time.Hour, true, ""},
		{"inside, ends exactly at the window's end", early, nil, "2026-11-24T02:00:00Z", 2 * time.Hour, true, ""},
		{"inside but too little left: next day", early, nil, "2026-11-24T02:30:00Z", 2 * time.Hour, false, "2026-11-25T01:00:00Z"},
		{"before today's opening", early, nil, "2026-11-24T00:10:00Z", time.Hour, false, "2026-11-24T01:00:00Z"},
		{"zone unknown means UTC", early, nil, "2026-11-24T12:00:00Z", time.Hour, false, "2026-11-25T01:00:00Z"},
		{"device-local time", early, paris, "2026-11-24T00:30:00Z", time.Hour, true, ""}, // 01:30 in Paris
		{"device-local next opening", early, paris, "2026-11-24T03:30:00Z", time.Hour, false, "2026-11-25T00:00:00Z"},
		// Friday 22:00 to Saturday 02:00.
		{"crossing midnight, after midnight", nights, nil, "2026-11-28T00:30:00Z", time.Hour, true, ""},
		{"crossing midnight, before midnight", nights, nil, "2026-11-27T23:00:00Z", 3 * time.Hour, true, ""},
		{"crossing midnight, too late", nights, nil, "2026-11-28T01:30:00Z", time.Hour, false, "2026-12-04T22:00:00Z"},
		{"only on its days", nights, nil, "2026-11-24T22:30:00Z", time.Hour, false, "2026-11-27T22:00:00Z"},
		// Paris springs forward on 2026-03-29 at 02:00: 01:00-04:00 is 2 h long that night.
		{"DST spring: shortened window still fits 2h", early, paris, "2026-03-29T00:00:00Z", 2 * time.Hour, true, ""},
		{"DST spring: 2h30 does not fit, next night", early, paris, "2026-03-28T23:30:00Z", 150 * time.Minute, false, "2026-03-29T23:00:00Z"},
		// Paris falls back on 2026-10-25 at 03:00: 01:00-04:00 is 4 h long that night.
		{"DST autumn: lengthened window fits 3h30", early, paris, "2026-10-24T23:00:00Z", 210 * time.Minute, true, ""},
		{"DST autumn: 3h30 fits only that night", early, paris, "2026-10-25T03:30:00Z", 210 * time.Minute, false, ""},
		// New York springs forward on 2026-03-08: Saturday 23:00-03:00 is 3 h long.
		{"DST across midnight: 3h fits", []enforcement.MaintenanceWindow{win("sat", "23:00", "03:00", "sat")}, newYork,
			"2026-03-08T04:00:00Z", 3 * time.Hour, true, ""},
		{"DST across midnight: 3h30 waits a week", []enforcement.MaintenanceWindow{win("sat", "23:00", "03:00", "sat")}, newYork,
			"2026-03-08T04:00:00Z", 210 * time.Minute, false, "2026-03-15T03:00:00Z"},
		{"two windows: the next one that fits", []enforcement.MaintenanceWindow{win("short", "12:00", "12:30"), win("long", "20:00", "23:00")},
			nil, "2026-11-24T10:00:00Z", time.Hour, false, "2026-11-24T20:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit := FitWindow(tt.windows, tt.loc, utc(tt.now), tt.maxRun)
			if fit.Inside != tt.inside {
				t.Fatalf("inside = %v, want %v (%+v)", fit.Inside, tt.inside, fit)
			}
			got := ""
			if !fit.Next.IsZero() {
				got = fit.Next.UTC().Format(time.RFC3339)
			}
			if got != tt.next {
				t.Errorf("next = %q, want %q", got, tt.next)
			}
		})
	}
}

func TestAlignDeadline(t *testing.T) {
	wall := func(s string) time.Time {
		w, err := enforcement.ParseLocalDateTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	tests := []struct {
		name    string
		windows []enforcement.MaintenanceWindow
		in, out string
	}{
		{"no windows", nil, "2026-12-01T17:00:00", "2026-12-01T17:00:00"},
		{"same day, window's time", []enforcement.MaintenanceWindow{win("n", "22:00", "02:00")}, "2026-12-01T17:00:00", "2026-12-01T22:00:00"},
		{"earlier time of day on the same date", []enforcement.MaintenanceWindow{win("e", "02:00", "05:00")}, "2026-12-01T17:00:00", "2026-12-01T02:00:00"},
		{"next day with a window", []enforcement.MaintenanceWindow{win("sat", "09:00", "12:00", "sat")}, "2026-12-01T17:00:00", "2026-12-05T09:00:00"},
		{"earliest of two", []enforcement.MaintenanceWindow{win("b", "20:00", "23:00"), win("a", "06:00", "08:00", "tue")},
			"2026-12-01T17:00:00", "2026-12-01T06:00:00"},
		{"weekdays shorthand skips the weekend", []enforcement.MaintenanceWindow{win("w", "19:00", "23:00", "weekdays")},
			"2026-11-28T17:00:00", "2026-11-30T19:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AlignDeadline(wall(tt.in), tt.windows).Format(enforcement.LocalDateTimeLayout)
			if got != tt.out {
				t.Errorf("got %s, want %s", got, tt.out)
			}
		})
	}
}

func TestOpeningsKeepWallClockOnDSTDay(t *testing.T) {
	paris := zone(t, "Europe/Paris")
	open := Openings([]enforcement.MaintenanceWindow{win("early", "01:00", "04:00")}, paris,
		utc("2026-03-28T12:00:00Z"), utc("2026-03-29T12:00:00Z"))
	if len(open) != 1 {
		t.Fatalf("%d openings: %+v", len(open), open)
	}
	o := open[0]
	if s, e := o.Start.In(paris).Format("15:04"), o.End.In(paris).Format("15:04"); s != "01:00" || e != "04:00" {
		t.Errorf("wall clock %s-%s, want 01:00-04:00", s, e)
	}
	if d := o.End.Sub(o.Start); d != 2*time.Hour {
		t.Errorf("real length %s, want 2h (an hour is skipped)", d)
	}
}
