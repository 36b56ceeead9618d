package reconcile

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/binrec"
)

// Collections. A pass reads only the compact StateCollection record of
// each device; DetailCollection (plans, history) is written only when
// something changed and read only to explain a device.
const (
	StateCollection  = "enforcement"
	DetailCollection = "enforcement_detail"
)

const recordVersion = 2

// Record is the compact state the engine keeps per device.
type Record struct {
	Version int `json:"v"`
	// Policies: the state per policy id.
	Policies map[string]*PolicyRecord `json:"policies,omitempty"`
	// FactsRequestedAt: when the engine last queued DeviceInformation and
	// SecurityInfo because facts were missing or stale.
	FactsRequestedAt time.Time `json:"facts_requested_at,omitzero"`
}

// PolicyRecord is the device's standing against one policy.
type PolicyRecord struct {
	// State without its history (kept in Detail).
	State enforcement.DeviceState `json:"state"`
	// Reason is the full current reason with its remedy.
	Reason enforcement.Reason `json:"reason,omitzero"`
	// Path and InScope of the latest plan; PlanKey fingerprints the rest.
	Path    enforcement.Path `json:"path,omitempty"`
	InScope bool             `json:"in_scope,omitempty"`
	PlanKey string           `json:"plan_key,omitempty"`
	// DeadlinePassed mirrors the latest evaluation, for summaries.
	DeadlinePassed bool `json:"deadline_passed,omitempty"`
	// Ring is the device's rollout ring under this policy ("" without).
	Ring string `json:"ring,omitempty"`
	// Delivered is the enforcement the device was last given; its deadline
	// stays pinned even if Apple re-stamps the posting date.
	Delivered         *enforcement.EnforcementSpec `json:"delivered,omitempty"`
	DeliveredSettings *enforcement.SettingsSpec    `json:"delivered_settings,omitempty"`
	DeliveredAt       time.Time                    `json:"delivered_at,omitzero"`
}

// Detail is what `device why` shows beyond the compact state.
type Detail struct {
	Version  int                      `json:"v"`
	Policies map[string]*PolicyDetail `json:"policies,omitempty"`
}

// PolicyDetail holds the latest plan and the state history.
type PolicyDetail struct {
	Plan    enforcement.DevicePlan     `json:"plan"`
	History []enforcement.HistoryEntry `json:"history,omitempty"`
}

// DecodeRecord reads a stored Record.
func DecodeRecord(raw []byte) (*Record, error) {
	r := &Record{}
	switch {
	case binrec.IsBinary(raw):
		var err error
		if r, err = decodeRecordBinary(raw); err != nil {
			return nil, err
		}
	case len(raw) > 0: // written before the binary form
		if err := json.Unmarshal(raw, r); err != nil {
			return nil, fmt.Errorf("enforcement record: %w", err)
		}
	}
	if r.Policies == nil {
		r.Policies = map[string]*PolicyRecord{}
	}
	return r, nil
}

func (r *Record) encode() ([]byte, error) {
	r.Version = recordVersion
	return encodeRecordBinary(r), nil
}

// DecodeDetail reads a stored Detail.
func DecodeDetail(raw []byte) (*Detail, error) {
	d := &Detail{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, d); err != nil {
			return nil, fmt.Errorf("enforcement detail: %w", err)
		}
	}
	if d.Policies == nil {
		d.Policies = map[string]*PolicyDetail{}
	}
	return d, nil
}

func (d *Detail) encode() ([]byte, error) {
	d.Version = recordVersion
	return json.Marshal(d)
}

// evaluation rebuilds the summary view of the latest evaluation.
func (pr *PolicyRecord) evaluation(deviceID, policyID string) enforcement.Evaluation {
	s := pr.State
	return enforcement.Evaluation{DeviceID: deviceID, PolicyID: policyID, Compliance: s.Compliance, Step: s.Step,
		Reason: pr.Reason, Path: pr.Path, DeadlinePassed: pr.DeadlinePassed, EvaluatedAt: s.UpdatedAt,
		Target: enforcement.ResolvedTarget{OSVersion: s.TargetVersion, BuildVersion: s.TargetBuild, LocalDeadline: s.LocalDeadline}}
}

// planKey fingerprints what of a plan is worth storing again when it
// changes. Built for every device of every pass, so without fmt.
func planKey(p enforcement.DevicePlan) string {
	b := make([]byte, 0, 96)
	b = strconv.AppendBool(b, p.InScope)
	for _, s := range []string{string(p.Path), string(p.Action), p.Target.OSVersion, p.Target.BuildVersion, p.Target.LocalDeadline} {
		b = append(append(b, '|'), s...)
	}
	for _, r := range p.Reasons {
		b = append(append(b, '|'), r.Code...)
	}
	if l := p.Legacy; l != nil {
		for _, s := range []string{string(l.Step), l.InstallAction, l.ProductKey} {
			b = append(append(b, '|'), s...)
		}
	}
	return string(b)
}
