package reconcile

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

// factsRetry bounds how often missing facts are asked for again.
const factsRetry = time.Hour

// reconcileWith evaluates one device against every policy and applies the
// plans. Storage is written only when something changed.
func (w *Worker) reconcileWith(ctx context.Context, d *storage.Device, policies []enforcement.Policy, cat *enforcement.Catalog, out *writes) (Stats, error) {
	st := Stats{Devices: 1}
	now := w.now()
	facts, us, err := w.facts(ctx, d)
	if err != nil {
		return st, err
	}
	rec, err := w.record(ctx, d.ID)
	if err != nil {
		return st, err
	}
	before, _ := rec.encode()
	var events []storage.Event
	live := map[string]bool{}
	inScope := false
	for _, p := range policies {
		live[p.ID] = true
		ev, err := w.policy(ctx, d, facts, us, p, cat, rec, now, &st)
		if err != nil {
			return st, err
		}
		events = append(events, ev...)
		inScope = inScope || (rec.Policies[p.ID].Plan.InScope && !p.Paused)
	}
	// Facts are only requested for devices a policy targets: without a
	// policy the server sends nothing on its own.
	if inScope {
		if err := w.requestFacts(ctx, d, rec, now); err != nil {
			return st, err
		}
	}
	for id := range rec.Policies {
		if !live[id] {
			if err := w.removeDeclarations(ctx, d.ID, id, &st); err != nil {
				return st, err
			}
			delete(rec.Policies, id)
		}
	}
	after, err := rec.encode()
	if err != nil {
		return st, err
	}
	if string(after) != string(before) {
		out.records[d.ID] = after
	}
	out.events = append(out.events, events...)
	return st, nil
}

func (w *Worker) facts(ctx context.Context, d *storage.Device) (enforcement.DeviceFacts, *commands.UpdateState, error) {
	status, err := w.decls.Status(ctx, d.ID)
	if errors.Is(err, storage.ErrNotFound) {
		status, err = nil, nil
	}
	if err != nil {
		return enforcement.DeviceFacts{}, nil, err
	}
	var us *commands.UpdateState
	raw, err := w.store.Blob(ctx, commands.UpdateStateCollection, d.ID)
	switch {
	case err == nil:
		if us, err = commands.DecodeUpdateState(raw); err != nil {
			return enforcement.DeviceFacts{}, nil, err
		}
	case !errors.Is(err, storage.ErrNotFound):
		return enforcement.DeviceFacts{}, nil, err
	}
	return BuildFacts(d, status, us), us, nil
}

