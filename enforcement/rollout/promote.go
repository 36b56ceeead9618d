package rollout

import (
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// Promotion is a ring that started.
type Promotion struct {
	Ring    string
	Index   int
	Because string
}

// Advance starts rings after a full pass counted in t: the first as soon
// as the policy runs, each next one once the previous ring has its
// success threshold of targeted devices installed, or the latest deadline
// among its devices has passed everywhere. A ring without targeted devices
// counts as done, so empty rings are passed over at once. Nothing starts
// while the policy is paused, and a started ring stays started. The
// starts are recorded in st; the promotions are returned in order.
func Advance(p *enforcement.Policy, st *State, t *Tally, now time.Time) []Promotion {
	if p.Paused || len(p.Rings) == 0 {
		return nil
	}
	var out []Promotion
	for i, r := range p.Rings {
		if _, ok := st.Started(r.Name); ok {
			continue
		}
		because := "first ring"
		if i > 0 {
			if _, ok := st.Started(p.Rings[i-1].Name); !ok {
				break
			}
			because = promotionReason(p.Rings[i-1], t.Ring(p.Rings[i-1].Name), now)
			if because == "" {
				break
			}
		}
		st.Rings = append(st.Rings, RingStart{Name: r.Name, StartedAt: now, Because: because})
		out = append(out, Promotion{Ring: r.Name, Index: i, Because: because})
	}
	return out
}

// promotionReason says why the ring after prev may start, "" if it may not.
func promotionReason(prev enforcement.Ring, c *RingTally, now time.Time) string {
	threshold := prev.SuccessThreshold()
	switch {
	case c.Targeted == 0:
		return fmt.Sprintf("ring %s has no devices to update", prev.Name)
	case float64(c.Succeeded)*100 >= threshold*float64(c.Targeted):
		return fmt.Sprintf("ring %s has %d of %d devices installed (%.1f %%, threshold %s)",
			prev.Name, c.Succeeded, c.Targeted, percent(c.Succeeded, c.Targeted), formatPercent(threshold))
	case c.LatestDeadline != "" && enforcement.DeadlineOver(c.LatestDeadline, nil, now):
		return fmt.Sprintf("ring %s's deadline %s has passed (%d of %d devices installed)",
			prev.Name, c.LatestDeadline, c.Succeeded, c.Targeted)
	}
	return ""
}

// percent is n of total with one decimal.
func percent(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(int(float64(n)*1000/float64(total)+0.5)) / 10
}
