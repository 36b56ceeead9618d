package push

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

type schedRig struct {
	clock  *fakeClock
	pusher *scriptedPusher
	source *fakeSource
	sink   *recordingSink
	s      *Scheduler
}

func newSchedRig(t *testing.T, script map[string][]Kind, opts ...SchedulerOption) *schedRig {
	t.Helper()
	r := &schedRig{clock: newFakeClock(), source: &fakeSource{}, sink: &recordingSink{}}
	r.pusher = &scriptedPusher{now: r.clock.Now, script: script}
	base := []SchedulerOption{WithSchedulerClock(r.clock.Now), WithRetryPolicy(NewRetryPolicy(7))}
	r.s = NewScheduler(r.pusher, r.source, r.sink, append(base, opts...)...)
	return r
}

// flush runs Flush and checks how many devices it handled.
func (r *schedRig) flush(t *testing.T, want int) []Outcome {
	t.Helper()
	n, err := r.s.Flush(context.Background())
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if n != want {
		t.Fatalf("Flush handled %d devices, want %d", n, want)
	}
	return r.sink.take()
}

func TestSchedulerCoalescesRequests(t *testing.T) {
	r := newSchedRig(t, nil)
	r.s.Request("b", "a", "b", "")
	r.s.Request("a", "b")
	if r.s.Pending() != 2 {
		t.Fatalf("Pending = %d, want 2", r.s.Pending())
	}
	out := r.flush(t, 2)
	if calls := r.pusher.Calls(); !reflect.DeepEqual(calls, [][]string{{"a", "b"}}) {
		t.Fatalf("pusher calls = %v, want one call for a and b", calls)
	}
	for _, o := range out {
		if o.Kind != Delivered || o.Retry || o.Attempt != 1 || o.Token != testToken {
			t.Errorf("outcome %+v", o)
		}
	}
	if r.s.Pending() != 0 {
		t.Errorf("Pending = %d after delivery", r.s.Pending())
	}
	r.flush(t, 0)
}

func TestSchedulerRetriesTransientWithBackoff(t *testing.T) {
	r := newSchedRig(t, map[string][]Kind{"a": {Transient, Transient, Delivered}})
	ref := NewRetryPolicy(7) // same seed: same jitter sequence
	wait1, wait2 := ref.Backoff(1), ref.Backoff(2)
	t0 := r.clock.Now()

	r.s.Request("a")
	out := r.flush(t, 1)
	if o := out[0]; o.Kind != Transient || !o.Retry || o.Attempt != 1 || o.RetryAfter != wait1 {
		t.Fatalf("first outcome %+v, want retry after %v", o, wait1)
	}
	if next, ok := r.s.NextDue(); !ok || !next.Equal(t0.Add(wait1)) {
		t.Fatalf("NextDue = %v %v, want %v", next, ok, t0.Add(wait1))
	}
	r.clock.Advance(wait1 - time.Nanosecond)
	r.flush(t, 0) // not yet due
	r.clock.Advance(time.Nanosecond)
	if o := r.flush(t, 1)[0]; o.Attempt != 2 || !o.Retry || o.RetryAfter != wait2 {
		t.Fatalf("second outcome %+v, want attempt 2 retry after %v", o, wait2)
	}
	if wait2 <= wait1/2 || wait2 > 2*time.Second || wait1 > time.Second || wait1 < time.Second/2 {
		t.Errorf("backoff %v then %v does not grow from a 1s base", wait1, wait2)
	}
	r.clock.Advance(wait2)
	if o := r.flush(t, 1)[0]; o.Kind != Delivered || o.Attempt != 3 || o.Retry {
		t.Fatalf("third outcome %+v, want delivered on attempt 3", o)
	}
	// Success resets the count: the next push is attempt 1 again.
	r.s.Request("a")
	if o := r.flush(t, 1)[0]; o.Attempt != 1 {
		t.Errorf("attempt after success = %d, want 1", o.Attempt)
	}
}

func TestSchedulerDoesNotRetryFinalOutcomes(t *testing.T) {
	for _, kind := range []Kind{Dead, Config, Rejected, Disabled} {
		t.Run(kind.String(), func(t *testing.T) {
			r := newSchedRig(t, map[string][]Kind{"a": {kind}})
			r.s.Request("a")
			o := r.flush(t, 1)[0]
			if o.Kind != kind || o.Retry || o.RetryAfter != 0 || o.TokenDead != (kind == Dead) {
				t.Fatalf("outcome %+v", o)
			}
			r.clock.Advance(24 * time.Hour)
			r.flush(t, 0)
			if len(r.pusher.Calls()) != 1 || r.s.Pending() != 0 {
				t.Errorf("pushed %d times, %d pending; want 1 and 0", len(r.pusher.Calls()), r.s.Pending())
			}
		})
	}
}

