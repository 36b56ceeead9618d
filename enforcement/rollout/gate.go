package rollout

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// Gate is a policy as it applies to one device under rollout control.
type Gate struct {
	// Policy is the policy with the device's own deadline: its ring's
	// offset and the maintenance windows' time of day applied. Plan and
	// Evaluate take it in place of the stored policy.
	Policy enforcement.Policy
	// Ring is the index of the device's ring (-1 without rings or out of
	// scope) and RingName its name.
	Ring     int
	RingName string
	// Hold is waiting_for_ring while the device's ring has not started:
	// nothing is delivered to the device.
	Hold enforcement.Reason
}

// Controlled reports whether a policy uses any rollout control, so
// callers can skip the work for the others.
func Controlled(p *enforcement.Policy) bool {
	return len(p.Rings) > 0 || len(p.MaintenanceWindows) > 0 || p.AutoPause != nil
}

// Apply works out the device's ring, deadline and hold. st may be nil (a
// rollout not started yet: only the first ring runs). When the deadline
// cannot be worked out (no catalog, no release for the model) the
// policy's own is kept; Plan and Evaluate then report why.
func Apply(p enforcement.Policy, f *enforcement.DeviceFacts, cat *enforcement.Catalog, st *State, now time.Time) Gate {
	g := Gate{Policy: p, Ring: -1}
	if len(p.Rings) == 0 && len(p.MaintenanceWindows) == 0 {
		return g
	}
	if len(p.Rings) > 0 && f.Enrolled && p.Scope.InScope(f) {
		g.Ring = RingIndex(&p, f)
		g.RingName = p.Rings[g.Ring].Name
	}
	base, posted, ok := baseDeadline(&p, f, cat, now)
	if ok {
		if wall := DeviceDeadline(&p, g.Ring, base); !wall.Equal(base) {
			g.Policy.Deadline = deadlineAt(p.Deadline, wall, posted)
		}
	}
	if g.Ring > 0 && !st.ringStarted(&p, g.Ring) {
		prev := p.Rings[g.Ring-1]
		prevDeadline := "unknown"
		if ok {
			prevDeadline = DeviceDeadline(&p, g.Ring-1, base).Format(enforcement.LocalDateTimeLayout)
		}
		g.Hold = enforcement.NewReason(enforcement.CodeWaitingForRing, "ring", g.RingName, "previous", prev.Name,
			"success", formatPercent(prev.SuccessThreshold()), "previous_deadline", prevDeadline)
	}
	return g
}

// DeviceDeadline is the wall-clock deadline of ring (-1: none) given the
// policy's base deadline: the ring's offset, then the windows' time of day.
func DeviceDeadline(p *enforcement.Policy, ring int, base time.Time) time.Time {
	wall := base
	if ring >= 0 && ring < len(p.Rings) {
		wall = p.Rings[ring].ShiftDeadline(wall)
	}
	if len(p.MaintenanceWindows) > 0 {
		wall = AlignDeadline(wall, p.MaintenanceWindows)
	}
	return wall
}

// baseDeadline is the policy's deadline for this device before rollout
// control, and Apple's posting date when it counts from one.
func baseDeadline(p *enforcement.Policy, f *enforcement.DeviceFacts, cat *enforcement.Catalog, now time.Time) (time.Time, time.Time, bool) {
	if p.Deadline.LocalDateTime != "" {
		wall, err := enforcement.ParseLocalDateTime(p.Deadline.LocalDateTime)
		return wall, time.Time{}, err == nil
	}
	rt, code, err := enforcement.ResolveTarget(*p, cat, f.Platform, enforcement.CatalogDeviceID(f), now)
	if err != nil || code != "" || rt.LocalDeadline == "" || rt.Posted.IsZero() {
		return time.Time{}, time.Time{}, false
	}
	wall, err := enforcement.ParseLocalDateTime(rt.LocalDeadline)
	return wall, rt.Posted, err == nil
}

// deadlineAt expresses wall in the policy's own form: a deadline counted
// from Apple's posting date stays counted from it (the worker pins such a
// deadline once delivered, which a fixed date would defeat).
func deadlineAt(d enforcement.Deadline, wall, posted time.Time) enforcement.Deadline {
	if d.DaysAfterPosting == nil {
		return enforcement.Deadline{LocalDateTime: wall.Format(enforcement.LocalDateTimeLayout)}
	}
	from := time.Date(posted.Year(), posted.Month(), posted.Day(), 0, 0, 0, 0, time.UTC)
	to := time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC)
	days := int(to.Sub(from) / (24 * time.Hour))
	return enforcement.Deadline{DaysAfterPosting: &days, TimeOfDay: wall.Format("15:04")}
}

// WindowHold is waiting_for_maintenance_window when a legacy install may
// not start now, zero inside an opening with MaxRunTime to spare (or
// without windows). The device's zone is used when known, UTC otherwise.
// Details carry next_start (RFC 3339) for the legacy driver.
func WindowHold(p *enforcement.Policy, loc *time.Location, now time.Time) enforcement.Reason {
	if len(p.MaintenanceWindows) == 0 {
		return enforcement.Reason{}
	}
	maxRun, err := p.MaxRun()
	if err != nil {
		maxRun = enforcement.DefaultMaxRunTime
	}
	if loc == nil {
		loc = time.UTC
	}
	fit := FitWindow(p.MaintenanceWindows, loc, now, maxRun)
	switch {
	case fit.Inside:
		return enforcement.Reason{}
	case fit.Next.IsZero():
		return enforcement.NewReason(enforcement.CodeWaitingForMaintenanceWindow,
			"window", "none of the windows fits the maximum run time "+maxRun.String()+" in the next 8 days",
			"max_run_time", maxRun.String())
	}
	desc := fmt.Sprintf("%s, opens %s", fit.Window, fit.Next.In(loc).Format("2006-01-02 15:04 MST"))
	return enforcement.NewReason(enforcement.CodeWaitingForMaintenanceWindow, "window", desc,
		"window_name", fit.Window, "next_start", fit.Next.UTC().Format(time.RFC3339), "max_run_time", maxRun.String())
}

func formatPercent(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + " %"
}
