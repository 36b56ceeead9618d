package rollout

import (
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// Tally counts one policy's devices per ring over a full pass: what
// promotion, auto-pause and the ring lines of a status report need.
type Tally struct {
	Rings map[string]*RingTally
	// All is every targeted device of the policy, whatever its ring.
	All RingTally
}

// RingTally counts one ring's devices.
type RingTally struct {
	// Targeted: in scope and concerned by the target (installed, required
	// or unknown, or already newer). Succeeded: installed or newer.
	Targeted  int
	Succeeded int
	Failing   []Failure
	// LatestDeadline is the latest device-local deadline seen in the ring.
	LatestDeadline string
}

// Failure is a device whose update is failing, and since when.
type Failure struct {
	DeviceID string
	Since    time.Time
}

// NewTally starts an empty tally.
func NewTally() *Tally { return &Tally{Rings: map[string]*RingTally{}} }

// Ring returns the named ring's counts (empty when no device is in it).
func (t *Tally) Ring(name string) *RingTally {
	if r := t.Rings[name]; r != nil {
		return r
	}
	return &RingTally{}
}

// Add counts one device's evaluation in ring (its name, "" without
// rings). since is when the device entered its current state.
func (t *Tally) Add(ring string, ev *enforcement.Evaluation, since time.Time) {
	targeted, succeeded, failing := Classify(ev)
	if !targeted {
		return
	}
	r := t.Rings[ring]
	if r == nil {
		r = &RingTally{}
		t.Rings[ring] = r
	}
	for _, c := range []*RingTally{r, &t.All} {
		c.Targeted++
		if succeeded {
			c.Succeeded++
		}
		if failing {
			c.Failing = append(c.Failing, Failure{DeviceID: ev.DeviceID, Since: since})
		}
		if d := ev.Target.LocalDeadline; d > c.LatestDeadline {
			c.LatestDeadline = d // the fixed layout sorts as text
		}
	}
}

// Classify says how a rollout counts an evaluation. A device out of scope
// or one the target does not concern (no release for its model) is not
// targeted. A device is failing when the update failed and no new attempt
// is under way: a retry in progress is not yet a new failure.
func Classify(ev *enforcement.Evaluation) (targeted, succeeded, failing bool) {
	switch ev.Reason.Code {
	case enforcement.CodeNotInScope, enforcement.CodeNotEnrolled, enforcement.CodePlatformUnsupported:
		return false, false, false
	case enforcement.CodeAlreadyNewer:
		return true, true, false
	}
	switch ev.Compliance {
	case enforcement.Installed:
		return true, true, false
	case enforcement.NotRequired, "":
		return false, false, false
	case enforcement.Unknown:
		return true, false, false
	}
	switch ev.Step {
	case enforcement.StepFailed:
		return true, false, true
	case enforcement.StepDownloading, enforcement.StepPrepared, enforcement.StepInstalling,
		enforcement.StepPendingRestart, enforcement.StepVerifying:
		return true, false, false
	}
	return true, false, ev.Reason.Severity == enforcement.SeverityFailed
}
