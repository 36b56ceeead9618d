package enforcement

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Bounds on rollout settings: enough for any real staging, small enough
// that a typo cannot produce a year-long or thousand-stage rollout.
const (
	maxRings          = 10
	maxRingOffsetDays = 365
	maxWindows        = 20
	maxRunTimeLimit   = 24 * time.Hour
)

var ringNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// lastRingDeadline is the latest ring's deadline (the policy's own without
// rings): a ringed policy is still live until its last ring's deadline.
func (p *Policy) lastRingDeadline(wall time.Time) time.Time {
	last := wall
	for _, r := range p.Rings {
		if d := r.ShiftDeadline(wall); d.After(last) {
			last = d
		}
	}
	return last
}

func (v *validator) checkRollout() {
	v.checkRings()
	maxRun, err := v.p.MaxRun()
	switch {
	case err != nil:
		v.problem("%v", err)
	case maxRun <= 0 || maxRun > maxRunTimeLimit:
		v.problem("max_run_time %s must be more than 0 and at most %s", maxRun, maxRunTimeLimit)
	default:
		v.checkWindows(maxRun)
	}
	if _, err := v.p.AutoPauseSettings(); err != nil {
		v.problem("%v", err)
	}
	if a := v.p.AutoPause; a != nil {
		if a.FailurePercent < 0 || a.FailurePercent > 100 {
			v.problem("auto_pause failure_percent %g must be between 0 and 100", a.FailurePercent)
		}
		if a.MinDevices < 0 {
			v.problem("auto_pause min_devices %d must not be negative", a.MinDevices)
		}
		if s, err := v.p.AutoPauseSettings(); err == nil && s.Window < time.Minute {
			v.problem("auto_pause window %s must be at least 1m", s.Window)
		}
	}
}

func (v *validator) checkRings() {
	rings := v.p.Rings
	if len(rings) > maxRings {
		v.problem("%d rings: at most %d", len(rings), maxRings)
	}
	seen := map[string]bool{}
	total, prevOffset := 0.0, 0
	for i, r := range rings {
		label := fmt.Sprintf("ring %d (%q)", i+1, r.Name)
		if !ringNamePattern.MatchString(r.Name) {
			v.problem("%s: name must be 1-32 letters, digits, '.', '_' or '-'", label)
		}
		if seen[r.Name] {
			v.problem("%s: name used twice", label)
		}
		seen[r.Name] = true
		switch {
		case len(r.Groups) > 0 && r.Percent != 0:
			v.problem("%s: set groups or percent, not both", label)
		case r.Percent < 0 || r.Percent > 100:
			v.problem("%s: percent %g must be more than 0 and at most 100", label, r.Percent)
		case len(r.Groups) == 0 && r.Percent == 0 && i != len(rings)-1:
			v.problem("%s: a ring without groups or percent takes the rest, so it must be the last", label)
		}
		total += r.Percent
		if r.DeadlineOffsetDays < 0 || r.DeadlineOffsetDays > maxRingOffsetDays {
			v.problem("%s: deadline_offset_days %d must be between 0 and %d", label, r.DeadlineOffsetDays, maxRingOffsetDays)
		} else if r.DeadlineOffsetDays < prevOffset {
			v.problem("%s: deadline_offset_days %d is earlier than the previous ring's %d", label, r.DeadlineOffsetDays, prevOffset)
		}
		prevOffset = max(prevOffset, r.DeadlineOffsetDays)
		if r.SuccessPercent < 0 || r.SuccessPercent > 100 {
			v.problem("%s: success_percent %g must be between 0 and 100", label, r.SuccessPercent)
		}
	}
	if total > 100 {
		v.problem("ring percentages add up to %g, more than 100", total)
	}
}

// checkWindows refuses a window the install cannot fit in, with the
// numbers, so the admin sees what to widen.
func (v *validator) checkWindows(maxRun time.Duration) {
	windows := v.p.MaintenanceWindows
	if len(windows) > maxWindows {
		v.problem("%d maintenance windows: at most %d", len(windows), maxWindows)
	}
	if len(windows) == 0 && v.p.MaxRunTime != "" {
		v.warn("max_run_time has no effect without maintenance_windows")
	}
	seen := map[string]bool{}
	for i, w := range windows {
		label := fmt.Sprintf("maintenance window %d (%q)", i+1, w.Name)
		if w.Name == "" {
			v.problem("maintenance window %d: name is empty", i+1)
		}
		if seen[w.Name] && w.Name != "" {
			v.problem("%s: name used twice", label)
		}
		seen[w.Name] = true
		if _, err := w.Weekdays(); err != nil {
			v.problem("%s: %v", label, err)
		}
		length, err := w.Length()
		switch {
		case err != nil:
			v.problem("%s: %v", label, err)
		case w.Start == w.End:
			v.problem("%s: start and end are both %s; give a window of at least max_run_time", label, w.Start)
		case length < maxRun:
			v.problem("%s is %s long (%s-%s), shorter than max_run_time %s: an install could never start in it",
				label, fmtDuration(length), w.Start, w.End, fmtDuration(maxRun))
		}
	}
}

// fmtDuration prints 2h and 1h30m rather than 2h0m0s and 1h30m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
