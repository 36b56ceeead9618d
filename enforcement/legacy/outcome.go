package legacy

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// next is the action the driver plans after this pass, with its time.
func (p *pass) next() Next {
	t, r := p.t, p.rec
	switch {
	case p.notNow():
		return Next{Action: "wait_for_checkin", Why: "the device answered NotNow (locked or busy); its queued commands are retried at its next check-in"}
	case p.silent() && len(p.queued) > 0:
		return Next{Action: "wait_for_checkin", Why: "the device has not checked in since " + seen(p.in.Facts.LastSeen) + "; its commands wait in the queue"}
	case p.planned != nil: // set only where nothing was sent this pass
		return *p.planned
	}
	switch t.Phase {
	case PhaseFind:
		if p.isQueued(mdm.RequestAvailableOSUpdates) {
			return Next{Action: "wait_for_answer", Why: "a scan is queued"}
		}
		return Next{Action: "scan", At: r.Requested[mdm.RequestAvailableOSUpdates].Add(p.cfg.ScanInterval), Why: "find " + t.Target + " in the device's available updates"}
	case PhaseRequested:
		return Next{Action: "wait_for_answer", At: t.LastAction.QueuedAt, Why: "ScheduleOSUpdate " + t.LastAction.InstallAction + " is queued"}
	case PhaseVerifying:
		return Next{Action: "verify", At: r.Requested[mdm.RequestDeviceInformation].Add(p.cfg.PollFast), Why: "DeviceInformation until it reports " + t.Target}
	case PhaseDownloading, PhaseInstalling, PhaseInstallLater:
		every, _ := p.pollEvery()
		return Next{Action: "poll", At: r.Requested[mdm.RequestOSUpdateStatus].Add(every), Why: "OSUpdateStatus every " + every.String()}
	}
	return Next{Action: "none"}
}

// outcome is the reason and step the driver reports while the update is
// required. A zero reason means "nothing to explain"; the evaluation's own
// reason is kept only when the driver does not drive (blocked, unknown).
func (p *pass) outcome() (enforcement.Reason, enforcement.Step) {
	step := p.phaseStep()
	if r, ok := p.trackReason(); ok {
		return r, adjustStep(step, r)
	}
	if p.silent() {
		return enforcement.NewReason(enforcement.CodeNotCheckingIn, "last_seen", seen(p.in.Facts.LastSeen)), adjustStep(step, enforcement.Reason{Severity: enforcement.SeverityWaiting})
	}
	if r, ok := p.waitingPrecondition(); ok {
		return r, adjustStep(step, r)
	}
	if r, ok := p.planReason(enforcement.CodePushFailing); ok && p.pushFailing() {
		return r, adjustStep(step, r)
	}
	if quiet(step) && p.eval.DeadlinePassed {
		return enforcement.NewReason(enforcement.CodeDeadlinePassed, "deadline", p.in.Plan.Target.LocalDeadline,
			"installed", p.in.Facts.OSVersion), step
	}
	return enforcement.Reason{}, step
}

func (p *pass) phaseStep() enforcement.Step {
	t := p.t
	switch t.Phase {
	case PhaseReady:
		if t.Downloaded {
			return enforcement.StepPrepared
		}
	case PhaseDownloading:
		if t.LastStatus != nil && t.LastStatus.Status == mdm.UpdateStatusDownloading {
			return enforcement.StepDownloading
		}
		return enforcement.StepDelivered
	case PhaseInstallLater:
		if t.Downloaded {
			return enforcement.StepPendingRestart
		}
		return enforcement.StepDelivered
	case PhaseInstalling:
		if !t.InstallStartedAt.IsZero() {
			return enforcement.StepInstalling
		}
		return enforcement.StepDelivered
	case PhaseVerifying:
		return enforcement.StepVerifying
	}
	return enforcement.StepPlanned
}

