package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// TargetSource looks up the current push details of devices. Devices with
// no push token are simply left out of the result.
type TargetSource interface {
	Targets(ctx context.Context, ids []string) ([]Target, error)
}

// OutcomeSink records what happened to each push (forget dead tokens,
// surface config problems to the admin, keep a history).
type OutcomeSink interface {
	RecordPushOutcomes(ctx context.Context, outcomes []Outcome) error
}

// DefaultBatchSize bounds how many devices one TargetSource call and one
// Push call cover.
const DefaultBatchSize = 500

// Scheduler is a coalescing push queue: a device requested many times
// before its push goes out gets one push; failed pushes that may succeed
// later are retried with backoff, per device, up to the policy's limit.
type Scheduler struct {
	pusher Pusher
	source TargetSource
	sink   OutcomeSink
	policy *RetryPolicy
	now    func() time.Time
	batch  int
	log    *slog.Logger

	flushMu sync.Mutex // one Flush at a time

	mu       sync.Mutex
	due      map[string]time.Time // waiting devices and when they may go
	attempts map[string]int       // consecutive transient failures
	inflight map[string]bool
	again    map[string]bool // requested while in flight: push once more
	wake     chan struct{}
}

// SchedulerOption configures a Scheduler.
type SchedulerOption func(*Scheduler)

// WithRetryPolicy sets the backoff and attempt limit.
func WithRetryPolicy(p *RetryPolicy) SchedulerOption {
	return func(s *Scheduler) {
		if p != nil {
			s.policy = p
		}
	}
}

// WithSchedulerClock sets the time source used for due times.
func WithSchedulerClock(now func() time.Time) SchedulerOption {
	return func(s *Scheduler) {
		if now != nil {
			s.now = now
		}
	}
}

// WithBatchSize sets how many devices go into one lookup and Push call.
func WithBatchSize(n int) SchedulerOption {
	return func(s *Scheduler) {
		if n > 0 {
			s.batch = n
		}
	}
}

// WithLogger sets where Run reports lookup and sink failures.
func WithLogger(l *slog.Logger) SchedulerOption {
	return func(s *Scheduler) {
		if l != nil {
			s.log = l
		}
	}
}

// NewScheduler returns a Scheduler. Pass DisabledPusher{} as p when no
// push certificate is configured.
func NewScheduler(p Pusher, source TargetSource, sink OutcomeSink, opts ...SchedulerOption) *Scheduler {
	s := &Scheduler{
		pusher:   p,
		source:   source,
		sink:     sink,
		policy:   &RetryPolicy{},
		now:      time.Now,
		batch:    DefaultBatchSize,
		log:      slog.New(slog.DiscardHandler),
		due:      map[string]time.Time{},
		attempts: map[string]int{},
		inflight: map[string]bool{},
		again:    map[string]bool{},
		wake:     make(chan struct{}, 1),
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Request asks for the devices to be pushed. It never blocks on APNs.
// A device already waiting keeps its place (and any backoff in force); one
// whose push is in flight is pushed once more afterwards, since the work
// that prompted this request may postdate that push.
func (s *Scheduler) Request(deviceIDs ...string) {
	s.mu.Lock()
	now := s.now()
	for _, id := range deviceIDs {
		if id == "" {
			continue
		}
		if s.inflight[id] {
			s.again[id] = true
			continue
		}
		if _, waiting := s.due[id]; !waiting {
			s.due[id] = now
		}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SetPusher replaces the Pusher for later batches, e.g. a Client once an
// admin installs a push certificate where DisabledPusher stood in.
func (s *Scheduler) SetPusher(p Pusher) {
	s.mu.Lock()
	s.pusher = p
	s.mu.Unlock()
}

// Pending returns how many devices wait for a push or have one in flight.
func (s *Scheduler) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.due) + len(s.inflight)
}

// NextDue returns when the earliest waiting device may be pushed.
func (s *Scheduler) NextDue() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	found := false
	for _, at := range s.due {
		if !found || at.Before(next) {
			next, found = at, true
		}
	}
	return next, found
}

// Run pushes devices as they become due until ctx is done.
func (s *Scheduler) Run(ctx context.Context) {
	for {
		if _, err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("push scheduler", "err", err)
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if next, ok := s.NextDue(); ok {
			timer = time.NewTimer(max(next.Sub(s.now()), 0))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// Flush sends every push due at the time it starts, in batches, records
// their outcomes and schedules retries. It returns how many devices it
// handled. Tests drive the Scheduler with Flush and an injected clock.
func (s *Scheduler) Flush(ctx context.Context) (int, error) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	cutoff := s.now()
	handled := 0
	var errs []error
	for ctx.Err() == nil {
		ids := s.takeDue(cutoff)
		if len(ids) == 0 {
			break
		}
		handled += len(ids)
		if err := s.pushBatch(ctx, ids); err != nil {
			errs = append(errs, err)
		}
	}
	return handled, errors.Join(errs...)
}

func (s *Scheduler) pushBatch(ctx context.Context, ids []string) error {
	var outcomes []Outcome
	var lookupErr error
	targets, err := s.source.Targets(ctx, ids)
	if err != nil {
		lookupErr = fmt.Errorf("push targets: %w", err)
		outcomes = s.failAll(ids, lookupErr)
	} else {
		targets, outcomes = s.matchTargets(ids, targets)
		if len(targets) > 0 {
			s.mu.Lock()
			pusher := s.pusher
			s.mu.Unlock()
			outcomes = append(outcomes, s.matchOutcomes(targets, pusher.Push(ctx, targets))...)
		}
	}
	s.settle(outcomes)
	if err := s.sink.RecordPushOutcomes(ctx, outcomes); err != nil {
		return errors.Join(lookupErr, fmt.Errorf("record push outcomes: %w", err))
	}
	return lookupErr
}
