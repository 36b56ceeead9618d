package legacy

import (
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// decide asks for the commands this pass needs. The driver sends them
// (skipping types already queued), then conclude plans the next action.
func (p *pass) decide() {
	t := p.t
	p.checkRequested()
	if t.Phase == PhaseInstalled && p.eval.Compliance == enforcement.Required {
		// Verified once, required again (restored from a backup, say).
		t.Phase, t.VerifiedAt = PhaseFind, time.Time{}
		t.logf(p.now, "required_again", "the device reports %s again", p.in.Facts.OSVersion)
	}
	switch {
	case p.verified():
		p.finishInstalled()
		p.decideScan()
		return
	case p.eval.Compliance == enforcement.NotRequired:
		p.planNext("none", time.Time{}, "not required: "+p.eval.Reason.Message)
		return
	case p.in.Plan.Action == enforcement.ActionBlocked:
		at := p.decideFacts(true)
		p.planNext("wait_for_precondition", at, p.eval.Reason.Message)
		return
	}
	p.reviewWaiting()
	p.decideScan()
	p.decidePoll()
	p.decideVerify()
	p.factsDue = p.decideFacts(false)
	if t.Phase == PhaseReady {
		p.decideSchedule()
	}
}

// verified: the evaluation saw the target (or something newer) installed.
func (p *pass) verified() bool {
	c := p.eval.Compliance
	return c == enforcement.Installed || (c == enforcement.NotRequired && p.eval.Reason.Code == enforcement.CodeAlreadyNewer)
}

func (p *pass) finishInstalled() {
	t := p.t
	if t.Phase == PhaseInstalled {
		p.planNext("none", time.Time{}, "verified installed")
		return
	}
	f := p.in.Facts
	t.Phase, t.VerifiedAt, t.Condition, t.FailureOpen = PhaseInstalled, p.now, nil, false
	t.logf(p.now, "verified", "the device reports %s (%s)", f.OSVersion, f.BuildVersion)
	if t.Attempts > 0 {
		p.rec.Scan.AfterInstall = true
	}
	p.planNext("none", time.Time{}, "verified installed")
}

// checkRequested notices a ScheduleOSUpdate that left the queue without an
// answer (cancelled by an admin): the update is offered again.
func (p *pass) checkRequested() {
	t := p.t
	if t.Phase != PhaseRequested || p.isQueued(mdm.RequestScheduleOSUpdate) {
		return
	}
	if t.LastAction == nil || t.LastAction.AnsweredAt.IsZero() {
		t.Phase = PhaseReady
		t.logf(p.now, "vanished", "the queued ScheduleOSUpdate was removed without an answer")
	}
}

// reviewWaiting ends a user-driven wait when the deadline has passed or
// the fallback's next offer is due.
func (p *pass) reviewWaiting() {
	t := p.t
	if t.Phase != PhaseInstallLater || p.eval.Compliance != enforcement.Required {
		return
	}
	fb := t.Fallback
	switch {
	case fb == nil && p.eval.DeadlinePassed:
		t.Phase = PhaseReady
		t.logf(p.now, "deadline", "the deadline has passed: the install is forced")
	case fb != nil && !p.now.Before(fb.OfferedAt.Add(p.cfg.FallbackRetry)):
		t.Phase = PhaseReady
	}
}

// decideScan asks for a scan on enrolment, after an install or a restart,
// when a rescan was asked for, and at the cadence while the update is
// needed and nothing runs on the device.
func (p *pass) decideScan() {
	why := p.scanReason()
	if why == "" || p.isQueued(mdm.RequestAvailableOSUpdates) {
		return
	}
	if p.isMac() {
		p.want(mdm.RequestScheduleOSUpdateScan, map[string]any{"force": true}, why, nil)
	}
	p.want(mdm.RequestAvailableOSUpdates, nil, why, func(string) {
		s := &p.rec.Scan
		s.Count++
		s.LastReason, s.LastAt, s.Build, s.AfterInstall = why, p.now, p.in.Facts.BuildVersion, false
		if !s.RescanAt.IsZero() && !p.now.Before(s.RescanAt) {
			s.RescanAt = time.Time{}
		}
		p.t.logf(p.now, "scan_requested", "scan %d (%s)", s.Count, why)
	})
}

func (p *pass) scanReason() string {
	s := &p.rec.Scan
	if s.AfterInstall {
		return "install"
	}
	c := p.eval.Compliance
	if c != enforcement.Required && c != enforcement.Unknown {
		return ""
	}
	build := p.in.Facts.BuildVersion
	last := p.rec.Requested[mdm.RequestAvailableOSUpdates]
	switch {
	case s.Count == 0:
		return "enrollment"
	case s.Build != "" && build != "" && build != s.Build:
		return "restart"
	case !s.RescanAt.IsZero() && !p.now.Before(s.RescanAt):
		return "rescan"
	case p.cadence() && p.now.Sub(last) >= p.cfg.ScanInterval:
		return "cadence"
	}
	return ""
}

// cadence: periodic scans while the update is needed and the device is
// not busy with it (a list taken mid-install says nothing new).
func (p *pass) cadence() bool {
	switch p.t.Phase {
	case PhaseFind, PhaseReady, PhaseInstallLater:
		return p.eval.Compliance == enforcement.Required
	}
	return false
}

// pollEvery is the OSUpdateStatus cadence of the current phase.
func (p *pass) pollEvery() (time.Duration, bool) {
	t := p.t
	switch t.Phase {
	case PhaseDownloading, PhaseInstalling:
		switch c := t.Condition; {
		case c != nil && c.Code == "":
			return p.cfg.PhoneCallRetry, true
		case c != nil:
			return p.cfg.PollInterval, true
		}
		return p.cfg.PollFast, true
	case PhaseInstallLater:
		return p.cfg.PollInterval, true
	}
	return 0, false
}

func (p *pass) decidePoll() {
	every, ok := p.pollEvery()
	if !ok || p.now.Sub(p.rec.Requested[mdm.RequestOSUpdateStatus]) < every {
		return
	}
	p.want(mdm.RequestOSUpdateStatus, nil, "progress", nil)
}

// decideVerify asks DeviceInformation for the installed version: only a
// reported version closes the work.
func (p *pass) decideVerify() {
	if p.t.Phase != PhaseVerifying || p.now.Sub(p.rec.Requested[mdm.RequestDeviceInformation]) < p.cfg.PollFast {
		return
	}
	p.want(mdm.RequestDeviceInformation, nil, "verify the installed version", func(string) {
		p.t.logf(p.now, "verify_requested", "DeviceInformation asked for the installed version")
	})
}

// decideFacts refreshes DeviceInformation while a device condition holds
// the update back (so a charged battery or freed space is noticed within
// FactsRefresh), and otherwise whenever the facts grow older than
// FactsMaxAge mid-update; a blocked device (supervision, bootstrap token)
// changes only through a person, so it is read at the slow pace. It
// returns when facts are next asked for.
func (p *pass) decideFacts(blocked bool) time.Time {
	t := p.t
	if t.Phase == PhaseVerifying || t.Phase == PhaseInstalled {
		return time.Time{}
	}
	_, pre := p.waitingPrecondition()
	waiting := !blocked && (pre || (t.Condition != nil && t.Condition.Code != ""))
	lastAsked := p.rec.Requested[mdm.RequestDeviceInformation]
	last := later(lastAsked, p.in.Facts.InfoUpdatedAt)
	due := last.Add(p.cfg.FactsMaxAge)
	if waiting {
		due = last.Add(p.cfg.FactsRefresh)
	}
	if p.now.Before(due) || p.now.Sub(lastAsked) < p.cfg.FactsRefresh {
		return due
	}
	p.want(mdm.RequestDeviceInformation, nil, "refresh device facts", nil)
	return p.now.Add(p.cfg.FactsRefresh)
}

func (p *pass) want(kind string, params map[string]any, why string, sent func(uuid string)) {
	p.wants = append(p.wants, want{kind: kind, params: params, why: why, sent: sent})
}

func (p *pass) planNext(action string, at time.Time, why string) {
	p.planned = &Next{Action: action, At: at, Why: why}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
