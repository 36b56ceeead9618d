package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/storage"
)

// rolloutPass is what rollout control keeps during one pass (under
// passMu): the State of every controlled policy and, in a full pass, the
// per-ring tallies that promotion and auto-pause read at its end.
type rolloutPass struct {
	states  map[string]*rollout.State
	dirty   map[string]bool
	tallies map[string]*rollout.Tally // nil outside full passes
}

// PolicyPauser is the policy service's pause, which versions the change
// and records it like an admin's. The worker pauses through it when the
// Policies it was given implement it.
type PolicyPauser interface {
	SetPaused(ctx context.Context, id string, paused bool, o policysvc.WriteOptions) (policysvc.PolicyResult, error)
}

// beginRollout loads the State of every policy under rollout control.
func (w *Worker) beginRollout(ctx context.Context, policies []enforcement.Policy, full bool) error {
	rp := &rolloutPass{states: map[string]*rollout.State{}, dirty: map[string]bool{}}
	if full {
		rp.tallies = map[string]*rollout.Tally{}
	}
	for i := range policies {
		p := &policies[i]
		if !rollout.Controlled(p) {
			continue
		}
		st, err := w.rolloutState(ctx, p)
		if err != nil {
			return err
		}
		if st.Sync(p) {
			rp.dirty[p.ID] = true
		}
		rp.states[p.ID] = st
		if full {
			rp.tallies[p.ID] = rollout.NewTally()
		}
	}
	w.rollout = rp
	return nil
}

