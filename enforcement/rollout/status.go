package rollout

import (
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// RingStatus is one ring's line in a status report.
type RingStatus struct {
	Name               string   `json:"name"`
	Groups             []string `json:"groups,omitempty"`
	Percent            float64  `json:"percent,omitempty"`
	DeadlineOffsetDays int      `json:"deadline_offset_days"`
	SkipWeekends       bool     `json:"skip_weekends,omitempty"`
	// Started, with when and why; a ring not started delivers nothing.
	Started     bool       `json:"started"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	StartReason string     `json:"start_reason,omitempty"`
	// Targeted devices of the ring, those installed (or newer), failing.
	Targeted         int     `json:"targeted"`
	Installed        int     `json:"installed"`
	Failing          int     `json:"failing"`
	InstalledPercent float64 `json:"installed_percent"`
	// SuccessPercent is the share installed that starts the next ring.
	SuccessPercent float64 `json:"success_percent"`
	// Deadline is the latest device-local deadline in the ring.
	Deadline string `json:"deadline,omitempty"`
}

// RingStatuses reports every ring of p in order. The first ring counts as
// started once the policy runs, even before a pass recorded it.
func RingStatuses(p *enforcement.Policy, st *State, t *Tally) []RingStatus {
	out := make([]RingStatus, 0, len(p.Rings))
	for i, r := range p.Rings {
		c := t.Ring(r.Name)
		rs := RingStatus{Name: r.Name, Groups: r.Groups, Percent: r.Percent, DeadlineOffsetDays: r.DeadlineOffsetDays,
			SkipWeekends: r.SkipWeekends, Targeted: c.Targeted, Installed: c.Succeeded, Failing: len(c.Failing),
			InstalledPercent: percent(c.Succeeded, c.Targeted), SuccessPercent: r.SuccessThreshold(), Deadline: c.LatestDeadline}
		if at, ok := st.Started(r.Name); ok {
			rs.Started, rs.StartedAt = true, &at
			for _, s := range st.Rings {
				if s.Name == r.Name {
					rs.StartReason = s.Because
				}
			}
		} else if i == 0 && !p.Paused {
			rs.Started = true
		}
		out = append(out, rs)
	}
	return out
}
