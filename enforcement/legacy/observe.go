package legacy

import (
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// observe consumes every answer newer than the last pass, in the order a
// device session produces them.
func (p *pass) observe() {
	p.observeAvailable()
	p.observeSchedule()
	p.observeErrors()
	p.observeStatus()
	p.observeClock()
}

// observeAvailable matches the target in a new AvailableOSUpdates answer.
func (p *pass) observeAvailable() {
	t, us := p.t, p.us
	if !us.AvailableAt.After(t.Seen.Available) {
		return
	}
	at := us.AvailableAt
	t.Seen.Available = at
	if o := findOffer(us.Available, t.Target, t.TargetBuild, at); o != nil {
		if t.Offer == nil || t.Offer.ProductKey != o.ProductKey {
			t.logf(at, "offered", "%s (%s) as %s", o.Version, o.Build, o.ProductKey)
		}
		t.Offer, t.NotFound = o, NotFound{}
		if t.Phase == PhaseFind {
			t.Phase = PhaseReady
		}
		return
	}
	if t.Phase != PhaseFind && t.Phase != PhaseReady {
		return // an update being installed leaves the list: verification decides
	}
	t.Offer, t.Phase = nil, PhaseFind
	if t.NotFound.FirstAt.IsZero() {
		t.NotFound.FirstAt = at
	}
	t.NotFound.Scans++
	t.NotFound.LastAt = at
	t.logf(at, "not_offered", "scan %d: %d item(s) listed, none is %s", t.NotFound.Scans, len(us.Available), t.Target)
}

// productKey is the key the device knows the target by.
func (t *Track) productKey() string {
	if t.LastAction != nil && t.Phase != PhaseFind && t.Phase != PhaseReady {
		return t.LastAction.ProductKey
	}
	if t.Offer != nil {
		return t.Offer.ProductKey
	}
	if t.LastAction != nil {
		return t.LastAction.ProductKey
	}
	return ""
}

// observeSchedule reads a new ScheduleOSUpdate answer for the target.
func (p *pass) observeSchedule() {
	t, us := p.t, p.us
	if !us.ScheduledAt.After(t.Seen.Schedule) {
		return
	}
	at := us.ScheduledAt
	t.Seen.Schedule = at
	key := t.productKey()
	var res *mdm.UpdateResult
	for i := range us.ScheduleResults {
		if r := &us.ScheduleResults[i]; r.ProductKey == key || (key == "" && len(us.ScheduleResults) == 1) {
			res = r
			break
		}
	}
	if res == nil {
		return
	}
	if t.LastAction != nil {
		t.LastAction.Answer, t.LastAction.AnsweredAt = res.InstallAction, at
	}
	// Only InstallAction Error refuses the request: a valid action with a
	// failed status is the previous attempt's status, and the request was
	// taken (the next poll tells how it goes).
	if res.InstallAction == mdm.InstallActionError {
		detail := chainText(res.ErrorChain)
		if detail == "" {
			detail = "the device answered InstallAction " + res.InstallAction + " with status " + res.Status
		}
		code := codeForChain(classifyChain(res.ErrorChain), enforcement.CodeScheduleFailed)
		p.fail(code, mdm.RequestScheduleOSUpdate, res.Status, detail, res.ErrorChain, at)
		return
	}
	p.accepted(res.InstallAction, at)
}

// accepted moves the track on after the device took a request.
func (p *pass) accepted(action string, at time.Time) {
	t := p.t
	t.FailureOpen, t.InARow = false, 0
	t.logf(at, "accepted", "%s", action)
	if fb := t.Fallback; fb != nil && action == fb.Action && fb.IssuedAt.IsZero() {
		fb.IssuedAt = at
		t.Phase = PhaseInstallLater
		t.logf(at, "fallback_issued", "the user is asked to install (%s); the deadline still stands", action)
		return
	}
	switch action {
	case mdm.InstallActionDownloadOnly:
		t.Phase = PhaseDownloading
		if t.Downloaded {
			t.Phase = PhaseReady
		}
	case mdm.InstallActionInstallLater, mdm.InstallActionNotifyOnly:
		t.Phase = PhaseInstallLater
	default:
		t.Phase = PhaseInstalling
	}
}

// observeErrors reads a command that failed as a whole (Status Error).
// Per-update errors arrive as schedule results and are handled there.
func (p *pass) observeErrors() {
	t, e := p.t, p.us.LastError
	if e == nil || !e.At.After(t.Seen.Error) {
		return
	}
	t.Seen.Error = e.At
	if e.Status != mdm.StatusError && e.Status != mdm.StatusCommandFormatError {
		return
	}
	detail := chainText(e.ErrorChain)
	kind := classifyChain(e.ErrorChain)
	switch e.RequestType {
	case mdm.RequestScheduleOSUpdate:
		if t.LastAction != nil && t.LastAction.AnsweredAt.IsZero() {
			t.LastAction.Answer, t.LastAction.AnsweredAt = e.Status, e.At
		}
		if detail == "" {
			detail = "the command was answered " + e.Status
		}
		p.fail(codeForChain(kind, enforcement.CodeScheduleFailed), e.RequestType, e.Status, detail, e.ErrorChain, e.At)
	case mdm.RequestOSUpdateStatus:
		if len(e.ErrorChain) == 0 {
			p.fail(enforcement.CodeStatusErrorNoDetail, e.RequestType, e.Status, "", nil, e.At)
			return
		}
		p.fail(codeForChain(kind, enforcement.CodeUpdateFailed), e.RequestType, e.Status, detail, e.ErrorChain, e.At)
	default:
		t.logf(e.At, "command_failed", "%s answered %s: %s", e.RequestType, e.Status, orText(detail, "no detail"))
	}
}

// observeClock notices what only time reveals: an install running too
// long, a verification that never comes.
func (p *pass) observeClock() {
	t, now := p.t, p.now
	switch t.Phase {
	case PhaseInstalling:
		if !t.InstallStartedAt.IsZero() && !t.RuntimeExceeded && now.Sub(t.InstallStartedAt) > p.cfg.MaxRuntime {
			t.RuntimeExceeded = true
			p.failInPlace(enforcement.CodeMaxRuntimeExceeded, mdm.RequestOSUpdateStatus, mdm.UpdateStatusInstalling, "installing since "+stamp(t.InstallStartedAt), nil, now)
		}
	case PhaseVerifying:
		// Only a version the device reported after the window is evidence:
		// a device that has been off since the install ended has not
		// failed, it has not told us yet.
		if reported := p.in.Facts.InfoUpdatedAt; reported.Sub(t.VerifyStartedAt) > p.cfg.VerifyTimeout {
			detail := "the install ended at " + stamp(t.VerifyStartedAt) + " but the device still reported " +
				p.in.Facts.OSVersion + " at " + stamp(reported)
			p.fail(enforcement.CodeUpdateFailed, mdm.RequestDeviceInformation, "", detail, nil, now)
		}
	}
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
