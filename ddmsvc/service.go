// Package ddmsvc is the storage-backed side of Declarative Device
// Management: it serves the DeclarativeManagement check-in (tokens,
// declaration-items, declarations, status), keeps declarations, sets and
// assignments, turns every change into a DeclarativeManagement command and
// a push for exactly the devices concerned, and offers the admin API routes
// and previews. The protocol itself (tokens, validation, parsing) is in ddm.
package ddmsvc

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Store is the storage the service needs.
type Store interface {
	storage.DDMStore
	Device(ctx context.Context, id string) (*storage.Device, error)
	Devices(ctx context.Context, f storage.DeviceFilter) ([]storage.Device, error)
	Blob(ctx context.Context, collection, deviceID string) ([]byte, error)
	Enqueue(ctx context.Context, cmd storage.Command, ids []string) error
	Queue(ctx context.Context, id string) ([]storage.QueueEntry, error)
	Cancel(ctx context.Context, id, uuid string) error
	Command(ctx context.Context, uuid string) (*storage.Command, error)
}

// StatusHook is told about every status report stored, with the device's
// merged status after it (a copy the hook may keep).
type StatusHook func(ctx context.Context, deviceID string, st *ddm.DeviceStatus)

// DefaultStatusHistory is how many status reports are kept per device.
const DefaultStatusHistory = 50

// Service is the DDM service. Its methods are safe for concurrent use.
type Service struct {
	store      Store
	log        *slog.Logger
	now        func() time.Time
	keep       int
	onEnqueued func()
	builtins   builtins
	enrollSync EnrollmentSync
	cache      *docCache

	hookMu sync.RWMutex
	hooks  []StatusHook

	wake    chan struct{}
	drainMu sync.Mutex
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock injects time.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithStatusHistory bounds the status reports kept per device.
func WithStatusHistory(n int) Option {
	return func(s *Service) {
		if n > 0 {
			s.keep = n
		}
	}
}

// WithEnqueueNotify is called after commands were queued, so the push
// worker can wake at once instead of at its next tick.
func WithEnqueueNotify(f func()) Option { return func(s *Service) { s.onEnqueued = f } }

// New builds the service.
func New(store Store, opts ...Option) *Service {
	s := &Service{store: store, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now,
		keep: DefaultStatusHistory, onEnqueued: func() {}, wake: make(chan struct{}, 1), builtins: newBuiltins(), cache: newDocCache()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// OnStatus subscribes h to status reports (the enforcement engine).
func (s *Service) OnStatus(h StatusHook) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.hooks = append(s.hooks, h)
}

func (s *Service) statusHooks() []StatusHook {
	s.hookMu.RLock()
	defer s.hookMu.RUnlock()
	return append([]StatusHook(nil), s.hooks...)
}

// nudge wakes the sync worker without blocking.
func (s *Service) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
