package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Store is the storage the worker reads and writes.
type Store interface {
	Device(ctx context.Context, id string) (*storage.Device, error)
	Devices(ctx context.Context, f storage.DeviceFilter) ([]storage.Device, error)
	Blob(ctx context.Context, collection, id string) ([]byte, error)
	Blobs(ctx context.Context, ids []string, collections ...string) (map[string]map[string][]byte, error)
	UpdateBlob(ctx context.Context, collection, id string, mutate func([]byte) ([]byte, error)) error
	ForEachBlob(ctx context.Context, collection string, fn func(id string, raw []byte) error) error
	PutBlobs(ctx context.Context, collection string, values map[string][]byte) error
	AddEvents(ctx context.Context, events ...storage.Event) error
	Enqueue(ctx context.Context, cmd storage.Command, ids []string) error
	Queue(ctx context.Context, id string) ([]storage.QueueEntry, error)
}

// Policies supplies policies and the release catalog.
type Policies interface {
	Policies(ctx context.Context) ([]enforcement.Policy, error)
	Catalog(ctx context.Context) (*enforcement.Catalog, error)
}

// Declarations writes per-device declarations.
type Declarations interface {
	PutDeviceDeclaration(ctx context.Context, deviceID string, d *ddm.Declaration) (bool, error)
	DeleteDeviceDeclaration(ctx context.Context, deviceID, id string) (bool, error)
}

// LegacyDriver carries out legacy-path plans (MDM commands). It may add a
// reason that overrides the evaluation's (a failure it detected).
type LegacyDriver interface {
	Drive(ctx context.Context, in LegacyInput) (*enforcement.Reason, error)
}

// LegacyInput is one device's legacy-path step.
type LegacyInput struct {
	Device *storage.Device
	Facts  enforcement.DeviceFacts
	Policy enforcement.Policy
	Plan   enforcement.DevicePlan
	Update *commands.UpdateState
	Now    time.Time
}

// Worker reconciles devices with policies.
type Worker struct {
	store    Store
	policies Policies
	decls    Declarations
	legacy   LegacyDriver
	log      *slog.Logger
	now      func() time.Time
	opts     enforcement.Options
	interval time.Duration
	factsTTL time.Duration

	mu      sync.Mutex
	pending map[string]struct{}
	all     bool
	wake    chan struct{}
	passMu  sync.Mutex
	rollout *rolloutPass // the current pass's rollout control, under passMu
}

// Option configures a Worker.
type Option func(*Worker)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(w *Worker) { w.log = l } }

// WithClock injects time.
func WithClock(now func() time.Time) Option { return func(w *Worker) { w.now = now } }

// WithOptions sets the evaluation options (TTLs, thresholds).
func WithOptions(o enforcement.Options) Option { return func(w *Worker) { w.opts = o } }

// WithInterval sets how often a full pass runs (default 5 min).
func WithInterval(d time.Duration) Option { return func(w *Worker) { w.interval = d } }

// WithLegacyDriver executes legacy-path plans.
func WithLegacyDriver(d LegacyDriver) Option { return func(w *Worker) { w.legacy = d } }

// New builds a Worker.
func New(store Store, policies Policies, decls Declarations, opts ...Option) *Worker {
	w := &Worker{store: store, policies: policies, decls: decls, log: slog.Default(), now: time.Now,
		interval: 5 * time.Minute, pending: map[string]struct{}{}, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(w)
	}
	// Facts are read again at half the status TTL, so a device that is
	// online never drifts to Unknown between two reads.
	w.factsTTL = w.opts.WithDefaults().StatusTTL / 2
	return w
}

// Trigger asks for the devices to be reconciled soon (status report,
// check-in); with no ids, every device (policy or catalog change).
func (w *Worker) Trigger(ids ...string) {
	w.mu.Lock()
	if len(ids) == 0 {
		w.all = true
	}
	for _, id := range ids {
		w.pending[id] = struct{}{}
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run reconciles on triggers and every interval until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	w.Trigger()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Trigger()
		case <-w.wake:
		}
		if _, err := w.RunPending(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("reconcile pass failed", logkeys.Err, err)
		}
	}
}

