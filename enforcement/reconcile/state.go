package reconcile

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// StateCollection is the per-device blob collection of Record.
const StateCollection = "enforcement"

const recordVersion = 1

// Record is everything the engine keeps about one device.
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
	State enforcement.DeviceState `json:"state"`
	// Plan is the latest plan, shown by `device why`.
	Plan enforcement.DevicePlan `json:"plan"`
	// Reason is the full current reason with its remedy.
	Reason enforcement.Reason `json:"reason,omitzero"`
	// Delivered is the enforcement the device was last given; its deadline
	// stays pinned even if Apple re-stamps the posting date.
	Delivered *enforcement.EnforcementSpec `json:"delivered,omitempty"`
	// DeliveredAt: when Delivered was last written.
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	// Evaluation is the latest evaluation (for status summaries).
	Evaluation enforcement.Evaluation `json:"evaluation"`
}

// DecodeRecord reads a stored Record.
func DecodeRecord(raw []byte) (*Record, error) {
	r := &Record{}
	if len(raw) > 0 {
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
	return json.Marshal(r)
}
