package rollout

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// ringCounts builds a tally: per ring, targeted devices with so many
// installed and the ring's deadline.
type ringCount struct {
	ring                string
	targeted, installed int
	deadline            string
}

func tallyOf(counts ...ringCount) *Tally {
	t := NewTally()
	for _, c := range counts {
		for i := range c.targeted {
			comp, step := enforcement.Required, enforcement.StepDelivered
			if i < c.installed {
				comp, step = enforcement.Installed, ""
			}
			ev := eval(fmt.Sprintf("%s-%d", c.ring, i), comp, step, "", c.deadline)
			t.Add(c.ring, &ev, fixtureNow)
		}
	}
	return t
}

func TestAdvance(t *testing.T) {
	const (
		itDeadline    = "2026-12-01T17:00:00"
		pilotDeadline = "2026-12-04T17:00:00"
	)
	started := func(names ...string) *State {
		s := &State{}
		for _, n := range names {
			s.Rings = append(s.Rings, RingStart{Name: n, StartedAt: fixtureNow.Add(-time.Hour)})
		}
		return s
	}
	tests := []struct {
		name   string
		paused bool
		state  *State
		tally  *Tally
		now    time.Time
		want   []string // rings started by this pass
		why    string   // substring of the last promotion's reason
	}{
		{"first pass starts the first ring", false, started(), tallyOf(ringCount{"it", 20, 0, itDeadline}, ringCount{"pilot", 10, 0, pilotDeadline}), fixtureNow, []string{"it"}, "first ring"},
		{"paused: nothing starts", true, started(), tallyOf(), fixtureNow, nil, ""},
		{"rings without devices are passed over at once", false, started(), tallyOf(), fixtureNow, []string{"it", "pilot", "broad"}, "ring pilot has no devices"},
		{"below the threshold, before the deadline", false, started("it"),
			tallyOf(ringCount{"it", 20, 17, itDeadline}), fixtureNow, nil, ""},
		{"90 % installed starts the next ring", false, started("it"),
			tallyOf(ringCount{"it", 20, 18, itDeadline}, ringCount{"pilot", 10, 0, pilotDeadline}), fixtureNow, []string{"pilot"}, "18 of 20 devices installed (90.0 %, threshold 90 %)"},
		{"deadline passed everywhere starts the next ring", false, started("it"),
			tallyOf(ringCount{"it", 20, 5, itDeadline}, ringCount{"pilot", 10, 0, pilotDeadline}), time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC), []string{"pilot"}, "deadline 2026-12-01T17:00:00 has passed"},
		{"deadline passed only in the east: wait", false, started("it"),
			tallyOf(ringCount{"it", 20, 5, itDeadline}), time.Date(2026, 12, 2, 4, 59, 0, 0, time.UTC), nil, ""},
		{"empty ring is passed over, cascade stops at a busy one", false, started("it"),
			tallyOf(ringCount{"it", 20, 20, itDeadline}, ringCount{"pilot", 0, 0, ""}), fixtureNow, []string{"pilot", "broad"}, "no devices"},
		{"cascade waits for the ring that just started", false, started("it"),
			tallyOf(ringCount{"it", 20, 20, itDeadline}, ringCount{"pilot", 10, 0, pilotDeadline}), fixtureNow, []string{"pilot"}, ""},
		{"a started ring stays started", false, started("it", "pilot"),
			tallyOf(ringCount{"it", 20, 0, itDeadline}, ringCount{"pilot", 10, 0, pilotDeadline}), fixtureNow, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ringed()
			p.Paused = tt.paused
			before := len(tt.state.Rings)
			got := Advance(&p, tt.state, tt.tally, tt.now)
			var names []string
			for _, pr := range got {
				names = append(names, pr.Ring)
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Fatalf("started %v, want %v", names, tt.want)
			}
			if len(tt.state.Rings) != before+len(got) {
				t.Errorf("state records %d starts, want %d", len(tt.state.Rings), before+len(got))
			}
			if tt.why != "" && !strings.Contains(got[len(got)-1].Because, tt.why) {
				t.Errorf("because %q, want %q", got[len(got)-1].Because, tt.why)
			}
			// Promotion is stable: a second pass over the same counts starts nothing.
			if again := Advance(&p, tt.state, tt.tally, tt.now); len(again) != 0 {
				t.Errorf("second pass started %v", again)
			}
		})
	}
}

func TestAdvanceCustomThreshold(t *testing.T) {
	p := ringed()
	p.Rings[0].SuccessPercent = 50
	st := &State{Rings: []RingStart{{Name: "it"}}}
	if got := Advance(&p, st, tallyOf(ringCount{"it", 10, 5, "2026-12-01T17:00:00"}, ringCount{"pilot", 3, 0, ""}), fixtureNow); len(got) != 1 {
		t.Fatalf("50 %% of 10 with threshold 50: started %v", got)
	}
}

func TestStateSync(t *testing.T) {
	p := ringed()
	p.CreatedAt = fixtureNow
	st := &State{}
	if !st.Sync(&p) {
		t.Fatal("a new state must take the policy's identity")
	}
	st.Rings = []RingStart{{Name: "it"}}
	if st.Sync(&p) || len(st.Rings) != 1 {
		t.Fatal("same policy: state kept")
	}
	p.Name = "renamed"
	if st.Sync(&p) {
		t.Error("a rename must not restart the rollout")
	}
	p.Target.OSVersion = "26.3"
	if !st.Sync(&p) || len(st.Rings) != 0 {
		t.Error("a new target restarts the rollout")
	}
	st.Rings = []RingStart{{Name: "it"}}
	p.CreatedAt = fixtureNow.Add(time.Hour)
	if !st.Sync(&p) || len(st.Rings) != 0 {
		t.Error("a policy created again under the same id starts afresh")
	}
	raw, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(raw)
	if err != nil || !back.PolicyCreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if _, err := Decode([]byte("{")); err == nil {
		t.Error("broken state must be an error")
	}
}
