package rollout

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// failingTally puts targeted devices in ring, failing of them failed at
// failedAt.
func failingTally(ring string, targeted, failing int, failedAt time.Time) *Tally {
	t := NewTally()
	for i := range targeted {
		ev := eval(fmt.Sprintf("%s-%02d", ring, i), enforcement.Required, enforcement.StepDelivered, "", "2026-12-04T17:00:00")
		since := fixtureNow
		if i < failing {
			ev = eval(ev.DeviceID, enforcement.Required, enforcement.StepFailed, enforcement.CodeUpdateFailed, ev.Target.LocalDeadline)
			since = failedAt
		}
		t.Add(ring, &ev, since)
	}
	return t
}

func TestCheckAutoPause(t *testing.T) {
	recent := fixtureNow.Add(-time.Hour)
	itAndPilot := &State{Rings: []RingStart{{Name: "it"}, {Name: "pilot"}}}
	tests := []struct {
		name      string
		edit      func(p *enforcement.Policy)
		state     *State
		tally     *Tally
		wantRing  string // "-" = no pause; "" = the policy as a whole
		wantCount int
	}{
		{"10 % of 20 pauses", nil, itAndPilot, failingTally("pilot", 20, 2, recent), "pilot", 2},
		{"below 10 % does not", nil, itAndPilot, failingTally("pilot", 21, 2, recent), "-", 0},
		{"fewer than 20 targeted never pauses", nil, itAndPilot, failingTally("pilot", 19, 10, recent), "-", 0},
		{"failures outside the window do not count", nil, itAndPilot, failingTally("pilot", 20, 5, fixtureNow.Add(-25*time.Hour)), "-", 0},
		{"longer window counts them", func(p *enforcement.Policy) { p.AutoPause = &enforcement.AutoPause{Window: "48h"} },
			itAndPilot, failingTally("pilot", 20, 5, fixtureNow.Add(-25*time.Hour)), "pilot", 5},
		{"acknowledged failures do not pause again", nil,
			&State{Rings: itAndPilot.Rings, Acknowledged: []string{"pilot-00", "pilot-01"}}, failingTally("pilot", 20, 2, recent), "-", 0},
		{"a new failure after a resume does", nil,
			&State{Rings: itAndPilot.Rings, Acknowledged: []string{"pilot-00"}}, failingTally("pilot", 20, 3, recent), "pilot", 2},
		{"paused policy", func(p *enforcement.Policy) { p.Paused = true }, itAndPilot, failingTally("pilot", 20, 20, recent), "-", 0},
		{"disabled", func(p *enforcement.Policy) { p.AutoPause = &enforcement.AutoPause{Disabled: true} },
			itAndPilot, failingTally("pilot", 20, 20, recent), "-", 0},
		{"custom threshold and minimum", func(p *enforcement.Policy) {
			p.AutoPause = &enforcement.AutoPause{FailurePercent: 50, MinDevices: 4}
		}, itAndPilot, failingTally("pilot", 4, 2, recent), "pilot", 2},
		{"unringed policy: off by default", func(p *enforcement.Policy) { p.Rings = nil }, nil, failingTally("", 40, 20, recent), "-", 0},
		{"unringed policy that asks for it", func(p *enforcement.Policy) { p.Rings, p.AutoPause = nil, &enforcement.AutoPause{} },
			nil, failingTally("", 40, 4, recent), "", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ringed()
			if tt.edit != nil {
				tt.edit(&p)
			}
			rec := CheckAutoPause(&p, tt.state, tt.tally, fixtureNow)
			if tt.wantRing == "-" {
				if rec != nil {
					t.Fatalf("paused: %s", rec.Message)
				}
				return
			}
			if rec == nil {
				t.Fatal("no pause")
			}
			if rec.Ring != tt.wantRing || rec.Failed != tt.wantCount {
				t.Errorf("ring %q failed %d, want %q %d", rec.Ring, rec.Failed, tt.wantRing, tt.wantCount)
			}
		})
	}
}

func TestPauseRecordAcknowledgesAndFlattens(t *testing.T) {
	p := ringed()
	st := &State{Rings: []RingStart{{Name: "it"}, {Name: "pilot"}}}
	tally := failingTally("pilot", 20, 3, fixtureNow)
	rec := CheckAutoPause(&p, st, tally, fixtureNow)
	if rec == nil {
		t.Fatal("no pause")
	}
	want := "ring pilot of policy ringed paused itself: 3 of 20 targeted devices failed within 24h (15.0 %, threshold 10 %)"
	if !strings.HasPrefix(rec.Message, want) {
		t.Errorf("message %q", rec.Message)
	}
	st.RecordPause(rec, tally)
	if CheckAutoPause(&p, st, tally, fixtureNow) != nil {
		t.Error("the same failures paused the policy again after the pause was recorded")
	}
	d := rec.EventData()
	if d["policy_id"] != "ringed" || d["ring"] != "pilot" || d["failed"] != "3" || d["targeted"] != "20" ||
		d["failure_percent"] != "15.0" || d["threshold_percent"] != "10" || d["devices"] != "pilot-00,pilot-01,pilot-02" {
		t.Errorf("event data %v", d)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		ev                           enforcement.Evaluation
		targeted, succeeded, failing bool
	}{
		{eval("a", enforcement.NotRequired, "", enforcement.CodeNotInScope, ""), false, false, false},
		{eval("a", enforcement.NotRequired, "", enforcement.CodeNoReleaseForModel, ""), false, false, false},
		{eval("a", enforcement.NotRequired, "", enforcement.CodeAlreadyNewer, ""), true, true, false},
		{eval("a", enforcement.Installed, "", "", ""), true, true, false},
		{eval("a", enforcement.Unknown, "", enforcement.CodeNotCheckingIn, ""), true, false, false},
		{eval("a", enforcement.Required, enforcement.StepFailed, enforcement.CodeUpdateFailed, ""), true, false, true},
		{eval("a", enforcement.Required, enforcement.StepDownloading, enforcement.CodeUpdateFailed, ""), true, false, false},
		{eval("a", enforcement.Required, enforcement.StepWaiting, enforcement.CodeScheduleFailed, ""), true, false, true},
		{eval("a", enforcement.Required, enforcement.StepBlocked, enforcement.CodeNotSupervised, ""), true, false, false},
	}
	for _, tt := range tests {
		tg, s, f := Classify(&tt.ev)
		if tg != tt.targeted || s != tt.succeeded || f != tt.failing {
			t.Errorf("%s/%s/%s: got %v %v %v, want %v %v %v", tt.ev.Compliance, tt.ev.Step, tt.ev.Reason.Code,
				tg, s, f, tt.targeted, tt.succeeded, tt.failing)
		}
	}
}
