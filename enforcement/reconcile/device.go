package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

// factsRetry bounds how often missing facts are asked for again.
const factsRetry = time.Hour

// redeliverAfter: a delivered declaration is written again this often even
// when nothing changed, which repairs a declaration removed behind our back.
const redeliverAfter = 24 * time.Hour

// deviceWrites is what one device's pass changed.
type deviceWrites struct {
	dirty  bool
	detail map[string]*PolicyDetail // policy id → new plan and history entries
	events []storage.Event
}

// reconcileWith evaluates one device against every policy and applies the
// plans. Storage is written only when something changed.
func (w *Worker) reconcileWith(ctx context.Context, d *storage.Device, in stored, policies []enforcement.Policy, cat *enforcement.Catalog, out *writes) (Stats, error) {
	st := Stats{Devices: 1}
	now := w.now()
	facts, us, rec, err := decodeStored(d, in)
	if err != nil {
		return st, err
	}
	dw := &deviceWrites{detail: map[string]*PolicyDetail{}}
	live := map[string]bool{}
	inScope := false
	for _, p := range policies {
		live[p.ID] = true
		if err := w.policy(ctx, d, facts, us, p, cat, rec, now, &st, dw); err != nil {
			return st, err
		}
		inScope = inScope || rec.Policies[p.ID].InScope
	}
	for id := range rec.Policies {
		if !live[id] {
			if err := w.removeDeclarations(ctx, d.ID, id, &st); err != nil {
				return st, err
			}
			delete(rec.Policies, id)
			dw.dirty = true
		}
	}
	// Facts are only requested for devices a policy targets: without a
	// policy the server sends nothing on its own. A paused policy still
	// reads them: pausing stops updates, not the compliance report.
	if inScope {
		requested, err := w.requestFacts(ctx, d, rec, now)
		if err != nil {
			return st, err
		}
		dw.dirty = dw.dirty || requested
	}
	return st, w.collect(ctx, d.ID, rec, dw, live, out)
}

// collect adds a device's changes to the page's batch.
func (w *Worker) collect(ctx context.Context, id string, rec *Record, dw *deviceWrites, live map[string]bool, out *writes) error {
	out.events = append(out.events, dw.events...)
	if !dw.dirty {
		return nil
	}
	raw, err := rec.encode()
	if err != nil {
		return err
	}
	out.records[id] = raw
	if len(dw.detail) == 0 {
		return nil
	}
	detail, err := w.detail(ctx, id)
	if err != nil {
		return err
	}
	for pid := range detail.Policies {
		if !live[pid] {
			delete(detail.Policies, pid)
		}
	}
	for pid, nd := range dw.detail {
		old := detail.Policies[pid]
		if old == nil {
			old = &PolicyDetail{}
		}
		old.Plan = nd.Plan
		for _, h := range nd.History {
			old.History = append(old.History, h)
		}
		if len(old.History) > enforcement.MaxHistory {
			old.History = old.History[len(old.History)-enforcement.MaxHistory:]
		}
		detail.Policies[pid] = old
	}
	draw, err := detail.encode()
	if err != nil {
		return err
	}
	out.details[id] = draw
	return nil
}

