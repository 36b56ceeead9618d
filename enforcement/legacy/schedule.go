package legacy

import (
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// choice is the ScheduleOSUpdate the track wants and when.
type choice struct {
	action    string
	deferrals *int
	at        time.Time
	why       string
}

// decideSchedule queues the next ScheduleOSUpdate when its time has come,
// nothing holds it back and none is queued already.
func (p *pass) decideSchedule() {
	t, now := p.t, p.now
	switch {
	case p.eval.Compliance != enforcement.Required || p.in.Plan.Action != enforcement.ActionDeliver:
		p.planNext("wait", time.Time{}, "nothing is scheduled until the device's standing is known")
		return
	case t.Offer == nil || now.Sub(t.Offer.ListedAt) > p.cfg.ScanTrust:
		t.Phase = PhaseFind // never schedule from a list older than ScanTrust
		t.logf(now, "offer_stale", "the last list naming %s is older than %s: scanning again", t.Target, p.cfg.ScanTrust)
		return
	case p.isQueued(mdm.RequestScheduleOSUpdate):
		p.planNext("wait_for_answer", time.Time{}, "a ScheduleOSUpdate is already queued: never two at once")
		return
	}
	c := p.choose()
	if !now.Before(c.at) && now.Before(t.Backoff) {
		c.at, c.why = t.Backoff, "retry after a failure (backoff)"
		if t.LastFailure != nil {
			c.why = "retry after " + string(t.LastFailure.Code) + " (backoff)"
		}
	}
	if now.Before(c.at) {
		p.planNext("schedule "+c.action, c.at, c.why)
		return
	}
	if r, ok := p.waitingPrecondition(); ok {
		p.planNext("wait_for_precondition", p.factsDue, r.Message+" Nothing is sent until it clears; device facts are read again then.")
		return
	}
	// Installs start only inside a maintenance window they can finish in;
	// downloads may run at any time.
	if r, ok := p.planReason(enforcement.CodeWaitingForMaintenanceWindow); ok && c.action != mdm.InstallActionDownloadOnly {
		next, _ := time.Parse(time.RFC3339, r.Details["next_start"])
		p.planNext("wait_for_maintenance_window", next, r.Message)
		return
	}
	p.wantSchedule(c)
}

// choose picks the install action for now: the fallback's user-driven
// request, the forced install past the deadline, InstallLater with the
// policy's deferrals, or the pre-staging download.
func (p *pass) choose() choice {
	t, now := p.t, p.now
	force := p.installAction()
	if fb := t.Fallback; fb != nil {
		if fb.IssuedAt.IsZero() {
			return choice{fb.Action, p.deferrals(fb.Action), now, "fallback after " + string(fb.Because)}
		}
		at := fb.OfferedAt.Add(p.cfg.FallbackRetry)
		if p.eval.DeadlinePassed {
			return choice{force, nil, at, "offered again until verified; the deadline has passed"}
		}
		return choice{fb.Action, p.deferrals(fb.Action), at, "offered to the user again until verified"}
	}
	if p.eval.DeadlinePassed {
		return choice{force, nil, now, "the deadline has passed"}
	}
	if t.Downloaded {
		if d := p.deferrals(mdm.InstallActionInstallLater); d != nil {
			return choice{mdm.InstallActionInstallLater, d, now, "downloaded; the user may install, " + strconv.Itoa(*d) + " deferral(s) allowed"}
		}
		return choice{force, nil, p.deadline(true), "downloaded; the install is forced at the deadline"}
	}
	start := p.deadline(false).Add(-p.cfg.DownloadLead)
	return choice{mdm.InstallActionDownloadOnly, nil, start, "pre-stage the download " + p.cfg.DownloadLead.String() + " before the deadline"}
}

// installAction is the forced install: InstallForceRestart on macOS when
// the policy allows it.
func (p *pass) installAction() string {
	if p.isMac() && p.in.Policy.AllowForceRestart {
		return mdm.InstallActionInstallForceRestart
	}
	return mdm.InstallActionInstallASAP
}

// deferrals: MaxUserDeferrals goes with InstallLater on macOS 12+ for a
// minor update, when the policy asks for deferrals (Apple ignores it
// otherwise).
func (p *pass) deferrals(action string) *int {
	n := p.in.Policy.UserDeferrals
	if action != mdm.InstallActionInstallLater || !p.isMac() || n <= 0 || p.t.Offer == nil || p.t.Offer.IsMajor {
		return nil
	}
	have, err1 := osversion.Parse(p.in.Facts.OSVersion)
	want, err2 := osversion.Parse(p.t.Target)
	if err1 != nil || err2 != nil || have.Major < 12 || have.Major != want.Major {
		return nil
	}
	return &n
}

// deadline is the device-local deadline as an instant: in the device's
// zone when known, otherwise the latest instant it happens anywhere (as
// the evaluation judges "passed") or the earliest (to start downloads in
// time). An unreadable deadline counts as now.
func (p *pass) deadline(latest bool) time.Time {
	wall, err := time.Parse(enforcement.LocalDateTimeLayout, p.in.Plan.Target.LocalDeadline)
	if err != nil {
		return p.now
	}
	if loc := p.in.Facts.Location; loc != nil {
		return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
	}
	if latest {
		return wall.Add(12 * time.Hour) // UTC-12
	}
	return wall.Add(-14 * time.Hour) // UTC+14
}

func (p *pass) wantSchedule(c choice) {
	t, now := p.t, p.now
	key := t.Offer.ProductKey
	item := map[string]any{"product_key": key, "install_action": c.action}
	if c.deferrals != nil {
		item["max_user_deferrals"] = *c.deferrals
	}
	params := map[string]any{"updates": []any{item}}
	p.want(mdm.RequestScheduleOSUpdate, params, c.why, func(uuid string) {
		t.Attempts++
		t.LastAction = &Action{InstallAction: c.action, MaxUserDeferrals: c.deferrals, ProductKey: key,
			CommandUUID: uuid, Attempt: t.Attempts, QueuedAt: now, Why: c.why}
		t.Phase, t.IdlePolls, t.InstallStartedAt, t.RuntimeExceeded = PhaseRequested, 0, time.Time{}, false
		if t.Fallback != nil {
			t.Fallback.OfferedAt = now
		}
		t.logf(now, "scheduled", "%s for %s, attempt %d: %s", c.action, key, t.Attempts, c.why)
	})
}
