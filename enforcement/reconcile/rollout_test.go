package reconcile

import (
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
)

func TestHoldBackRing(t *testing.T) {
	hold := enforcement.NewReason(enforcement.CodeWaitingForRing, "ring", "pilot")
	tests := []struct {
		name       string
		path       enforcement.Path
		action     enforcement.Action
		step       enforcement.Step
		wantAction enforcement.Action
		wantStep   enforcement.Step
		wantReason enforcement.Code
	}{
		{"DDM delivery becomes removal", enforcement.PathDDM, enforcement.ActionDeliver, enforcement.StepPlanned,
			enforcement.ActionRemove, enforcement.StepWaiting, enforcement.CodeWaitingForRing},
		{"legacy delivery becomes nothing", enforcement.PathLegacy, enforcement.ActionDeliver, enforcement.StepPlanned,
			enforcement.ActionNone, enforcement.StepWaiting, enforcement.CodeWaitingForRing},
		{"a blocked device keeps its blocker", enforcement.PathDDM, enforcement.ActionBlocked, enforcement.StepBlocked,
			enforcement.ActionBlocked, enforcement.StepBlocked, enforcement.CodeNotSupervised},
		{"nothing to deliver: untouched", enforcement.PathDDM, enforcement.ActionRemove, "",
			enforcement.ActionRemove, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &deviceGate{Gate: rollout.Gate{Hold: hold, Ring: 1, RingName: "pilot"}}
			plan := enforcement.DevicePlan{InScope: true, Path: tt.path, Action: tt.action, DDM: &enforcement.DDMPlan{}}
			ev := enforcement.Evaluation{Compliance: enforcement.Required, Step: tt.step}
			if tt.step == enforcement.StepBlocked {
				ev.Reason = enforcement.NewReason(enforcement.CodeNotSupervised)
			}
			if tt.step == "" {
				ev.Compliance = enforcement.Installed
			}
			g.holdBack(&plan, &ev, nil, time.Now())
			if plan.Action != tt.wantAction || ev.Step != tt.wantStep || ev.Reason.Code != tt.wantReason {
				t.Errorf("action %s step %s reason %s, want %s %s %s", plan.Action, ev.Step, ev.Reason.Code,
					tt.wantAction, tt.wantStep, tt.wantReason)
			}
			if tt.wantAction != tt.action && (plan.DDM != nil || plan.Reasons[0].Code != enforcement.CodeWaitingForRing) {
				t.Errorf("held plan %+v", plan)
			}
		})
	}
}

func TestHoldBackWindow(t *testing.T) {
	p := enforcement.Policy{ID: "w", MaxRunTime: "2h",
		MaintenanceWindows: []enforcement.MaintenanceWindow{{Name: "nights", Start: "22:00", End: "02:00"}}}
	outside := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	g := &deviceGate{Gate: rollout.Gate{Policy: p, Ring: -1}}
	plan := enforcement.DevicePlan{InScope: true, Path: enforcement.PathLegacy, Action: enforcement.ActionDeliver}
	ev := enforcement.Evaluation{Compliance: enforcement.Required, Step: enforcement.StepPlanned}
	g.holdBack(&plan, &ev, nil, outside)
	if len(plan.Reasons) != 1 || plan.Reasons[0].Details["next_start"] != "2026-11-24T22:00:00Z" || plan.Action != enforcement.ActionDeliver {
		t.Fatalf("plan %+v: the driver must see the closed window and still scan and download", plan)
	}
	g.explainWindow(&ev)
	if ev.Reason.Code != "" {
		t.Errorf("before the deadline the window explains nothing, got %s", ev.Reason.Code)
	}
	ev.DeadlinePassed, ev.Reason = true, enforcement.NewReason(enforcement.CodeDeadlinePassed)
	g.explainWindow(&ev)
	if ev.Reason.Code != enforcement.CodeWaitingForMaintenanceWindow || ev.Step != enforcement.StepWaiting {
		t.Errorf("after the deadline: %s/%s", ev.Step, ev.Reason.Code)
	}

	inside := time.Date(2026, 11, 24, 22, 30, 0, 0, time.UTC)
	g = &deviceGate{Gate: rollout.Gate{Policy: p, Ring: -1}}
	plan = enforcement.DevicePlan{InScope: true, Path: enforcement.PathLegacy, Action: enforcement.ActionDeliver}
	g.holdBack(&plan, &ev, nil, inside)
	if len(plan.Reasons) != 0 {
		t.Errorf("inside a window that fits: reasons %+v", plan.Reasons)
	}
}