func (w *Worker) detail(ctx context.Context, id string) (*Detail, error) {
	raw, err := w.store.Blob(ctx, DetailCollection, id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	return DecodeDetail(raw)
}

// stored is what a pass reads of one device besides its device record:
// the engine's record, the legacy update state and the DDM status.
type stored struct{ record, update, status []byte }

// load reads the stored inputs of many devices in one transaction (a
// page of a pass), not three per device.
func (w *Worker) load(ctx context.Context, ids []string) (map[string]stored, error) {
	m, err := w.store.Blobs(ctx, ids, StateCollection, commands.UpdateStateCollection, storage.DDMStatusCollection)
	if err != nil {
		return nil, err
	}
	out := make(map[string]stored, len(ids))
	for _, id := range ids {
		out[id] = stored{record: m[StateCollection][id], update: m[commands.UpdateStateCollection][id],
			status: m[storage.DDMStatusCollection][id]}
	}
	return out, nil
}

// loadOne is load for one device, decoded.
func (w *Worker) loadOne(ctx context.Context, d *storage.Device) (enforcement.DeviceFacts, *commands.UpdateState, *Record, error) {
	m, err := w.load(ctx, []string{d.ID})
	if err != nil {
		return enforcement.DeviceFacts{}, nil, nil, err
	}
	return decodeStored(d, m[d.ID])
}

func decodeStored(d *storage.Device, in stored) (enforcement.DeviceFacts, *commands.UpdateState, *Record, error) {
	var us *commands.UpdateState
	var status *ddm.DeviceStatus
	var err error
	if in.update != nil {
		if us, err = commands.DecodeUpdateState(in.update); err != nil {
			return enforcement.DeviceFacts{}, nil, nil, err
		}
	}
	if in.status != nil {
		status = &ddm.DeviceStatus{}
		if err := json.Unmarshal(in.status, status); err != nil {
			return enforcement.DeviceFacts{}, nil, nil, fmt.Errorf("stored DDM status of %s: %w", d.ID, err)
		}
	}
	rec, err := DecodeRecord(in.record)
	if err != nil {
		return enforcement.DeviceFacts{}, nil, nil, err
	}
	return BuildFacts(d, status, us), us, rec, nil
}

// policy evaluates and applies one policy for one device.
func (w *Worker) policy(ctx context.Context, d *storage.Device, f enforcement.DeviceFacts, us *commands.UpdateState,
	p enforcement.Policy, cat *enforcement.Catalog, rec *Record, now time.Time, st *Stats, dw *deviceWrites) error {
	st.Evaluations++
	pr := rec.Policies[p.ID]
	if pr == nil {
		pr = &PolicyRecord{State: enforcement.DeviceState{DeviceID: d.ID, PolicyID: p.ID}}
		rec.Policies[p.ID] = pr
		dw.dirty = true
	}
	g := w.gate(p, &f, cat, now) // rollout control: the device's ring, deadline and holds
	p = g.Policy
	plan := enforcement.Plan(f, p, cat, now, w.opts)
	eval := enforcement.Evaluate(f, p, cat, now, w.opts)
	g.holdBack(&plan, &eval, f.Location, now)
	if err := w.applyPlan(ctx, d.ID, p, &plan, pr, now, st, dw); err != nil {
		return err
	}
	if plan.Path == enforcement.PathLegacy && w.legacy != nil && !p.Paused && plan.InScope {
		out, err := w.driveLegacy(ctx, LegacyInput{Device: d, Facts: f, Policy: p, Plan: plan, Update: us, Now: now}, eval)
		if err != nil {
			return fmt.Errorf("legacy driver for %s: %w", d.ID, err)
		}
		out.apply(&eval)
	}
	g.explainWindow(&eval)
	next, changed := enforcement.Transition(pr.State, eval, now)
	g.count(pr, &eval, next.Since, dw)
	pk := planKey(plan)
	if !changed && pk == pr.PlanKey && pr.Reason.Code == eval.Reason.Code && pr.Reason.Message == eval.Reason.Message &&
		pr.DeadlinePassed == eval.DeadlinePassed {
		return nil
	}
	dw.dirty = true
	pd := &PolicyDetail{Plan: plan}
	if changed {
		st.StateChanges++
		if describe(pr.State) != describe(next) {
			dw.events = append(dw.events, stateEvent(d.ID, p.ID, pr.State, next, eval.Reason, now))
		}
		pd.History = next.History
		next.History = nil
		pr.State = next
	}
	dw.detail[p.ID] = pd
	pr.Reason, pr.PlanKey, pr.Path, pr.InScope, pr.DeadlinePassed = eval.Reason, pk, plan.Path, plan.InScope, eval.DeadlinePassed
	return nil
}

// applyPlan makes the device's declarations match the plan.
func (w *Worker) applyPlan(ctx context.Context, id string, p enforcement.Policy, plan *enforcement.DevicePlan,
	pr *PolicyRecord, now time.Time, st *Stats, dw *deviceWrites) error {
	switch {
	case plan.Path == enforcement.PathDDM && plan.Action == enforcement.ActionDeliver && plan.DDM != nil:
		return w.deliver(ctx, id, p, plan, pr, now, st, dw)
	case plan.Action == enforcement.ActionRemove || plan.Path != enforcement.PathDDM:
		if pr.Delivered == nil {
			return nil
		}
		if err := w.removeDeclarations(ctx, id, p.ID, st); err != nil {
			return err
		}
		pr.Delivered, pr.DeliveredSettings, pr.DeliveredAt = nil, nil, time.Time{}
		dw.dirty = true
	}
	return nil
}

// deliver writes the device's enforcement (and settings) declaration. A
// deadline counted from Apple's posting date stays as first delivered:
// Apple re-stamps posting dates, and a moving deadline confuses users.
func (w *Worker) deliver(ctx context.Context, id string, p enforcement.Policy, plan *enforcement.DevicePlan,
	pr *PolicyRecord, now time.Time, st *Stats, dw *deviceWrites) error {
	spec := plan.DDM.Enforcement
	if old := pr.Delivered; old != nil && p.Deadline.DaysAfterPosting != nil &&
		old.TargetOSVersion == spec.TargetOSVersion && old.TargetBuildVersion == spec.TargetBuildVersion {
		spec.TargetLocalDateTime = old.TargetLocalDateTime
		plan.DDM.Enforcement = spec
		plan.Target.LocalDeadline = spec.TargetLocalDateTime
	}
	if pr.Delivered != nil && *pr.Delivered == spec && reflect.DeepEqual(pr.DeliveredSettings, plan.DDM.Settings) &&
		now.Sub(pr.DeliveredAt) < redeliverAfter {
		return nil
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
		w.log.Debug("enforcement declaration delivered", logkeys.DeviceID, id, logkeys.Policy, p.ID)
	}
	pr.Delivered, pr.DeliveredSettings, pr.DeliveredAt = &spec, plan.DDM.Settings, now
	dw.dirty = true
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
// facts are missing or older than half the status TTL: planning needs
// supervision, battery, space and the bootstrap-token requirement, and the
// report needs a current version.
func (w *Worker) requestFacts(ctx context.Context, d *storage.Device, rec *Record, now time.Time) (bool, error) {
	if !d.Enrolled || now.Sub(rec.FactsRequestedAt) < factsRetry {
		return false, nil
	}
	stale := now.Sub(d.Facts.DeviceInfoAt) > w.factsTTL
	needSecurity := d.Facts.Platform == "macOS" && (d.Facts.SecurityInfoAt.IsZero() || now.Sub(d.Facts.SecurityInfoAt) > w.factsTTL)
	if !stale && !needSecurity {
		return false, nil
	}
	b := commands.New()
	kinds := []string{"DeviceInformation"}
	if needSecurity {
		kinds = append(kinds, "SecurityInfo")
	}
	// A silent device must not collect a pile of identical requests.
	queued, err := w.store.Queue(ctx, d.ID)
	if err != nil {
		return false, err
	}
	for _, kind := range kinds {
		if slices.ContainsFunc(queued, func(e storage.QueueEntry) bool { return e.RequestType == kind }) {
			continue
		}
		raw, rt, err := b.Build(kind, nil, "")
		if err != nil {
			return false, err
		}
		uuid, _, err := b.Inspect(raw)
		if err != nil {
			return false, err
		}
		if err := w.store.Enqueue(ctx, storage.Command{UUID: uuid, RequestType: rt, Raw: raw, CreatedAt: now}, []string{d.ID}); err != nil {
			return false, err
		}
	}
	rec.FactsRequestedAt = now
	return true, nil
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