// trackReason explains the track: a fallback, then an open failure, then
// what the device reports, then stalls, idleness and a missing offer.
func (p *pass) trackReason() (enforcement.Reason, bool) {
	t := p.t
	deadline := p.in.Plan.Target.LocalDeadline
	switch {
	case t.Fallback != nil && t.Phase != PhaseInstalling && t.Phase != PhaseVerifying:
		code := enforcement.CodeFallbackRequested
		if !t.Fallback.IssuedAt.IsZero() {
			code = enforcement.CodeFallbackIssued
		}
		return enforcement.NewReason(code, "because", string(t.Fallback.Because), "install_action", t.Fallback.Action, "deadline", deadline), true
	case t.FailureOpen && t.LastFailure != nil:
		return p.failureReason(t.LastFailure), true
	case t.Condition != nil && t.Condition.Code != "":
		return p.conditionReason(t.Condition), true
	case len(t.ZeroProgress) > 0:
		code := enforcement.CodeDownloadStalled
		if t.Assumed && len(t.ZeroProgress) > p.cfg.StallChecks {
			// Still nothing after the install request: a person must act.
			code = enforcement.CodeDownloadStuck
		}
		return enforcement.NewReason(code, "checks", strconv.Itoa(len(t.ZeroProgress)), "since", stamp(t.ZeroProgress[0])), true
	case t.IdlePolls > 0:
		return enforcement.NewReason(enforcement.CodeIdleAfterInstallRequest, "polls", strconv.Itoa(t.IdlePolls)), true
	case t.Phase == PhaseFind && t.NotFound.Scans > 0:
		r := enforcement.NewReason(enforcement.CodeProductKeyNotFound, "target", t.Target,
			"scans", strconv.Itoa(t.NotFound.Scans), "since", stamp(t.NotFound.FirstAt))
		if p.notFoundFailed() {
			r.Severity = enforcement.SeverityFailed
		}
		return r, true
	}
	return enforcement.Reason{}, false
}

// notFoundFailed: the target stayed missing for NotFoundScans scans over
// at least NotFoundAge.
func (p *pass) notFoundFailed() bool {
	nf := p.t.NotFound
	return nf.Scans >= p.cfg.NotFoundScans && nf.LastAt.Sub(nf.FirstAt) >= p.cfg.NotFoundAge
}

func (p *pass) failureReason(f *Failure) enforcement.Reason {
	kv := []string{"detail", orText(f.Detail, "no detail"), "count", strconv.Itoa(p.t.Failures),
		"attempts", strconv.Itoa(p.t.Attempts), "at", stamp(f.At)}
	switch f.Code {
	case enforcement.CodeProductKeyNotFound:
		kv = append(kv, "target", p.t.Target)
	case enforcement.CodeMaxRuntimeExceeded:
		kv = append(kv, "max_runtime", p.cfg.MaxRuntime.String())
	}
	if !p.t.Backoff.IsZero() && p.t.Backoff.After(p.now) {
		kv = append(kv, "retry_at", stamp(p.t.Backoff))
	}
	return enforcement.NewReason(f.Code, kv...)
}

func (p *pass) conditionReason(c *Condition) enforcement.Reason {
	f := p.in.Facts
	switch c.Code {
	case enforcement.CodeBatteryLow:
		level := "unknown"
		if f.Battery != nil {
			level = strconv.Itoa(int(*f.Battery*100+0.5)) + " %"
		}
		return enforcement.NewReason(c.Code, "battery", level, "status", c.Status)
	case enforcement.CodeInsufficientSpace:
		free, needed := "unknown", "unknown"
		if f.FreeSpace != nil {
			free = gigabytes(*f.FreeSpace)
		}
		if o := p.t.Offer; o != nil && o.DownloadSize > 0 {
			needed = gigabytes(2 * o.DownloadSize) // the package and its expanded form
		}
		return enforcement.NewReason(c.Code, "free", free, "needed", needed, "status", c.Status)
	case enforcement.CodeUpdateFailed:
		return enforcement.NewReason(c.Code, "detail", c.Status, "count", strconv.Itoa(p.t.Failures))
	}
	return enforcement.NewReason(c.Code, "status", c.Status)
}

// adjustStep: with nothing running, a failure shows as failed and a
// waiting reason as waiting; progress steps stay visible.
func adjustStep(step enforcement.Step, r enforcement.Reason) enforcement.Step {
	if !quiet(step) {
		return step
	}
	switch r.Severity {
	case enforcement.SeverityFailed:
		return enforcement.StepFailed
	case enforcement.SeverityWaiting:
		return enforcement.StepWaiting
	}
	return step
}

func quiet(s enforcement.Step) bool {
	return s == enforcement.StepPlanned || s == enforcement.StepDelivered || s == enforcement.StepWaiting || s == enforcement.StepPrepared
}

func gigabytes(n int64) string { return fmt.Sprintf("%.1f GB", float64(n)/1e9) }

func seen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return stamp(t)
}
