package enforcement

import (
	"fmt"
	"strings"
	"time"
)

// Ring is one stage of a staged rollout. A device belongs to the first
// ring naming one of its groups; devices in no group ring are spread over
// the percentage rings by a stable hash of policy and device id; a ring
// with neither groups nor percent takes the rest and must come last, and
// devices left over by every ring fall into the last ring. A ring starts
// once the previous one has SuccessPercent of its targeted devices
// installed, or the previous ring's deadline has passed.
type Ring struct {
	Name   string   `json:"name" yaml:"name"`
	Groups []string `json:"groups,omitempty" yaml:"groups,omitempty"`
	// Percent of the devices not claimed by a group ring (0 < p <= 100).
	Percent float64 `json:"percent,omitempty" yaml:"percent,omitempty"`
	// DeadlineOffsetDays is added to the policy's deadline for this ring;
	// with SkipWeekends it counts Monday to Friday only, and a deadline
	// that lands on a weekend moves to the Monday.
	DeadlineOffsetDays int  `json:"deadline_offset_days,omitempty" yaml:"deadline_offset_days,omitempty"`
	SkipWeekends       bool `json:"skip_weekends,omitempty" yaml:"skip_weekends,omitempty"`
	// SuccessPercent of this ring's targeted devices installed starts the
	// next ring; DefaultSuccessPercent when zero.
	SuccessPercent float64 `json:"success_percent,omitempty" yaml:"success_percent,omitempty"`
}

// MaintenanceWindow is a named recurring window in the device's local
// time. End at or before Start means the window crosses midnight; Days
// name the day the window starts on (empty: every day).
type MaintenanceWindow struct {
	Name  string   `json:"name" yaml:"name"`
	Days  []string `json:"days,omitempty" yaml:"days,omitempty"`
	Start string   `json:"start" yaml:"start"` // "HH:MM"
	End   string   `json:"end" yaml:"end"`     // "HH:MM"
}

// AutoPause tunes the automatic pause. Zero fields take the defaults.
type AutoPause struct {
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	// FailurePercent of targeted devices failing pauses the policy.
	FailurePercent float64 `json:"failure_percent,omitempty" yaml:"failure_percent,omitempty"`
	// MinDevices: a ring (or policy) with fewer targeted devices never
	// pauses itself; one failure among three devices is not a signal.
	MinDevices int `json:"min_devices,omitempty" yaml:"min_devices,omitempty"`
	// Window: only failures that began this recently count (Go duration).
	Window string `json:"window,omitempty" yaml:"window,omitempty"`
}

// Rollout defaults.
const (
	DefaultSuccessPercent      = 90.0
	DefaultMaxRunTime          = time.Hour
	DefaultAutoPausePercent    = 10.0
	DefaultAutoPauseMinDevices = 20
	DefaultAutoPauseWindow     = 24 * time.Hour
)

// AutoPauseSettings is AutoPause with the defaults applied.
type AutoPauseSettings struct {
	Enabled        bool          `json:"enabled"`
	FailurePercent float64       `json:"failure_percent"`
	MinDevices     int           `json:"min_devices"`
	Window         time.Duration `json:"window"`
}

// AutoPauseSettings resolves the policy's auto-pause: on by default for a
// ringed policy (a staged rollout exists to stop early), off otherwise
// unless asked for.
func (p *Policy) AutoPauseSettings() (AutoPauseSettings, error) {
	s := AutoPauseSettings{Enabled: len(p.Rings) > 0, FailurePercent: DefaultAutoPausePercent,
		MinDevices: DefaultAutoPauseMinDevices, Window: DefaultAutoPauseWindow}
	a := p.AutoPause
	if a == nil {
		return s, nil
	}
	s.Enabled = !a.Disabled
	if a.FailurePercent != 0 {
		s.FailurePercent = a.FailurePercent
	}
	if a.MinDevices != 0 {
		s.MinDevices = a.MinDevices
	}
	if a.Window != "" {
		d, err := time.ParseDuration(a.Window)
		if err != nil {
			return s, fmt.Errorf("auto_pause window %q: want a duration such as 24h", a.Window)
		}
		s.Window = d
	}
	return s, nil
}