// rolloutState reads a policy's State; an unreadable one is logged and
// started afresh rather than stopping every pass.
func (w *Worker) rolloutState(ctx context.Context, p *enforcement.Policy) (*rollout.State, error) {
	raw, err := w.store.Blob(ctx, rollout.Collection, p.ID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	st, err := rollout.Decode(raw)
	if err != nil {
		w.log.Warn("rollout state unreadable; starting the rollout afresh", logkeys.Policy, p.ID, logkeys.Err, err)
		st = &rollout.State{}
	}
	st.Sync(p)
	return st, nil
}

// deviceGate is rollout control for one device under one policy.
type deviceGate struct {
	rollout.Gate
	window enforcement.Reason
	tally  *rollout.Tally
}

// gate works out the device's ring, deadline and holds; Gate.Policy
// replaces the policy for planning and evaluation.
// It returns a value: a pass calls it for every device and policy, and
// a gate kept on the stack costs no allocation.
func (w *Worker) gate(p enforcement.Policy, f *enforcement.DeviceFacts, cat *enforcement.Catalog, now time.Time) deviceGate {
	if w.rollout == nil || !rollout.Controlled(&p) {
		return deviceGate{Gate: rollout.Gate{Policy: p, Ring: -1}}
	}
	return deviceGate{Gate: rollout.Apply(p, f, cat, w.rollout.states[p.ID], now), tally: w.rollout.tallies[p.ID]}
}

// holdBack keeps a device whose ring has not started from getting
// anything (a declaration it holds from an earlier ring assignment is
// removed), and marks a legacy plan whose install may not start now: the
// legacy driver reads waiting_for_maintenance_window (with next_start)
// from the plan's reasons.
func (g *deviceGate) holdBack(plan *enforcement.DevicePlan, eval *enforcement.Evaluation, loc *time.Location, now time.Time) {
	if g.Policy.Paused || !plan.InScope || (plan.Action != enforcement.ActionDeliver && plan.Action != enforcement.ActionBlocked) {
		return
	}
	if !g.Hold.IsZero() {
		if plan.Action == enforcement.ActionDeliver {
			plan.Action = enforcement.ActionNone
			if plan.Path == enforcement.PathDDM {
				plan.Action = enforcement.ActionRemove
			}
			plan.DDM, plan.Legacy = nil, nil
		}
		plan.Reasons = append([]enforcement.Reason{g.Hold}, plan.Reasons...)
		if eval.Compliance == enforcement.Required && eval.Step != enforcement.StepBlocked {
			eval.Step, eval.Reason = enforcement.StepWaiting, g.Hold
		}
		return
	}
	if plan.Path == enforcement.PathLegacy && plan.Action == enforcement.ActionDeliver {
		if g.window = rollout.WindowHold(&g.Policy, loc, now); !g.window.IsZero() {
			plan.Reasons = append(plan.Reasons, g.window)
		}
	}
}

// explainWindow: once the install is due (the deadline has passed) and
// nothing else explains the wait, the closed window does.
func (g *deviceGate) explainWindow(eval *enforcement.Evaluation) {
	if g.window.IsZero() || eval.Compliance != enforcement.Required || !eval.DeadlinePassed {
		return
	}
	switch eval.Step {
	case "", enforcement.StepPlanned, enforcement.StepDelivered, enforcement.StepWaiting:
	default:
		return
	}
	if eval.Reason.IsZero() || eval.Reason.Code == enforcement.CodeDeadlinePassed {
		eval.Step, eval.Reason = enforcement.StepWaiting, g.window
	}
}

// count records the device's ring and, in a full pass, counts it for
// promotion and auto-pause. since is when its current state began.
func (g *deviceGate) count(pr *PolicyRecord, eval *enforcement.Evaluation, since time.Time, dw *deviceWrites) {
	if pr.Ring != g.RingName {
		pr.Ring, dw.dirty = g.RingName, true
	}
	if g.tally != nil {
		g.tally.Add(g.RingName, eval, since)
	}
}

// finishRollout runs after a full pass: policies whose failures crossed
// the threshold pause themselves, then rings whose turn has come start.
// The States are saved and the events recorded.
func (w *Worker) finishRollout(ctx context.Context, policies []enforcement.Policy) error {
	rp := w.rollout
	if rp == nil || rp.tallies == nil {
		return nil
	}
	now := w.now()
	var events []storage.Event
	promoted := false
	for i := range policies {
		p := policies[i]
		st, t := rp.states[p.ID], rp.tallies[p.ID]
		if st == nil || t == nil {
			continue
		}
		if rec := rollout.CheckAutoPause(&p, st, t, now); rec != nil && w.autoPause(ctx, &p, rec) {
			st.RecordPause(rec, t)
			rp.dirty[p.ID], p.Paused = true, true
			events = append(events, storage.Event{At: now, Kind: rollout.EventKind, Message: rec.Message, Data: rec.EventData()})
		}
		for _, pr := range rollout.Advance(&p, st, t, now) {
			rp.dirty[p.ID], promoted = true, true
			events = append(events, storage.Event{At: now, Kind: RingStartedEvent,
				Message: "policy " + p.ID + ": ring " + pr.Ring + " started: " + pr.Because,
				Data:    map[string]string{"policy_id": p.ID, "ring": pr.Ring, "because": pr.Because, "at": now.UTC().Format(time.RFC3339)}})
		}
	}
	if err := w.saveRollout(ctx, rp); err != nil {
		return err
	}
	if len(events) > 0 {
		if err := w.store.AddEvents(ctx, events...); err != nil {
			return err
		}
	}
	if promoted {
		w.Trigger() // deliver to the new ring without waiting for the interval
	}
	return nil
}

// RingStartedEvent is the server event recorded when a ring starts.
const RingStartedEvent = "rollout_ring_started"

func (w *Worker) saveRollout(ctx context.Context, rp *rolloutPass) error {
	values := map[string][]byte{}
	for id := range rp.dirty {
		raw, err := rp.states[id].Encode()
		if err != nil {
			return err
		}
		values[id] = raw
	}
	if len(values) == 0 {
		return nil
	}
	return w.store.PutBlobs(ctx, rollout.Collection, values)
}

// autoPause pauses the policy through the policy service, based on the
// version this pass read: if an admin changed the policy meanwhile, the
// next pass decides again on the new version.
func (w *Worker) autoPause(ctx context.Context, p *enforcement.Policy, rec *rollout.PauseRecord) bool {
	pauser, ok := w.policies.(PolicyPauser)
	if !ok {
		w.log.Warn("policy crossed its failure threshold but cannot be paused here", logkeys.Policy, p.ID, logkeys.Reason, rec.Message)
		return false
	}
	_, err := pauser.SetPaused(ctx, p.ID, true, policysvc.WriteOptions{Actor: rollout.PauseActor, Version: p.Version})
	if err != nil {
		w.log.Warn("automatic pause failed; retried at the next pass", logkeys.Policy, p.ID, logkeys.Err, err)
		return false
	}
	w.log.Warn("policy paused itself", logkeys.Policy, p.ID, logkeys.Reason, rec.Message)
	return true
}
