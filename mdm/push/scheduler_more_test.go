package push

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// oddPusher returns a fixed, wrong-shaped answer whatever it is asked.
type oddPusher struct{ out []Outcome }

func (p oddPusher) Push(context.Context, []Target) []Outcome { return p.out }

func TestSchedulerSurvivesMisbehavingPusher(t *testing.T) {
	clock := newFakeClock()
	sink := &recordingSink{}
	pusher := oddPusher{out: []Outcome{
		{DeviceID: "stranger", Status: 200},                           // never asked for
		{DeviceID: "b", TokenDead: true, Status: 410},                 // flags only, no Kind
		{DeviceID: "b", Kind: Delivered, Status: 200},                 // duplicate: first wins
		{DeviceID: "c", Reason: "push disabled: no push certificate"}, // zero Kind, no flags
	}}
	s := NewScheduler(pusher, &fakeSource{}, sink, WithSchedulerClock(clock.Now))
	s.Request("a", "b", "c")
	if _, err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]Outcome{}
	for _, o := range sink.take() {
		got[o.DeviceID] = o
	}
	if len(got) != 3 {
		t.Fatalf("outcomes for %v, want a, b, c only", got)
	}
	if o := got["a"]; o.Kind != Transient || !o.Retry || !errors.Is(o.Err, errNoOutcome) {
		t.Errorf("a (no outcome): %+v", o)
	}
	if o := got["b"]; o.Kind != Dead || !o.TokenDead || o.Retry {
		t.Errorf("b (flags only): %+v", o)
	}
	if o := got["c"]; o.Kind != Rejected || o.Retry {
		t.Errorf("c (zero outcome) must not count as delivered: %+v", o)
	}
}

func TestSchedulerHonoursServerRetryAfter(t *testing.T) {
	r := newSchedRig(t, map[string][]Kind{"a": {Transient}})
	r.pusher.retryAfter = 5 * time.Minute
	r.s.Request("a")
	if o := r.flush(t, 1)[0]; o.RetryAfter != 5*time.Minute {
		t.Fatalf("RetryAfter = %v, want the server's 5m", o.RetryAfter)
	}
	r.clock.Advance(5*time.Minute - time.Second)
	r.flush(t, 0)
}

func TestSchedulerBatches(t *testing.T) {
	r := newSchedRig(t, nil, WithBatchSize(2))
	r.s.Request("e", "d", "c", "b", "a")
	r.flush(t, 5)
	want := [][]string{{"a", "b"}, {"c", "d"}, {"e"}}
	if calls := r.pusher.Calls(); !reflect.DeepEqual(calls, want) {
		t.Errorf("pusher calls = %v, want %v", calls, want)
	}
}

func TestSchedulerReportsSinkFailure(t *testing.T) {
	r := newSchedRig(t, map[string][]Kind{"a": {Transient}})
	r.sink.err = errors.New("disk full")
	r.s.Request("a")
	_, err := r.s.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush error = %v, want the sink's", err)
	}
	if _, ok := r.s.NextDue(); !ok {
		t.Error("retry not scheduled when the sink failed")
	}
}

func TestSchedulerWithDisabledPusher(t *testing.T) {
	clock := newFakeClock()
	sink := &recordingSink{}
	s := NewScheduler(DisabledPusher{Now: clock.Now}, &fakeSource{}, sink, WithSchedulerClock(clock.Now))
	s.Request("a")
	if _, err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := sink.take()[0]
	if o.Kind != Disabled || o.Reason != "push disabled: no push certificate" || o.Retry || !errors.Is(o.Err, ErrPushDisabled) {
		t.Errorf("outcome %+v", o)
	}
	if s.Pending() != 0 {
		t.Errorf("Pending = %d", s.Pending())
	}
	// An admin installs a certificate: later pushes go out for real.
	real := &scriptedPusher{now: clock.Now}
	s.SetPusher(real)
	s.Request("a")
	if _, err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := sink.take()[0]; o.Kind != Delivered || len(real.Calls()) != 1 {
		t.Errorf("after SetPusher: outcome %+v, %d calls", o, len(real.Calls()))
	}
}

// TestSchedulerRun drives the real loop with the real clock and a tiny
// backoff: a transient failure is retried on its own and then delivered.
func TestSchedulerRun(t *testing.T) {
	pusher := &scriptedPusher{now: time.Now, script: map[string][]Kind{"a": {Transient, Delivered}}}
	sink := &recordingSink{notify: make(chan Outcome, 16)}
	s := NewScheduler(pusher, &fakeSource{}, sink,
		WithRetryPolicy(&RetryPolicy{Base: time.Millisecond, Cap: 5 * time.Millisecond}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	s.Request("a")
	deadline := time.After(10 * time.Second)
	var kinds []Kind
	for len(kinds) < 2 {
		select {
		case o := <-sink.notify:
			kinds = append(kinds, o.Kind)
		case <-deadline:
			t.Fatalf("only %v after 10s", kinds)
		}
	}
	if !reflect.DeepEqual(kinds, []Kind{Transient, Delivered}) {
		t.Errorf("outcomes %v, want transient then delivered", kinds)
	}
}

// TestSchedulerOverRealClient runs the Scheduler against the fake APNs:
// a 503 is retried after its backoff, a 410 never is.
func TestSchedulerOverRealClient(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	f := newFakeAPNs(t, func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.URL.Path, "/3/device/")
		mu.Lock()
		hits[token]++
		n := hits[token]
		mu.Unlock()
		switch {
		case strings.HasPrefix(token, "dead"):
			answer(410, `{"reason":"Unregistered"}`)(w, r)
		case n == 1:
			answer(503, `{"reason":"ServiceUnavailable"}`)(w, r)
		default:
			answer(200, "")(w, r)
		}
	})
	clock := newFakeClock()
	sink := &recordingSink{}
	source := tokenSource{"flaky": "f1a1", "gone": "dead"}
	s := NewScheduler(f.client(t), source, sink, WithSchedulerClock(clock.Now), WithRetryPolicy(NewRetryPolicy(3)))
	s.Request("flaky", "gone")
	for range 4 {
		if _, err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(DefaultBackoffBase)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["f1a1"] != 2 || hits["dead"] != 1 {
		t.Errorf("APNs hits = %v, want the flaky device twice and the dead one once", hits)
	}
	var summary []string
	for _, o := range sink.take() {
		summary = append(summary, o.DeviceID+":"+o.Kind.String())
	}
	want := []string{"flaky:transient", "gone:dead-token", "flaky:delivered"}
	if !reflect.DeepEqual(summary, want) {
		t.Errorf("outcomes %v, want %v", summary, want)
	}
}

// tokenSource maps device ids to tokens.
type tokenSource map[string]string

func (s tokenSource) Targets(_ context.Context, ids []string) ([]Target, error) {
	var out []Target
	for _, id := range ids {
		if tok, ok := s[id]; ok {
			out = append(out, Target{DeviceID: id, Token: tok, PushMagic: testMagic, Topic: testTopic})
		}
	}
	return out, nil
}
