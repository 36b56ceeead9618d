package rollout

import (
	"sort"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// Opening is one concrete occurrence of a maintenance window.
type Opening struct {
	Name  string
	Start time.Time
	End   time.Time
}

// lookahead bounds the search for the next opening: every window recurs
// at least weekly, so eight days always find one.
const lookahead = 8 * 24 * time.Hour

// Openings lists the windows' occurrences in loc that end after from and
// start before to, by start. Start and end keep their wall-clock times on
// a daylight-saving change day, so such an opening is an hour shorter or
// longer in real time (a wall-clock time skipped by the change is read as
// Go's time.Date does). Windows that do not parse are skipped: validation
// refuses them when the policy is saved.
func Openings(windows []enforcement.MaintenanceWindow, loc *time.Location, from, to time.Time) []Opening {
	if loc == nil {
		loc = time.UTC
	}
	var out []Opening
	// Start a day early: yesterday's window may cross midnight into today.
	y, m, d := from.In(loc).Date()
	for day := -1; ; day++ {
		if time.Date(y, m, d+day, 0, 0, 0, 0, loc).After(to) {
			break
		}
		// The weekday of a calendar date, free of any zone's quirks.
		weekday := time.Date(y, m, d+day, 12, 0, 0, 0, time.UTC).Weekday()
		for _, w := range windows {
			o, ok := opening(w, loc, y, m, d+day, weekday)
			if ok && o.End.After(from) && o.Start.Before(to) {
				out = append(out, o)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func opening(w enforcement.MaintenanceWindow, loc *time.Location, y int, m time.Month, d int, weekday time.Weekday) (Opening, bool) {
	days, err := w.Weekdays()
	if err != nil || !days[weekday] {
		return Opening{}, false
	}
	start, end, err := w.Clock()
	if err != nil || start == end {
		return Opening{}, false
	}
	endDay := d
	if end < start {
		endDay++ // crosses midnight
	}
	return Opening{
		Name:  w.Name,
		Start: time.Date(y, m, d, start/60, start%60, 0, 0, loc),
		End:   time.Date(y, m, endDay, end/60, end%60, 0, 0, loc),
	}, true
}

// Fit says whether an install of maxRun may start now, and if not, the
// next opening it fits in.
type Fit struct {
	// Inside: now is in an opening that ends at least maxRun from now.
	Inside bool
	// Window names the opening (the current one, or the next one).
	Window string
	// Next is the start of the next opening long enough for maxRun; zero
	// when Inside, or when none opens within eight days.
	Next time.Time
}

// FitWindow decides where a legacy install of at most maxRun can run.
// An install starts only if start + maxRun <= the opening's end, counted
// in real time (so a DST change inside the opening is accounted for).
func FitWindow(windows []enforcement.MaintenanceWindow, loc *time.Location, now time.Time, maxRun time.Duration) Fit {
	open := Openings(windows, loc, now, now.Add(lookahead))
	for _, o := range open {
		if !now.Before(o.Start) && !now.Add(maxRun).After(o.End) {
			return Fit{Inside: true, Window: o.Name}
		}
	}
	for _, o := range open {
		if o.Start.After(now) && !o.Start.Add(maxRun).After(o.End) {
			return Fit{Window: o.Name, Next: o.Start}
		}
	}
	return Fit{}
}

// AlignDeadline gives a wall-clock deadline the time of day of the
// earliest window opening on its date, or on the first later date with
// one: a forced install then starts when the window opens. Without
// windows the deadline is unchanged.
func AlignDeadline(wall time.Time, windows []enforcement.MaintenanceWindow) time.Time {
	for day := range 8 {
		d := wall.AddDate(0, 0, day)
		best := -1
		for _, w := range windows {
			days, err := w.Weekdays()
			start, end, err2 := w.Clock()
			if err != nil || err2 != nil || start == end || !days[d.Weekday()] {
				continue
			}
			if best < 0 || start < best {
				best = start
			}
		}
		if best >= 0 {
			return time.Date(d.Year(), d.Month(), d.Day(), best/60, best%60, 0, 0, time.UTC)
		}
	}
	return wall
}