// MaxRun is the policy's maximum install run time.
func (p *Policy) MaxRun() (time.Duration, error) {
	if p.MaxRunTime == "" {
		return DefaultMaxRunTime, nil
	}
	d, err := time.ParseDuration(p.MaxRunTime)
	if err != nil {
		return 0, fmt.Errorf("max_run_time %q: want a duration such as 2h or 90m", p.MaxRunTime)
	}
	return d, nil
}

// SuccessThreshold is the ring's success percentage with the default.
func (r Ring) SuccessThreshold() float64 {
	if r.SuccessPercent <= 0 {
		return DefaultSuccessPercent
	}
	return r.SuccessPercent
}

// ShiftDeadline moves a wall-clock deadline (a zone-less value, see
// LocalDateTimeLayout) by the ring's offset. Calendar arithmetic on the
// wall clock never meets a daylight-saving change.
func (r Ring) ShiftDeadline(wall time.Time) time.Time {
	if !r.SkipWeekends {
		return wall.AddDate(0, 0, r.DeadlineOffsetDays)
	}
	d := wall
	for n := r.DeadlineOffsetDays; n > 0; {
		d = d.AddDate(0, 0, 1)
		if !isWeekend(d) {
			n--
		}
	}
	for isWeekend(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func isWeekend(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }

// Clock returns the window's start and end as minutes after midnight.
func (w MaintenanceWindow) Clock() (start, end int, err error) {
	sh, sm, err := parseClock(w.Start)
	if err != nil {
		return 0, 0, fmt.Errorf("start: %w", err)
	}
	eh, em, err := parseClock(w.End)
	if err != nil {
		return 0, 0, fmt.Errorf("end: %w", err)
	}
	return sh*60 + sm, eh*60 + em, nil
}

// Length is the window's wall-clock length; an end at or before the start
// crosses midnight. On a daylight-saving change day the real length
// differs by the shift.
func (w MaintenanceWindow) Length() (time.Duration, error) {
	start, end, err := w.Clock()
	if err != nil {
		return 0, err
	}
	if end <= start {
		end += 24 * 60
	}
	return time.Duration(end-start) * time.Minute, nil
}

// Weekdays says on which days the window starts (all when Days is empty).
func (w MaintenanceWindow) Weekdays() ([7]bool, error) {
	var out [7]bool
	if len(w.Days) == 0 {
		return [7]bool{true, true, true, true, true, true, true}, nil
	}
	for _, name := range w.Days {
		days, ok := dayNames[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return out, fmt.Errorf("day %q: use mon, tue, wed, thu, fri, sat, sun, weekdays or weekend", name)
		}
		for _, d := range days {
			out[d] = true
		}
	}
	return out, nil
}

var dayNames = func() map[string][]time.Weekday {
	m := map[string][]time.Weekday{
		"weekdays": {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		"weekend":  {time.Saturday, time.Sunday},
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		full := strings.ToLower(d.String())
		m[full], m[full[:3]] = []time.Weekday{d}, []time.Weekday{d}
	}
	return m
}()

// parseClock reads "HH:MM" (24 h) strictly.
func parseClock(s string) (int, int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("time %q: want HH:MM (24-hour)", s)
	}
	return t.Hour(), t.Minute(), nil
}

// ParseLocalDateTime reads a zone-less deadline ("2026-11-28T17:00:00");
// the result carries the wall-clock fields in UTC and is not an instant.
func ParseLocalDateTime(s string) (time.Time, error) { return parseLocalDateTime(s) }

// DeadlineOver reports whether a device-local deadline has surely passed:
// in loc when known, otherwise once it has passed everywhere on Earth.
func DeadlineOver(local string, loc *time.Location, now time.Time) bool {
	return deadlinePassed(local, loc, now)
}

// CatalogDeviceID is the id a device is looked up by in Apple's catalog.
func CatalogDeviceID(f *DeviceFacts) string { return f.softwareUpdateDeviceID() }
