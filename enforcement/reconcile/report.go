package reconcile

import (
	"context"
	"errors"
	"sort"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
	"github.com/tidemark-mdm/tidemark/storage"
)

// PolicyStatus is one policy's compliance report (`tidemark status`).
type PolicyStatus struct {
	Policy  enforcement.Policy        `json:"policy"`
	Summary enforcement.PolicySummary `json:"summary"`
	// Rings: one line per rollout ring (ringed policies only).
	Rings []rollout.RingStatus `json:"rings,omitempty"`
	// AutoPause is the policy's latest automatic pause, if any.
	AutoPause *rollout.PauseRecord `json:"auto_pause,omitempty"`
}

// Status summarises every policy (or one, when policyID is set) from the
// states the last passes stored.
func (w *Worker) Status(ctx context.Context, policyID string) ([]PolicyStatus, error) {
	policies, _, err := w.inputs(ctx)
	if err != nil {
		return nil, err
	}
	evals := map[string][]enforcement.Evaluation{}
	err = w.store.ForEachBlob(ctx, StateCollection, func(id string, raw []byte) error {
		rec, err := DecodeRecord(raw)
		if err != nil {
			return err
		}
		for pid, pr := range rec.Policies {
			if policyID == "" || pid == policyID {
				evals[pid] = append(evals[pid], pr.evaluation(id, pid))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	facts, err := w.summaryFacts(ctx)
	if err != nil {
		return nil, err
	}
	now := w.now()
	var out []PolicyStatus
	for _, p := range policies {
		if policyID != "" && p.ID != policyID {
			continue
		}
		out = append(out, PolicyStatus{Policy: p, Summary: enforcement.Summarize(evals[p.ID], facts, now, w.opts.RiskWindow)})
	}
	if policyID != "" && len(out) == 0 {
		return nil, storage.ErrNotFound
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Policy.ID < out[j].Policy.ID })
	return out, w.rolloutStatus(ctx, out)
}

// summaryFacts gives each device's platform and OS version for grouping.
func (w *Worker) summaryFacts(ctx context.Context) (map[string]enforcement.DeviceFacts, error) {
	facts := map[string]enforcement.DeviceFacts{}
	after := ""
	for {
		page, err := w.store.Devices(ctx, storage.DeviceFilter{After: after, Limit: pageSize})
		if err != nil {
			return nil, err
		}
		for i := range page {
			d := &page[i]
			facts[d.ID] = enforcement.DeviceFacts{ID: d.ID, Platform: d.Facts.Platform, OSVersion: d.Facts.OSVersion}
		}
		if len(page) < pageSize {
			return facts, nil
		}
		after = page[len(page)-1].ID
	}
}

// Why explains one device (`tidemark device why`).
type Why struct {
	DeviceID string                  `json:"device_id"`
	Facts    enforcement.DeviceFacts `json:"facts"`
	Policies []PolicyWhy             `json:"policies"`
	Events   []storage.Event         `json:"events"`
}

// PolicyWhy is the device's standing against one policy: plan,
// preconditions (the plan's reasons), state with its history, and the
// reason with its remedy.
type PolicyWhy struct {
	PolicyID    string                       `json:"policy_id"`
	PolicyName  string                       `json:"policy_name"`
	State       enforcement.DeviceState      `json:"state"`
	Reason      enforcement.Reason           `json:"reason,omitzero"`
	Plan        enforcement.DevicePlan       `json:"plan"`
	Delivered   *enforcement.EnforcementSpec `json:"delivered,omitempty"`
	DeliveredAt *string                      `json:"delivered_at,omitempty"`
	// Legacy is the legacy driver's own record (steps, attempts, error
	// chains, next planned action), when the driver keeps one.
	Legacy any `json:"legacy,omitempty"`
}

// LegacyExplainer is implemented by legacy drivers that keep a record
// worth showing in `device why`; nil means nothing to show.
type LegacyExplainer interface {
	ExplainLegacy(ctx context.Context, deviceID, policyID string) (any, error)
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
	if eval.Compliance != enforcement.Required {
		r = nil // Drive's reason only ever replaced a Required device's
	}
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

// EventSource reads a device's events.
type EventSource interface {
	Events(ctx context.Context, id string, limit int) ([]storage.Event, error)
}

// Explain reconciles the device now and reports where it stands.
func (w *Worker) Explain(ctx context.Context, id string, events EventSource) (*Why, error) {
	d, err := w.store.Device(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := w.ReconcileDevice(ctx, id); err != nil {
		return nil, err
	}
	f, _, rec, err := w.loadOne(ctx, d)
	if err != nil {
		return nil, err
	}
	detail, err := w.detail(ctx, id)
	if err != nil {
		return nil, err
	}
	policies, _, err := w.inputs(ctx)
	if err != nil {
		return nil, err
	}
	out := &Why{DeviceID: id, Facts: f, Policies: []PolicyWhy{}}
	for _, p := range policies {
		pr := rec.Policies[p.ID]
		if pr == nil {
			continue
		}
		pw := PolicyWhy{PolicyID: p.ID, PolicyName: p.Name, State: pr.State, Reason: pr.Reason, Delivered: pr.Delivered}
		if pd := detail.Policies[p.ID]; pd != nil {
			pw.Plan, pw.State.History = pd.Plan, pd.History
		}
		if !pr.DeliveredAt.IsZero() {
			s := pr.DeliveredAt.UTC().Format("2006-01-02T15:04:05Z")
			pw.DeliveredAt = &s
		}
		if ex, ok := w.legacy.(LegacyExplainer); ok && pr.Path == enforcement.PathLegacy {
			if pw.Legacy, err = ex.ExplainLegacy(ctx, id, p.ID); err != nil {
				return nil, err
			}
		}
		out.Policies = append(out.Policies, pw)
	}
	if events != nil {
		ev, err := events.Events(ctx, id, 50)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		out.Events = ev
	}
	return out, nil
}
