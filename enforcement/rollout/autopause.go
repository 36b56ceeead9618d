package rollout

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// EventKind is the server event recorded when a policy pauses itself.
// Its Data (PauseRecord.EventData) is flat and stable, ready to be sent
// as a webhook payload.
const EventKind = "policy_auto_paused"

// PauseActor is who the policy service records as pausing the policy.
const PauseActor = "auto-pause"

// maxListedDevices bounds the device list kept in a PauseRecord.
const maxListedDevices = 50

// PauseRecord says why a policy paused itself.
type PauseRecord struct {
	At       time.Time `json:"at"`
	PolicyID string    `json:"policy_id"`
	// Ring is the ring whose failures crossed the threshold; empty when
	// the policy as a whole did.
	Ring             string  `json:"ring,omitempty"`
	Failed           int     `json:"failed"`
	Targeted         int     `json:"targeted"`
	FailurePercent   float64 `json:"failure_percent"`
	ThresholdPercent float64 `json:"threshold_percent"`
	MinDevices       int     `json:"min_devices"`
	Window           string  `json:"window"`
	// Devices are the failing devices counted (at most 50, sorted).
	Devices []string `json:"devices"`
	Message string   `json:"message"`
}

// CheckAutoPause reports whether the policy must pause itself: within a
// started ring (in ring order), or the policy as a whole, at least
// MinDevices are targeted and the devices whose failure began within the
// window, not acknowledged by an earlier pause, reach FailurePercent of
// them. nil when the policy is paused, auto-pause is off, or nothing
// crossed.
func CheckAutoPause(p *enforcement.Policy, st *State, t *Tally, now time.Time) *PauseRecord {
	s, err := p.AutoPauseSettings()
	if err != nil || !s.Enabled || p.Paused {
		return nil
	}
	for i, r := range p.Rings {
		if !st.ringStarted(p, i) {
			break
		}
		if rec := crossed(p, r.Name, t.Ring(r.Name), st, s, now); rec != nil {
			return rec
		}
	}
	return crossed(p, "", &t.All, st, s, now)
}

func crossed(p *enforcement.Policy, ring string, c *RingTally, st *State, s enforcement.AutoPauseSettings, now time.Time) *PauseRecord {
	if c.Targeted == 0 || c.Targeted < s.MinDevices {
		return nil
	}
	var ids []string
	for _, f := range c.Failing {
		if st.acknowledged(f.DeviceID) || now.Sub(f.Since) > s.Window {
			continue
		}
		ids = append(ids, f.DeviceID)
	}
	if len(ids) == 0 || float64(len(ids))*100 < s.FailurePercent*float64(c.Targeted) {
		return nil
	}
	slices.Sort(ids)
	rec := &PauseRecord{At: now, PolicyID: p.ID, Ring: ring, Failed: len(ids), Targeted: c.Targeted,
		FailurePercent: percent(len(ids), c.Targeted), ThresholdPercent: s.FailurePercent, MinDevices: s.MinDevices,
		Window: s.Window.String(), Devices: ids[:min(len(ids), maxListedDevices)]}
	where := "policy " + p.ID
	if ring != "" {
		where = "ring " + ring + " of policy " + p.ID
	}
	rec.Message = fmt.Sprintf("%s paused itself: %d of %d targeted devices failed within %s (%.1f %%, threshold %s); "+
		"devices already updated keep their update; resume the policy to continue",
		where, rec.Failed, rec.Targeted, fmtWindow(s.Window), rec.FailurePercent, formatPercent(s.FailurePercent))
	return rec
}

// RecordPause keeps the pause in the State and acknowledges every device
// failing in the policy now, so that resuming does not pause it again for
// failures the admin has already seen.
func (st *State) RecordPause(rec *PauseRecord, t *Tally) {
	st.LastPause = rec
	ids := make([]string, 0, len(t.All.Failing))
	for _, f := range t.All.Failing {
		ids = append(ids, f.DeviceID)
	}
	st.acknowledge(ids)
}

// EventData flattens the record for a server event (and a webhook).
func (r *PauseRecord) EventData() map[string]string {
	return map[string]string{
		"policy_id": r.PolicyID, "ring": r.Ring, "at": r.At.UTC().Format(time.RFC3339),
		"failed": strconv.Itoa(r.Failed), "targeted": strconv.Itoa(r.Targeted),
		"failure_percent":   strconv.FormatFloat(r.FailurePercent, 'f', 1, 64),
		"threshold_percent": strconv.FormatFloat(r.ThresholdPercent, 'f', -1, 64),
		"min_devices":       strconv.Itoa(r.MinDevices), "window": r.Window,
		"devices": strings.Join(r.Devices, ","),
	}
}

func fmtWindow(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return d.String()
}
