package legacy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Store is the storage the driver uses: its own record, the update state
// the command results wrote, and the device's queue.
type Store interface {
	Blob(ctx context.Context, collection, id string) ([]byte, error)
	UpdateBlob(ctx context.Context, collection, id string, mutate func([]byte) ([]byte, error)) error
	Enqueue(ctx context.Context, cmd storage.Command, ids []string) error
	Queue(ctx context.Context, id string) ([]storage.QueueEntry, error)
}

// Driver implements reconcile.LegacyDriver (and LegacyStepDriver,
// LegacyExplainer). The reconcile worker serialises its passes, so one
// device is never driven twice at once.
type Driver struct {
	store Store
	cfg   Config
	log   *slog.Logger
	cmds  *commands.Builder
}

// Option configures a Driver.
type Option func(*Driver)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(d *Driver) { d.log = l } }

// New builds a Driver; zero Config fields take the defaults.
func New(store Store, cfg Config, opts ...Option) *Driver {
	d := &Driver{store: store, cfg: cfg.withDefaults(), log: slog.New(slog.DiscardHandler), cmds: commands.New()}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Config is the effective configuration.
func (d *Driver) Config() Config { return d.cfg }

var (
	_ reconcile.LegacyDriver     = (*Driver)(nil)
	_ reconcile.LegacyStepDriver = (*Driver)(nil)
	_ reconcile.LegacyExplainer  = (*Driver)(nil)
)

// Drive implements reconcile.LegacyDriver for workers that do not pass
// the evaluation: it is approximated from the plan.
func (d *Driver) Drive(ctx context.Context, in reconcile.LegacyInput) (*enforcement.Reason, error) {
	out, err := d.DriveStep(ctx, in, roughEvaluation(in))
	return out.Reason, err
}

// DriveStep implements reconcile.LegacyStepDriver: one pass for one
// device and policy.
func (d *Driver) DriveStep(ctx context.Context, in reconcile.LegacyInput, eval enforcement.Evaluation) (reconcile.LegacyOutcome, error) {
	if in.Device == nil {
		return reconcile.LegacyOutcome{}, errors.New("legacy driver: no device")
	}
	id := in.Device.ID
	rec, before, err := d.load(ctx, id, in.Device.EnrolledAt)
	if err != nil {
		return reconcile.LegacyOutcome{}, err
	}
	if t := rec.Tracks[in.Policy.ID]; t != nil && t.Phase == PhaseInstalled && !rec.Scan.AfterInstall &&
		t.Target == in.Plan.Target.OSVersion && eval.Compliance == enforcement.Installed {
		return reconcile.LegacyOutcome{}, nil // done: nothing to read or send
	}
	queue, err := d.store.Queue(ctx, id)
	if err != nil {
		return reconcile.LegacyOutcome{}, err
	}
	us, err := d.consistentState(ctx, in, rec, queue)
	if err != nil {
		return reconcile.LegacyOutcome{}, err
	}
	p := newPass(d.cfg, in, eval, us, rec, queue)
	p.run()
	if err := d.send(ctx, p); err != nil {
		return reconcile.LegacyOutcome{}, err
	}
	p.conclude()
	if err := d.save(ctx, id, rec, before); err != nil {
		return reconcile.LegacyOutcome{}, err
	}
	return p.report(), nil
}

// report turns the track into what the worker shows: the driver's reason
// and step while it drives a Required device, not_checking_in for a silent
// one whose standing became unknown.
func (p *pass) report() reconcile.LegacyOutcome {
	switch p.eval.Compliance {
	case enforcement.Required:
		if p.in.Plan.Action != enforcement.ActionDeliver {
			return reconcile.LegacyOutcome{}
		}
		r := p.t.Reason
		return reconcile.LegacyOutcome{Reason: &r, Step: p.t.Step}
	case enforcement.Unknown:
		if p.silent() {
			r := enforcement.NewReason(enforcement.CodeNotCheckingIn, "last_seen", seen(p.in.Facts.LastSeen))
			return reconcile.LegacyOutcome{Reason: &r}
		}
	}
	return reconcile.LegacyOutcome{}
}

func (d *Driver) load(ctx context.Context, id string, enrolledAt time.Time) (*Record, []byte, error) {
	raw, err := d.store.Blob(ctx, Collection, id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, nil, err
	}
	rec, err := DecodeRecord(raw)
	if err != nil {
		return nil, nil, err
	}
	if !rec.EnrolledAt.Equal(enrolledAt) {
		// A new enrolment: the queue was cleared and the device may be
		// another installation; start afresh.
		rec, _ = DecodeRecord(nil)
		rec.EnrolledAt = enrolledAt
	}
	return rec, raw, nil
}

func (d *Driver) save(ctx context.Context, id string, rec *Record, before []byte) error {
	after, err := rec.encode()
	if err != nil {
		return err
	}
	if string(after) == string(before) {
		return nil
	}
	return d.store.UpdateBlob(ctx, Collection, id, func([]byte) ([]byte, error) { return after, nil })
}

// consistentState is the update state to decide on. The worker's copy was
// read before the queue; a ScheduleOSUpdate answered in between would look
// lost (gone from the queue, no answer), so in that one case the state is
// read again: a result leaves the queue and lands in the state in one
// transaction. Every other decision keys on the driver's own request times.
func (d *Driver) consistentState(ctx context.Context, in reconcile.LegacyInput, rec *Record, queue []storage.QueueEntry) (*commands.UpdateState, error) {
	t := rec.Tracks[in.Policy.ID]
	if t == nil || t.Phase != PhaseRequested || in.Update == nil {
		return in.Update, nil
	}
	for _, e := range queue {
		if e.RequestType == mdm.RequestScheduleOSUpdate {
			return in.Update, nil
		}
	}
	return d.updateState(ctx, in.Device.ID)
}

func (d *Driver) updateState(ctx context.Context, id string) (*commands.UpdateState, error) {
	raw, err := d.store.Blob(ctx, commands.UpdateStateCollection, id)
	if errors.Is(err, storage.ErrNotFound) {
		return &commands.UpdateState{}, nil
	}
	if err != nil {
		return nil, err
	}
	return commands.DecodeUpdateState(raw)
}

// send queues the wanted commands, skipping every type already queued for
// the device: never two of a kind at once, and a NotNow never turns into
// a loop.
func (d *Driver) send(ctx context.Context, p *pass) error {
	dev := p.in.Device
	for _, w := range p.wants {
		if p.isQueued(w.kind) {
			continue
		}
		raw, rt, err := d.cmds.Build(w.kind, w.params, "")
		if err == nil {
			err = d.cmds.CheckDevice(raw, rt, dev)
		}
		if err != nil {
			p.refused(w, err)
			continue
		}
		uuid, _, err := d.cmds.Inspect(raw)
		if err != nil {
			return err
		}
		err = d.store.Enqueue(ctx, storage.Command{UUID: uuid, RequestType: rt, Raw: raw, CreatedAt: p.now}, []string{dev.ID})
		if errors.Is(err, storage.ErrNotEnrolled) {
			return nil // checked out meanwhile: nothing to drive
		}
		if err != nil {
			return fmt.Errorf("legacy driver: queue %s for %s: %w", rt, dev.ID, err)
		}
		p.queued[rt] = storage.QueueEntry{UUID: uuid, RequestType: rt, QueuedAt: p.now}
		p.rec.Requested[rt] = p.now
		if w.sent != nil {
			w.sent(uuid)
		}
		d.log.Debug("legacy command queued", logkeys.DeviceID, dev.ID, logkeys.RequestType, rt, logkeys.Reason, w.why)
	}
	return nil
}

// refused: a command the device cannot take is never sent. For the update
// itself that counts as a failure, so the backoff and fallback bound it.
func (p *pass) refused(w want, err error) {
	if w.kind == mdm.RequestScheduleOSUpdate {
		p.fail(enforcement.CodeScheduleFailed, w.kind, "", "not sent: "+err.Error(), nil, p.now)
		return
	}
	p.t.logf(p.now, "not_sent", "%s: %v", w.kind, err)
}
