package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// installJob is the enforcement declaration at the head of the queue.
type installJob struct {
	id       string
	spec     ddm.EnforcementSpecific
	deadline time.Time
	failed   bool
}

// AdvanceTo moves the simulated clock to t (never backwards), lets the
// current update progress, and reports what changed.
func (a *DDM) AdvanceTo(ctx context.Context, t time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.After(a.clock) {
		a.clock = t
	}
	a.progress()
	return a.sendStatus(ctx)
}

// SetFailure makes updates fail at state with reason (state "" clears).
func (a *DDM) SetFailure(state ddm.InstallState, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.opts.FailAt, a.opts.FailReason = state, reason
}

// progress works through the enforcement queue up to the clock: each
// update whose deadline has come is installed, then the queue is evaluated
// again against the new OS, as Apple describes.
func (a *DDM) progress() {
	for range 16 { // a queue longer than this is not a real fleet
		a.pickJob()
		if a.job == nil {
			a.state = ddm.InstallStateNone
			return
		}
		phase := a.phaseAt(a.clock)
		if a.failsAt(phase) {
			a.fail()
			return
		}
		if phase != "" {
			a.state = phase
			return
		}
		a.complete()
	}
}

// pickJob sets the head of the queue of active enforcement declarations
// newer than the running OS; those not newer are marked as errors.
func (a *DDM) pickJob() {
	installed, _ := osversion.Parse(a.d.Attributes().OSVersion)
	var specs []ddm.EnforcementSpecific
	var ids []string
	for id, h := range a.decls {
		if h.decl.Type != ddm.TypeEnforcementSpecific || !h.active {
			continue
		}
		e, err := h.decl.Enforcement()
		if err != nil {
			continue
		}
		specs, ids = append(specs, e), append(ids, id)
	}
	queue, ignored := ddm.EnforcementQueue(installed, specs)
	for _, e := range ignored {
		for i, s := range specs {
			if s == e {
				h := a.decls[ids[i]]
				h.valid = false
				h.reasons = []ddm.StatusReason{{Code: "Error.TargetVersionNotNewer",
					Description: fmt.Sprintf("target %s is not newer than the installed %s", e.TargetOSVersion, installed)}}
			}
		}
	}
	if len(queue) == 0 {
		a.job = nil
		return
	}
	head := queue[0]
	if a.job != nil && a.job.spec == head {
		return
	}
	for i, s := range specs {
		if s == head {
			dl, err := ddm.ParseLocalDateTime(head.TargetLocalDateTime)
			if err != nil {
				dl = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			a.job = &installJob{id: ids[i], spec: head, deadline: dl}
			a.reason = &ddm.InstallReason{Reasons: []string{"declaration"}, DeclarationID: ids[i]}
			return
		}
	}
}

// phaseAt is the install state of the current job at t; "" means done.
func (a *DDM) phaseAt(t time.Time) ddm.InstallState {
	dl := a.job.deadline
	switch {
	case !t.Before(dl):
		return ""
	case !t.Before(dl.Add(-a.opts.InstallBefore)):
		return ddm.InstallStateInstalling
	case !t.Before(dl.Add(-a.opts.PrepareBefore)):
		return ddm.InstallStatePrepared
	case !t.Before(dl.Add(-a.opts.DownloadBefore)):
		return ddm.InstallStateDownloading
	}
	return ddm.InstallStateWaiting
}

// failsAt reports whether the configured failure applies at phase: at the
// failing state or anything later.
func (a *DDM) failsAt(phase ddm.InstallState) bool {
	order := []ddm.InstallState{ddm.InstallStateWaiting, ddm.InstallStateDownloading,
		ddm.InstallStatePrepared, ddm.InstallStateInstalling, ""}
	rank := func(s ddm.InstallState) int {
		for i, o := range order {
			if o == s {
				return i
			}
		}
		return -1
	}
	f := rank(a.opts.FailAt)
	return a.opts.FailAt != "" && f > 0 && rank(phase) >= f
}

func (a *DDM) fail() {
	a.state = ddm.InstallStateFailed
	if !a.job.failed {
		a.job.failed = true
		a.failure = ddm.FailureReason{Count: a.failure.Count + 1, Reason: a.opts.FailReason,
			Timestamp: a.clock.UTC().Format(time.RFC3339)}
	}
}

// complete installs the job's version: the device now runs it, so its
// attributes (and DeviceInformation answers) change too.
func (a *DDM) complete() {
	v := a.job.spec.TargetOSVersion
	build := a.job.spec.TargetBuildVersion
	if build == "" && a.opts.BuildFor != nil {
		build = a.opts.BuildFor(v)
	}
	if build == "" {
		build = "SIM" + strings.ReplaceAll(v, ".", "")
	}
	a.d.Update(func(at *Attributes) {
		at.OSVersion, at.BuildVersion, at.SupplementalBuild, at.SupplementalExtra = v, build, "", ""
	})
	a.job, a.failure = nil, ddm.FailureReason{}
}
