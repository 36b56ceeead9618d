package enforcement

import (
	"reflect"
	"testing"
	"time"
)

func evalOf(c Compliance, s Step, code Code, target string) Evaluation {
	ev := Evaluation{DeviceID: "mac-1", PolicyID: "p", Compliance: c, Step: s,
		Target: ResolvedTarget{OSVersion: target, LocalDeadline: "2026-12-01T17:00:00"}}
	if code != "" {
		ev.Reason = NewReason(code)
	}
	return ev
}

// A device's whole way to compliance, one report at a time.
func TestTransitionHappyPath(t *testing.T) {
	steps := []struct {
		ev       Evaluation
		wantStep Step
		kind     TransitionKind
	}{
		{evalOf(Required, StepPlanned, "", "26.2"), StepPlanned, KindInitial},
		{evalOf(Required, StepDelivered, "", "26.2"), StepDelivered, KindProgressed},
		{evalOf(Required, StepDownloading, "", "26.2"), StepDownloading, KindProgressed},
		{evalOf(Required, StepInstalling, "", "26.2"), StepInstalling, KindProgressed},
		// The device restarted and reports nothing pending, old version
		// still cached: the machine says verifying, not "delivered".
		{evalOf(Required, StepDelivered, "", "26.2"), StepVerifying, KindProgressed},
		{evalOf(Installed, "", "", "26.2"), "", KindInstalled},
	}
	var st DeviceState
	at := fixtureNow
	for i, s := range steps {
		at = at.Add(10 * time.Minute)
		next, changed := Transition(st, s.ev, at)
		if !changed {
			t.Fatalf("step %d: not changed", i)
		}
		if next.Step != s.wantStep {
			t.Errorf("step %d: step %s, want %s", i, next.Step, s.wantStep)
		}
		if got := next.History[len(next.History)-1].Kind; got != s.kind {
			t.Errorf("step %d: kind %s, want %s", i, got, s.kind)
		}
		st = next
	}
	if st.FirstRequiredAt != fixtureNow.Add(10*time.Minute) || st.InstalledAt != at {
		t.Errorf("first required %v, installed %v", st.FirstRequiredAt, st.InstalledAt)
	}
	if len(st.History) != len(steps) || st.Compliance != Installed {
		t.Errorf("history %d entries, compliance %s", len(st.History), st.Compliance)
	}
}

func TestTransitionUnchanged(t *testing.T) {
	ev := evalOf(Required, StepDownloading, CodeUpdateFailed, "26.2")
	st, _ := Transition(DeviceState{}, ev, fixtureNow)
	ev.Reason.Message = "re-rendered with other details"
	next, changed := Transition(st, ev, fixtureNow.Add(time.Hour))
	if changed || !reflect.DeepEqual(next, st) {
		t.Errorf("changed=%v for an identical state", changed)
	}
}

func TestTransitionVerifyingExpires(t *testing.T) {
	st, _ := Transition(DeviceState{}, evalOf(Required, StepInstalling, "", "26.2"), fixtureNow)
	st, _ = Transition(st, evalOf(Required, StepDelivered, "", "26.2"), fixtureNow.Add(time.Minute))
	if st.Step != StepVerifying {
		t.Fatalf("step %s, want verifying", st.Step)
	}
	st2, changed := Transition(st, evalOf(Required, StepDelivered, "", "26.2"), fixtureNow.Add(time.Hour))
	if changed || st2.Step != StepVerifying {
		t.Errorf("within the window: %s changed=%v", st2.Step, changed)
	}
	st3, _ := Transition(st, evalOf(Required, StepDelivered, "", "26.2"), fixtureNow.Add(VerifyWindow+2*time.Minute))
	if st3.Step != StepDelivered || st3.History[len(st3.History)-1].Kind != KindRegressed {
		t.Errorf("after the window: %s %s", st3.Step, st3.History[len(st3.History)-1].Kind)
	}
	// A failure is never hidden behind "verifying".
	st4, _ := Transition(st, evalOf(Required, StepFailed, CodeUpdateFailed, "26.2"), fixtureNow.Add(time.Hour))
	if st4.Step != StepFailed {
		t.Errorf("failure reported as %s", st4.Step)
	}
}

func TestTransitionKinds(t *testing.T) {
	tests := []struct {
		name       string
		prev, next Evaluation
		want       TransitionKind
	}{
		{"failed", evalOf(Required, StepDownloading, "", "26.2"), evalOf(Required, StepFailed, CodeUpdateFailed, "26.2"), KindFailed},
		{"recovered", evalOf(Required, StepFailed, CodeUpdateFailed, "26.2"), evalOf(Required, StepDownloading, "", "26.2"), KindRecovered},
		{"blocked", evalOf(Required, StepPlanned, "", "26.2"), evalOf(Required, StepBlocked, CodeNotSupervised, "26.2"), KindBlocked},
		{"retargeted", evalOf(Installed, "", "", "26.2"), evalOf(Required, StepPlanned, "", "26.3"), KindRetargeted},
		{"unknown", evalOf(Required, StepDelivered, "", "26.2"), evalOf(Unknown, "", CodeStatusUnknown, "26.2"), KindBecameUnknown},
		{"left scope", evalOf(Required, StepDelivered, "", "26.2"), evalOf(NotRequired, "", CodeNotInScope, ""), KindLeftScope},
		{"went past the target", evalOf(Required, StepDelivered, "", "26.2"), evalOf(NotRequired, "", CodeAlreadyNewer, "26.2"), KindInstalled},
		{"reason changed", evalOf(Required, StepWaiting, CodePushFailing, "26.2"), evalOf(Required, StepWaiting, CodeBatteryLow, "26.2"), KindChanged},
		{"regressed", evalOf(Required, StepPrepared, "", "26.2"), evalOf(Required, StepDownloading, "", "26.2"), KindRegressed},
	}
	for _, tt := range tests {
		st, _ := Transition(DeviceState{}, tt.prev, fixtureNow)
		next, changed := Transition(st, tt.next, fixtureNow.Add(time.Minute))
		if !changed {
			t.Errorf("%s: not changed", tt.name)
			continue
		}
		if got := next.History[len(next.History)-1].Kind; got != tt.want {
			t.Errorf("%s: kind %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestTransitionHistoryBounded(t *testing.T) {
	var st DeviceState
	for i := 0; i < MaxHistory+15; i++ {
		step := StepDownloading
		if i%2 == 1 {
			step = StepPrepared
		}
		st, _ = Transition(st, evalOf(Required, step, "", "26.2"), fixtureNow.Add(time.Duration(i)*time.Minute))
	}
	if len(st.History) != MaxHistory {
		t.Fatalf("history %d entries, want %d", len(st.History), MaxHistory)
	}
	if first := st.History[0].At; first != fixtureNow.Add(15*time.Minute) {
		t.Errorf("oldest kept entry at %v, want the 16th", first)
	}
	if last := st.History[MaxHistory-1].At; last != fixtureNow.Add(time.Duration(MaxHistory+14)*time.Minute) {
		t.Errorf("newest entry at %v", last)
	}
}
