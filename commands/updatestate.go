package commands

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// UpdateStateCollection is the per-device blob collection of UpdateState.
const UpdateStateCollection = "updatestate"

// maxStatusHistory bounds the status points kept per product key.
const maxStatusHistory = 50

// UpdateState is what the legacy OS-update commands told us about a
// device, kept decoded so decisions never re-parse raw plists.
type UpdateState struct {
	Version int `json:"v"`

	LastScanAt time.Time `json:"last_scan_at,omitzero"`
	// LastScanStatus is the ScheduleOSUpdateScan answer (Acknowledged, Error…).
	LastScanStatus string `json:"last_scan_status,omitempty"`

	AvailableAt time.Time               `json:"available_at,omitzero"`
	Available   []mdm.AvailableOSUpdate `json:"available"`

	ScheduledAt     time.Time          `json:"scheduled_at,omitzero"`
	ScheduleResults []mdm.UpdateResult `json:"schedule_results,omitempty"`

	StatusAt time.Time                `json:"status_at,omitzero"`
	Status   []mdm.OSUpdateStatusItem `json:"status,omitempty"`
	History  map[string][]StatusPoint `json:"history,omitempty"`
	Warnings []string                 `json:"warnings,omitempty"`

	LastError *ErrorRecord `json:"last_error,omitempty"`
}

// StatusPoint is one observation of an update's progress.
type StatusPoint struct {
	At       time.Time `json:"at"`
	Source   string    `json:"source"` // OSUpdateStatus or ScheduleOSUpdate
	Status   string    `json:"status"`
	Percent  float64   `json:"percent"`
	Download bool      `json:"downloaded"`
	Action   string    `json:"install_action,omitempty"`
}

// ErrorRecord is the last failed update command.
type ErrorRecord struct {
	At          time.Time            `json:"at"`
	RequestType string               `json:"request_type"`
	Status      string               `json:"status"`
	ProductKey  string               `json:"product_key,omitempty"`
	ErrorChain  []mdm.ErrorChainItem `json:"error_chain,omitempty"`
}

const updateStateVersion = 1

func isUpdateCommand(rt string) bool {
	switch rt {
	case mdm.RequestAvailableOSUpdates, mdm.RequestScheduleOSUpdate, mdm.RequestOSUpdateStatus, mdm.RequestScheduleOSUpdateScan:
		return true
	}
	return false
}

// DecodeUpdateState reads a stored UpdateState (nil input → zero state).
func DecodeUpdateState(raw []byte) (*UpdateState, error) {
	st := &UpdateState{}
	if len(raw) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("update state: %w", err)
	}
	return st, nil
}

// mutation wraps a change of the state as a storage blob mutation.
func mutation(change func(st *UpdateState)) storage.ResultEffects {
	return storage.ResultEffects{Blobs: []storage.BlobMutation{{
		Collection: UpdateStateCollection,
		Mutate: func(old []byte) ([]byte, error) {
			st, err := DecodeUpdateState(old)
			if err != nil {
				return nil, err
			}
			change(st)
			st.Version = updateStateVersion
			return json.Marshal(st)
		},
	}}}
}

func (in *Interpreter) updateEffects(rt string, raw []byte, at time.Time) (storage.ResultEffects, error) {
	switch rt {
	case mdm.RequestAvailableOSUpdates:
		r, err := mdm.DecodeAvailableOSUpdates(raw)
		if err != nil {
			return storage.ResultEffects{}, err
		}
		return mutation(func(st *UpdateState) {
			st.AvailableAt, st.Available = at, r.AvailableOSUpdates
			if st.Available == nil {
				st.Available = []mdm.AvailableOSUpdate{}
			}
			st.Warnings = r.Warnings
		}), nil
	case mdm.RequestScheduleOSUpdateScan:
		return mutation(func(st *UpdateState) { st.LastScanAt, st.LastScanStatus = at, mdm.StatusAcknowledged }), nil
	case mdm.RequestScheduleOSUpdate:
		r, err := mdm.DecodeScheduleOSUpdate(raw)
		if err != nil {
			return storage.ResultEffects{}, err
		}
		return mutation(func(st *UpdateState) {
			st.ScheduledAt, st.ScheduleResults = at, r.UpdateResults
			for _, u := range r.UpdateResults {
				st.addPoint(u.ProductKey, StatusPoint{At: at, Source: rt, Status: u.Status, Action: u.InstallAction})
				if u.InstallAction == "Error" || len(u.ErrorChain) > 0 {
					st.LastError = &ErrorRecord{At: at, RequestType: rt, Status: u.Status, ProductKey: u.ProductKey, ErrorChain: u.ErrorChain}
				}
			}
			st.Warnings = r.Warnings
		}), nil
	case mdm.RequestOSUpdateStatus:
		r, err := mdm.DecodeOSUpdateStatus(raw)
		if err != nil {
			return storage.ResultEffects{}, err
		}
		return mutation(func(st *UpdateState) {
			st.StatusAt, st.Status = at, r.OSUpdateStatus
			for _, s := range r.OSUpdateStatus {
				st.addPoint(s.ProductKey, StatusPoint{At: at, Source: rt, Status: s.Status,
					Percent: s.DownloadPercentComplete.Float64(), Download: s.IsDownloaded})
			}
			st.Warnings = r.Warnings
		}), nil
	}
	return storage.ResultEffects{}, nil
}

// updateError records an Error/CommandFormatError answer to an update command.
func (in *Interpreter) updateError(rt, status string, raw []byte, at time.Time) (storage.ResultEffects, error) {
	rep, err := mdm.DecodeReport(raw)
	if err != nil {
		return storage.ResultEffects{}, err
	}
	if status == mdm.StatusNotNow {
		return storage.ResultEffects{}, nil
	}
	return mutation(func(st *UpdateState) {
		st.LastError = &ErrorRecord{At: at, RequestType: rt, Status: status, ErrorChain: rep.ErrorChain}
		if rt == mdm.RequestScheduleOSUpdateScan {
			st.LastScanAt, st.LastScanStatus = at, status
		}
	}), nil
}

// addPoint appends to a product key's bounded history.
func (st *UpdateState) addPoint(key string, p StatusPoint) {
	if st.History == nil {
		st.History = map[string][]StatusPoint{}
	}
	h := append(st.History[key], p)
	if len(h) > maxStatusHistory {
		h = h[len(h)-maxStatusHistory:]
	}
	st.History[key] = h
}