func (w *Worker) record(ctx context.Context, id string) (*Record, error) {
	raw, err := w.store.Blob(ctx, StateCollection, id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	return DecodeRecord(raw)
}

// policy evaluates and applies one policy for one device.
func (w *Worker) policy(ctx context.Context, d *storage.Device, f enforcement.DeviceFacts, us *commands.UpdateState,
	p enforcement.Policy, cat *enforcement.Catalog, rec *Record, now time.Time, st *Stats) ([]storage.Event, error) {
	st.Evaluations++
	pr := rec.Policies[p.ID]
	if pr == nil {
		pr = &PolicyRecord{State: enforcement.DeviceState{DeviceID: d.ID, PolicyID: p.ID}}
	}
	plan := enforcement.Plan(f, p, cat, now, w.opts)
	eval := enforcement.Evaluate(f, p, cat, now, w.opts)
	switch {
	case plan.Path == enforcement.PathDDM && plan.Action == enforcement.ActionDeliver && plan.DDM != nil:
		if err := w.deliver(ctx, d.ID, p, &plan, pr, now, st); err != nil {
			return nil, err
		}
	case plan.Action == enforcement.ActionRemove || plan.Path != enforcement.PathDDM:
		if pr.Delivered != nil {
			if err := w.removeDeclarations(ctx, d.ID, p.ID, st); err != nil {
				return nil, err
			}
			pr.Delivered, pr.DeliveredAt = nil, time.Time{}
		}
	}
	if plan.Path == enforcement.PathLegacy && w.legacy != nil && !p.Paused && plan.InScope {
		out, err := w.driveLegacy(ctx, LegacyInput{Device: d, Facts: f, Policy: p, Plan: plan, Update: us, Now: now}, eval)
		if err != nil {
			return nil, fmt.Errorf("legacy driver for %s: %w", d.ID, err)
		}
		out.apply(&eval)
	}
	next, changed := enforcement.Transition(pr.State, eval, now)
	var events []storage.Event
	if changed {
		st.StateChanges++
		if describe(pr.State) != describe(next) {
			events = append(events, stateEvent(d.ID, p.ID, pr.State, next, eval.Reason, now))
		}
		pr.State = next
	}
	eval.EvaluatedAt = pr.State.UpdatedAt
	if !reflect.DeepEqual(pr.Plan, plan) || !reflect.DeepEqual(pr.Reason, eval.Reason) {
		pr.Plan, pr.Reason = plan, eval.Reason
	}
	pr.Evaluation = eval
	rec.Policies[p.ID] = pr
	return events, nil
}

// LegacyStepDriver is a LegacyDriver that also sees the evaluation and
// reports the step as well as the reason: only the driver knows which
// listed update is the target, so the evaluation's legacy step is coarse.
// The worker prefers it to Drive.
type LegacyStepDriver interface {
	DriveStep(ctx context.Context, in LegacyInput, eval enforcement.Evaluation) (LegacyOutcome, error)
}

// LegacyOutcome is a legacy driver's verdict. A nil Reason keeps the
// evaluation's; a set one replaces it (a zero Reason clears it) while the
// device is Required, and a non-zero one while it is Unknown (a silent
// device is better explained by not_checking_in). Step, when set, replaces
// a Required device's step.
type LegacyOutcome struct {
	Reason *enforcement.Reason
	Step   enforcement.Step
}

func (w *Worker) driveLegacy(ctx context.Context, in LegacyInput, eval enforcement.Evaluation) (LegacyOutcome, error) {
	if sd, ok := w.legacy.(LegacyStepDriver); ok {
		return sd.DriveStep(ctx, in, eval)
	}
	r, err := w.legacy.Drive(ctx, in)
	return LegacyOutcome{Reason: r}, err
}

func (o LegacyOutcome) apply(eval *enforcement.Evaluation) {
	switch eval.Compliance {
	case enforcement.Required:
		if o.Reason != nil {
			eval.Reason = *o.Reason
		}
		if o.Step != "" {
			eval.Step = o.Step
		}
	case enforcement.Unknown:
		if o.Reason != nil && !o.Reason.IsZero() {
			eval.Reason = *o.Reason
		}
	}
}

// deliver writes the device's enforcement (and settings) declaration. A
// deadline counted from Apple's posting date stays as first delivered:
// Apple re-stamps posting dates, and a moving deadline confuses users.
func (w *Worker) deliver(ctx context.Context, id string, p enforcement.Policy, plan *enforcement.DevicePlan,
	pr *PolicyRecord, now time.Time, st *Stats) error {
	spec := plan.DDM.Enforcement
	if old := pr.Delivered; old != nil && p.Deadline.DaysAfterPosting != nil &&
		old.TargetOSVersion == spec.TargetOSVersion && old.TargetBuildVersion == spec.TargetBuildVersion {
		spec.TargetLocalDateTime = old.TargetLocalDateTime
		plan.DDM.Enforcement = spec
		plan.Target.LocalDeadline = spec.TargetLocalDateTime
	}
	decl, err := ddm.NewEnforcement(plan.DDM.DeclarationIdentifier, ddm.EnforcementSpecific{
		TargetOSVersion: spec.TargetOSVersion, TargetBuildVersion: spec.TargetBuildVersion,
		TargetLocalDateTime: spec.TargetLocalDateTime, DetailsURL: spec.DetailsURL,
	})
	if err != nil {
		return fmt.Errorf("policy %s: enforcement declaration: %w", p.ID, err)
	}
	changed, err := w.decls.PutDeviceDeclaration(ctx, id, decl)
	if err != nil {
		return err
	}
	if s := plan.DDM.Settings; s != nil {
		settings := ddm.SoftwareUpdateSettings{Notifications: s.Notifications}
		if s.RapidSecurityResponseEnable != nil {
			settings.RapidSecurityResponse = &ddm.RapidSecurityResponse{Enable: s.RapidSecurityResponseEnable}
		}
		sd, err := ddm.NewSettings(s.DeclarationIdentifier, settings)
		if err != nil {
			return fmt.Errorf("policy %s: settings declaration: %w", p.ID, err)
		}
		if _, err := w.decls.PutDeviceDeclaration(ctx, id, sd); err != nil {
			return err
		}
	}
	if changed || pr.Delivered == nil {
		st.Delivered++
		pr.DeliveredAt = now
		w.log.Debug("enforcement declaration delivered", logkeys.DeviceID, id, logkeys.Policy, p.ID)
	}
	pr.Delivered = &spec
	return nil
}

func (w *Worker) removeDeclarations(ctx context.Context, id, policyID string, st *Stats) error {
	for _, ident := range []string{enforcement.DeclarationIdentifier(policyID), enforcement.SettingsDeclarationIdentifier(policyID)} {
		removed, err := w.decls.DeleteDeviceDeclaration(ctx, id, ident)
		if err != nil {
			return err
		}
		if removed {
			st.Removed++
		}
	}
	return nil
}

// requestFacts queues DeviceInformation and SecurityInfo when the device's
// facts are missing or older than a day: planning needs supervision,
// battery, space and the bootstrap-token requirement.
func (w *Worker) requestFacts(ctx context.Context, d *storage.Device, rec *Record, now time.Time) error {
	if !d.Enrolled || now.Sub(rec.FactsRequestedAt) < factsRetry {
		return nil
	}
	stale := now.Sub(d.Facts.DeviceInfoAt) > w.factsTTL
	needSecurity := d.Facts.Platform == "macOS" && (d.Facts.SecurityInfoAt.IsZero() || now.Sub(d.Facts.SecurityInfoAt) > w.factsTTL)
	if !stale && !needSecurity {
		return nil
	}
	b := commands.New()
	kinds := []string{"DeviceInformation"}
	if needSecurity {
		kinds = append(kinds, "SecurityInfo")
	}
	for _, kind := range kinds {
		raw, rt, err := b.Build(kind, nil, "")
		if err != nil {
			return err
		}
		uuid, _, err := b.Inspect(raw)
		if err != nil {
			return err
		}
		if err := w.store.Enqueue(ctx, storage.Command{UUID: uuid, RequestType: rt, Raw: raw, CreatedAt: now}, []string{d.ID}); err != nil {
			return err
		}
	}
	rec.FactsRequestedAt = now
	return nil
}

func describe(s enforcement.DeviceState) string {
	return fmt.Sprintf("%s/%s/%s/%s", s.Compliance, s.Step, s.Reason, s.TargetVersion)
}

func stateEvent(id, policyID string, prev, next enforcement.DeviceState, r enforcement.Reason, now time.Time) storage.Event {
	msg := fmt.Sprintf("policy %s: %s", policyID, label(next))
	if prev.Compliance != "" {
		msg = fmt.Sprintf("policy %s: %s → %s", policyID, label(prev), label(next))
	}
	if r.Message != "" {
		msg += ": " + r.Message
	}
	data := map[string]string{"policy_id": policyID, "compliance": string(next.Compliance), "step": string(next.Step), "reason": string(next.Reason)}
	return storage.Event{DeviceID: id, At: now, Kind: "enforcement_state", Message: msg, Data: data}
}

func label(s enforcement.DeviceState) string {
	out := string(s.Compliance)
	if s.Step != "" {
		out += " (" + string(s.Step) + ")"
	}
	return out
}
