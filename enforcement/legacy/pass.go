package legacy

import (
	"time"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/mdm/push"
	"github.com/tidemark-mdm/tidemark/storage"
)

// pass is one decision for one device and policy: what it reads, and the
// commands it wants queued. Everything in it is pure; Driver does the I/O.
type pass struct {
	cfg    Config
	now    time.Time
	in     reconcile.LegacyInput
	eval   enforcement.Evaluation
	us     *commands.UpdateState
	rec    *Record
	t      *Track
	queued map[string]storage.QueueEntry // first queued entry per request type
	wants  []want
	// planned is the next action when a decision set it explicitly.
	planned *Next
	// factsDue is when DeviceInformation is next asked for.
	factsDue time.Time
}

// want is a command the pass asks for; the driver skips it when one of
// the same type is already queued.
type want struct {
	kind   string
	params map[string]any
	why    string
	sent   func(uuid string)
}

func newPass(cfg Config, in reconcile.LegacyInput, eval enforcement.Evaluation, us *commands.UpdateState,
	rec *Record, queue []storage.QueueEntry) *pass {
	if us == nil {
		us = &commands.UpdateState{}
	}
	p := &pass{cfg: cfg, now: in.Now, in: in, eval: eval, us: us, rec: rec, queued: map[string]storage.QueueEntry{}}
	for _, e := range queue {
		if _, ok := p.queued[e.RequestType]; !ok {
			p.queued[e.RequestType] = e
		}
	}
	target := in.Plan.Target
	p.t = rec.track(in.Policy.ID, target.OSVersion, target.BuildVersion, in.Now, history(us))
	return p
}

// history is what a new track ignores: schedule results, statuses and
// errors from before the driver took the device on (they describe
// requests it did not make). The available list is state, not history,
// and is used while fresh.
func history(us *commands.UpdateState) Seen {
	s := Seen{Schedule: us.ScheduledAt, Status: us.StatusAt}
	if us.LastError != nil {
		s.Error = us.LastError.At
	}
	return s
}

// run observes what the device reported since the last pass, then decides.
func (p *pass) run() {
	p.observe()
	p.decide()
}

// conclude runs after the wanted commands were sent: it plans the next
// action and the reason and step the driver reports.
func (p *pass) conclude() {
	p.t.Next = p.next()
	p.t.Reason, p.t.Step = p.outcome()
}

func (p *pass) isQueued(kind string) bool {
	_, ok := p.queued[kind]
	return ok
}

// notNow reports whether one of the driver's commands waits because the
// device answered NotNow (locked, or busy).
func (p *pass) notNow() bool {
	for _, e := range p.queued {
		if e.NotNow || e.NotNowCount > 0 {
			return true
		}
	}
	return false
}

func (p *pass) platform() string { return p.in.Facts.Platform }

func (p *pass) isMac() bool { return p.platform() == mdm.PlatformMacOS }

// silent: the device has not checked in for longer than the threshold.
func (p *pass) silent() bool {
	seen := p.in.Facts.LastSeen
	return seen.IsZero() || p.now.Sub(seen) > p.cfg.CheckInThreshold
}

// pushFailing is the facts' flag without the "push disabled" case: a
// server without a push certificate is not a device problem.
func (p *pass) pushFailing() bool {
	d := p.in.Device
	if d == nil {
		return p.in.Facts.PushFailing
	}
	if d.PushTokenDead {
		return true
	}
	lp := d.LastPush
	return lp != nil && !lp.OK && lp.Reason != push.ErrPushDisabled.Error()
}

// waitingPrecondition is the plan's precondition that holds scheduling
// back: the device would refuse or could not be authorised.
func (p *pass) waitingPrecondition() (enforcement.Reason, bool) {
	for _, r := range p.in.Plan.Reasons {
		switch r.Code {
		case enforcement.CodeBatteryLow, enforcement.CodeInsufficientSpace, enforcement.CodeAwaitingBootstrapToken:
			return r, true
		}
	}
	return enforcement.Reason{}, false
}

// planReason finds a reason of the plan by code.
func (p *pass) planReason(code enforcement.Code) (enforcement.Reason, bool) {
	for _, r := range p.in.Plan.Reasons {
		if r.Code == code {
			return r, true
		}
	}
	return enforcement.Reason{}, false
}
