package push

import (
	"context"
	"slices"
	"sync"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: testNow} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scriptedPusher answers each device with the next Kind of its script;
// the last entry repeats. Devices without a script are delivered.
type scriptedPusher struct {
	now    func() time.Time
	script map[string][]Kind
	// retryAfter is put on transient outcomes, as a server hint.
	retryAfter time.Duration
	// hold, when set, makes the first Push call signal entered and wait.
	hold, entered chan struct{}

	mu    sync.Mutex
	calls [][]string
	held  bool
}

func (p *scriptedPusher) Push(_ context.Context, targets []Target) []Outcome {
	p.mu.Lock()
	var ids []string
	for _, t := range targets {
		ids = append(ids, t.DeviceID)
	}
	p.calls = append(p.calls, ids)
	first := !p.held && p.hold != nil
	p.held = true
	p.mu.Unlock()
	if first {
		close(p.entered)
		<-p.hold
	}
	out := make([]Outcome, len(targets))
	for i, t := range targets {
		out[i] = p.outcomeFor(t)
	}
	return out
}

func (p *scriptedPusher) outcomeFor(t Target) Outcome {
	p.mu.Lock()
	kind := Delivered
	if s := p.script[t.DeviceID]; len(s) > 0 {
		kind = s[0]
		if len(s) > 1 {
			p.script[t.DeviceID] = s[1:]
		}
	}
	p.mu.Unlock()
	o := newOutcome(t, kind, p.now())
	switch kind {
	case Delivered:
		o.Status = 200
	case Transient:
		o.Status, o.RetryAfter = 503, p.retryAfter
		o.Err = &APNsError{Status: 503, Reason: "ServiceUnavailable"}
	default:
		o.Status, o.Err = 400, &APNsError{Status: 400, Reason: kind.String()}
	}
	return o
}

func (p *scriptedPusher) Calls() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// fakeSource knows a target for every device id except those in missing.
type fakeSource struct {
	mu      sync.Mutex
	missing map[string]bool
	err     error
}

func (s *fakeSource) Targets(_ context.Context, ids []string) ([]Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var out []Target
	for _, id := range ids {
		if !s.missing[id] {
			out = append(out, testTarget(id))
		}
	}
	return out, nil
}

func (s *fakeSource) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

type recordingSink struct {
	mu       sync.Mutex
	outcomes []Outcome
	err      error
	notify   chan Outcome
}

func (s *recordingSink) RecordPushOutcomes(_ context.Context, outcomes []Outcome) error {
	s.mu.Lock()
	s.outcomes = append(s.outcomes, outcomes...)
	err := s.err
	s.mu.Unlock()
	for _, o := range outcomes {
		if s.notify != nil {
			s.notify <- o
		}
	}
	return err
}

// take returns and clears what was recorded so far.
func (s *recordingSink) take() []Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.outcomes
	s.outcomes = nil
	return out
}