// RunPending reconciles what was triggered; tests call it to drive the
// engine deterministically.
func (w *Worker) RunPending(ctx context.Context) (Stats, error) {
	w.mu.Lock()
	all, ids := w.all, w.pending
	w.all, w.pending = false, map[string]struct{}{}
	w.mu.Unlock()
	if all {
		return w.ReconcileAll(ctx)
	}
	var st Stats
	for id := range ids {
		s, err := w.ReconcileDevice(ctx, id)
		st.add(s)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// Stats counts what a pass did.
type Stats struct {
	Devices      int `json:"devices"`
	Evaluations  int `json:"evaluations"`
	StateChanges int `json:"state_changes"`
	Delivered    int `json:"delivered"`
	Removed      int `json:"removed"`
}

func (s *Stats) add(o Stats) {
	s.Devices += o.Devices
	s.Evaluations += o.Evaluations
	s.StateChanges += o.StateChanges
	s.Delivered += o.Delivered
	s.Removed += o.Removed
}

// pageSize bounds the devices read per storage call, so a pass over a
// large fleet never holds it all in memory.
const pageSize = 500

// ReconcileAll reconciles every enrolled or known device.
func (w *Worker) ReconcileAll(ctx context.Context) (Stats, error) {
	var st Stats
	policies, cat, err := w.inputs(ctx)
	if err != nil {
		return st, err
	}
	w.passMu.Lock()
	defer w.passMu.Unlock()
	if err := w.beginRollout(ctx, policies, true); err != nil {
		return st, err
	}
	err = w.eachPage(ctx, func(page []storage.Device, in map[string]stored) error {
		// A page's records and events are written in one transaction.
		batch := newWrites()
		for i := range page {
			s, err := w.reconcileWith(ctx, &page[i], in[page[i].ID], policies, cat, batch)
			st.add(s)
			if err != nil {
				return err
			}
		}
		return w.flush(ctx, batch)
	})
	if err != nil {
		return st, err
	}
	return st, w.finishRollout(ctx, policies)
}

// eachPage visits the fleet a page at a time, with the page's stored
// records read in one transaction.
func (w *Worker) eachPage(ctx context.Context, fn func(page []storage.Device, in map[string]stored) error) error {
	after := ""
	for {
		page, err := w.store.Devices(ctx, storage.DeviceFilter{After: after, Limit: pageSize})
		if err != nil {
			return err
		}
		ids := make([]string, len(page))
		for i := range page {
			ids[i] = page[i].ID
		}
		in, err := w.load(ctx, ids)
		if err != nil {
			return err
		}
		if err := fn(page, in); err != nil {
			return err
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// ReconcileDevice reconciles one device.
func (w *Worker) ReconcileDevice(ctx context.Context, id string) (Stats, error) {
	d, err := w.store.Device(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Stats{}, nil
	}
	if err != nil {
		return Stats{}, err
	}
	policies, cat, err := w.inputs(ctx)
	if err != nil {
		return Stats{}, err
	}
	w.passMu.Lock()
	defer w.passMu.Unlock()
	if err := w.beginRollout(ctx, policies, false); err != nil {
		return Stats{}, err
	}
	in, err := w.load(ctx, []string{id})
	if err != nil {
		return Stats{}, err
	}
	batch := newWrites()
	st, err := w.reconcileWith(ctx, d, in[id], policies, cat, batch)
	if err != nil {
		return st, err
	}
	return st, w.flush(ctx, batch)
}

// writes collects what a pass stores, so a page is one transaction.
type writes struct {
	records map[string][]byte
	details map[string][]byte
	events  []storage.Event
}

func newWrites() *writes { return &writes{records: map[string][]byte{}, details: map[string][]byte{}} }

func (w *Worker) flush(ctx context.Context, b *writes) error {
	if len(b.details) > 0 {
		if err := w.store.PutBlobs(ctx, DetailCollection, b.details); err != nil {
			return err
		}
	}
	if len(b.records) > 0 {
		if err := w.store.PutBlobs(ctx, StateCollection, b.records); err != nil {
			return err
		}
	}
	if len(b.events) > 0 {
		return w.store.AddEvents(ctx, b.events...)
	}
	return nil
}

// inputs loads what one pass needs about the world.
func (w *Worker) inputs(ctx context.Context) ([]enforcement.Policy, *enforcement.Catalog, error) {
	policies, err := w.policies.Policies(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("policies: %w", err)
	}
	cat, err := w.policies.Catalog(ctx)
	if err != nil && !errors.Is(err, enforcement.ErrNoCatalog) {
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	return policies, cat, nil
}
