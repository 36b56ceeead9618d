package rollout

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

func TestRingIndexMembership(t *testing.T) {
	p := ringed()
	itMac := mac("it-mac", "staff", "it")
	if got := RingIndex(&p, &itMac); got != 0 {
		t.Errorf("group member in ring %d, want 0", got)
	}
	counts := make([]int, len(p.Rings))
	const n = 10000
	for i := range n {
		f := mac(fmt.Sprintf("device-%05d", i))
		r := RingIndex(&p, &f)
		if again := RingIndex(&p, &f); again != r {
			t.Fatalf("%s: ring %d then %d: membership must be stable", f.ID, r, again)
		}
		counts[r]++
	}
	if counts[0] != 0 {
		t.Errorf("%d devices outside the group landed in the group ring", counts[0])
	}
	if share := float64(counts[1]) / n * 100; math.Abs(share-30) > 2 {
		t.Errorf("pilot ring holds %.1f %% of devices, want about 30 %%", share)
	}
	if counts[1]+counts[2] != n {
		t.Errorf("counts %v: every device must land in a ring", counts)
	}
	// Another policy draws its own pilots.
	other := ringed()
	other.ID = "other"
	same := 0
	for i := range 1000 {
		f := mac(fmt.Sprintf("device-%05d", i))
		if RingIndex(&p, &f) == 1 && RingIndex(&other, &f) == 1 {
			same++
		}
	}
	if same > 150 { // independent draws share about 9 %
		t.Errorf("%d of 1000 devices are pilots of both policies: the hash must depend on the policy", same)
	}
}

func TestRingIndexLeftoversGoToLastRing(t *testing.T) {
	p := ringed()
	p.Rings = []enforcement.Ring{{Name: "it", Groups: []string{"it"}}, {Name: "few", Percent: 10}, {Name: "ops", Groups: []string{"ops"}}}
	seen := map[int]int{}
	for i := range 200 {
		f := mac(fmt.Sprintf("d%d", i))
		seen[RingIndex(&p, &f)]++
	}
	if seen[0] != 0 || seen[1] == 0 || seen[2] == 0 || seen[1]+seen[2] != 200 {
		t.Errorf("rings %v: devices in no group and beyond the percentages go to the last ring", seen)
	}
	if RingIndex(&enforcement.Policy{}, &enforcement.DeviceFacts{}) != -1 {
		t.Error("no rings must give -1")
	}
}

func TestApplyDeadlinesAndHold(t *testing.T) {
	cat := fixtureCatalog(t)
	p := ringed()
	p.Rings[1].SkipWeekends = true
	pilot, broad := deviceIn(t, &p, 1), deviceIn(t, &p, 2)
	started := &State{Rings: []RingStart{{Name: "it", StartedAt: fixtureNow}}}
	tests := []struct {
		name     string
		facts    enforcement.DeviceFacts
		state    *State
		windows  []enforcement.MaintenanceWindow
		deadline string
		hold     string // substring of the hold message; "" = no hold
	}{
		{"first ring runs at once, base deadline", mac("a", "it"), nil, nil, "2026-12-01T17:00:00", ""},
		// Tuesday + 3 working days = Friday.
		{"pilot waits for its ring, deadline skips weekends", mac(pilot), started, nil, "2026-12-04T17:00:00",
			"Waiting for rollout ring pilot: it starts when ring it has 90 % installed, or at the latest once its deadline 2026-12-01T17:00:00 has passed."},
		{"broad: plain calendar offset", mac(broad), started, nil, "2026-12-08T17:00:00", "ring broad"},
		{"started ring delivers", mac(pilot), &State{Rings: []RingStart{{Name: "it"}, {Name: "pilot"}}}, nil, "2026-12-04T17:00:00", ""},
		{"window gives the time of day", mac("a", "it"), nil, []enforcement.MaintenanceWindow{win("n", "22:00", "02:00")},
			"2026-12-01T22:00:00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := p
			q.MaintenanceWindows = tt.windows
			g := Apply(q, &tt.facts, cat, tt.state, fixtureNow)
			if got := g.Policy.Deadline.LocalDateTime; got != tt.deadline {
				t.Errorf("deadline %s, want %s", got, tt.deadline)
			}
			switch {
			case tt.hold == "" && !g.Hold.IsZero():
				t.Errorf("unexpected hold %q", g.Hold.Message)
			case tt.hold != "" && !strings.Contains(g.Hold.Message, tt.hold):
				t.Errorf("hold %q, want it to contain %q", g.Hold.Message, tt.hold)
			}
			if p.Deadline.LocalDateTime != "2026-12-01T17:00:00" {
				t.Fatal("Apply changed the caller's policy")
			}
			// The deadline Plan uses is the ring's.
			plan := enforcement.Plan(tt.facts, g.Policy, cat, fixtureNow, enforcement.Options{})
			if plan.Target.LocalDeadline != tt.deadline {
				t.Errorf("plan deadline %s, want %s", plan.Target.LocalDeadline, tt.deadline)
			}
		})
	}
}

func TestApplyKeepsDaysAfterPostingForm(t *testing.T) {
	cat := fixtureCatalog(t)
	p := ringed()
	p.Deadline = enforcement.Deadline{DaysAfterPosting: ptr(14), TimeOfDay: "17:00"}
	pilotID := deviceIn(t, &p, 1)
	f := mac(pilotID)
	base := enforcement.Evaluate(f, p, cat, fixtureNow, enforcement.Options{}).Target.LocalDeadline
	g := Apply(p, &f, cat, nil, fixtureNow)
	if g.Policy.Deadline.DaysAfterPosting == nil || *g.Policy.Deadline.DaysAfterPosting != 17 || g.Policy.Deadline.LocalDateTime != "" {
		t.Fatalf("deadline %+v: want 17 days after posting", g.Policy.Deadline)
	}
	if *p.Deadline.DaysAfterPosting != 14 {
		t.Fatal("Apply changed the caller's days")
	}
	got := enforcement.Evaluate(f, g.Policy, cat, fixtureNow, enforcement.Options{}).Target.LocalDeadline
	bw, _ := enforcement.ParseLocalDateTime(base)
	if want := bw.AddDate(0, 0, 3).Format(enforcement.LocalDateTimeLayout); got != want {
		t.Errorf("pilot deadline %s, want %s (base %s + 3 days)", got, want, base)
	}
}

func TestWindowHold(t *testing.T) {
	p := ringed()
	if r := WindowHold(&p, nil, fixtureNow); !r.IsZero() {
		t.Fatalf("no windows: hold %+v", r)
	}
	p.MaintenanceWindows = []enforcement.MaintenanceWindow{win("nights", "22:00", "02:00", "weekdays")}
	p.MaxRunTime = "3h"
	r := WindowHold(&p, nil, utc("2026-11-23T23:30:00Z")) // Monday 23:30: 2h30 left
	if r.Code != enforcement.CodeWaitingForMaintenanceWindow || r.Details["next_start"] != "2026-11-24T22:00:00Z" {
		t.Fatalf("hold %+v", r)
	}
	if !strings.Contains(r.Message, "nights, opens 2026-11-24 22:00 UTC") {
		t.Errorf("message %q", r.Message)
	}
	if r := WindowHold(&p, nil, utc("2026-11-23T22:30:00Z")); !r.IsZero() {
		t.Errorf("inside with 3h30 left: hold %q", r.Message)
	}
}