func TestSchedulerGivesUpAfterMaxAttempts(t *testing.T) {
	policy := NewRetryPolicy(1)
	policy.MaxAttempts = 3
	r := newSchedRig(t, map[string][]Kind{"a": {Transient}}, WithRetryPolicy(policy))
	r.s.Request("a")
	for attempt := 1; attempt <= 3; attempt++ {
		o := r.flush(t, 1)[0]
		if o.Attempt != attempt || o.Retry != (attempt < 3) {
			t.Fatalf("attempt %d: outcome %+v", attempt, o)
		}
		if attempt == 3 && (!errors.Is(o.Err, ErrGaveUp) || !strings.Contains(o.Err.Error(), "ServiceUnavailable")) {
			t.Errorf("final Err = %v, want ErrGaveUp keeping the cause", o.Err)
		}
		r.clock.Advance(DefaultBackoffCap)
	}
	r.flush(t, 0)
	r.s.Request("a")
	if o := r.flush(t, 1)[0]; o.Attempt != 1 {
		t.Errorf("attempt after giving up and a new request = %d, want 1", o.Attempt)
	}
}

func TestSchedulerRequestDuringFlightPushesAgain(t *testing.T) {
	r := newSchedRig(t, nil)
	r.pusher.hold, r.pusher.entered = make(chan struct{}), make(chan struct{})
	r.s.Request("a")
	done := make(chan int)
	go func() {
		n, _ := r.s.Flush(context.Background())
		done <- n
	}()
	<-r.pusher.entered
	r.s.Request("a", "a") // new work arrived while the push was on its way
	close(r.pusher.hold)
	if n := <-done; n != 2 {
		t.Fatalf("Flush handled %d, want 2 (the push and one more)", n)
	}
	if calls := r.pusher.Calls(); !reflect.DeepEqual(calls, [][]string{{"a"}, {"a"}}) {
		t.Errorf("pusher calls = %v", calls)
	}
}

func TestSchedulerRequestDuringBackoffKeepsBackoff(t *testing.T) {
	r := newSchedRig(t, map[string][]Kind{"a": {Transient, Delivered}})
	r.s.Request("a")
	r.flush(t, 1)
	r.s.Request("a")
	r.flush(t, 0) // still inside its backoff
	r.clock.Advance(DefaultBackoffBase)
	if o := r.flush(t, 1)[0]; o.Kind != Delivered || o.Attempt != 2 {
		t.Errorf("outcome %+v, want delivered on attempt 2", o)
	}
}

func TestSchedulerLookupFailureRetries(t *testing.T) {
	r := newSchedRig(t, nil)
	r.source.setErr(errors.New("database is locked"))
	r.s.Request("a")
	n, err := r.s.Flush(context.Background())
	if n != 1 || err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("Flush = %d, %v; want 1 and the lookup error", n, err)
	}
	if o := r.sink.take()[0]; o.Kind != Transient || !o.Retry || len(r.pusher.Calls()) != 0 {
		t.Fatalf("outcome %+v, pusher calls %d", o, len(r.pusher.Calls()))
	}
	r.source.setErr(nil)
	r.clock.Advance(DefaultBackoffBase)
	if o := r.flush(t, 1)[0]; o.Kind != Delivered || o.Attempt != 2 {
		t.Errorf("outcome %+v after the store recovered", o)
	}
}

func TestSchedulerDeviceWithoutToken(t *testing.T) {
	r := newSchedRig(t, nil)
	r.source.missing = map[string]bool{"b": true}
	r.s.Request("a", "b")
	out := r.flush(t, 2)
	byID := map[string]Outcome{}
	for _, o := range out {
		byID[o.DeviceID] = o
	}
	if o := byID["b"]; o.Kind != Rejected || o.Retry || !errors.Is(o.Err, ErrNoTarget) {
		t.Errorf("b: %+v, want Rejected ErrNoTarget", o)
	}
	if byID["a"].Kind != Delivered {
		t.Errorf("a: %+v", byID["a"])
	}
	if calls := r.pusher.Calls(); !reflect.DeepEqual(calls, [][]string{{"a"}}) {
		t.Errorf("pusher calls = %v", calls)
	}
}
