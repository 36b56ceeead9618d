package push

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

var errNoOutcome = errors.New("pusher returned no outcome for this device")

// takeDue moves up to one batch of devices due by cutoff to in flight,
// earliest first (ties by id, so tests see a stable order).
func (s *Scheduler) takeDue(cutoff time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	type waiting struct {
		id string
		at time.Time
	}
	var ready []waiting
	for id, at := range s.due {
		if !at.After(cutoff) {
			ready = append(ready, waiting{id, at})
		}
	}
	slices.SortFunc(ready, func(a, b waiting) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.id, b.id))
	})
	ids := make([]string, 0, min(len(ready), s.batch))
	for _, w := range ready[:min(len(ready), s.batch)] {
		delete(s.due, w.id)
		s.inflight[w.id] = true
		ids = append(ids, w.id)
	}
	return ids
}

// failAll gives every device a transient outcome when no push was tried.
func (s *Scheduler) failAll(ids []string, err error) []Outcome {
	now := s.now()
	out := make([]Outcome, len(ids))
	for i, id := range ids {
		out[i] = newOutcome(Target{DeviceID: id}, Transient, now)
		out[i].Err = err
	}
	return out
}

// matchTargets keeps one target per requested device and returns outcomes
// for devices the source had no target for.
func (s *Scheduler) matchTargets(ids []string, targets []Target) ([]Target, []Outcome) {
	wanted := make(map[string]bool, len(ids))
	for _, id := range ids {
		wanted[id] = true
	}
	kept := make([]Target, 0, len(targets))
	for _, t := range targets {
		if wanted[t.DeviceID] {
			delete(wanted, t.DeviceID)
			kept = append(kept, t)
		}
	}
	var missing []Outcome
	now := s.now()
	for _, id := range ids {
		if wanted[id] {
			o := newOutcome(Target{DeviceID: id}, Rejected, now)
			o.Reason, o.Err = ErrNoTarget.Error(), ErrNoTarget
			missing = append(missing, o)
		}
	}
	return kept, missing
}

// matchOutcomes pairs results with targets by device id, so a Pusher that
// returns too few, too many or reordered outcomes cannot lose a device.
func (s *Scheduler) matchOutcomes(targets []Target, results []Outcome) []Outcome {
	byID := make(map[string]Outcome, len(results))
	for _, o := range results {
		if _, seen := byID[o.DeviceID]; !seen {
			byID[o.DeviceID] = o
		}
	}
	out := make([]Outcome, len(targets))
	for i, t := range targets {
		o, ok := byID[t.DeviceID]
		o = classified(o)
		if !ok {
			o = newOutcome(t, Transient, s.now())
			o.Err = errNoOutcome
		}
		o.Token = t.Token
		out[i] = o
	}
	return out
}

// settle updates per-device state from outcomes and completes them with
// what the Scheduler will do: Attempt, Retry and the actual RetryAfter.
func (s *Scheduler) settle(outcomes []Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	limit := s.policy.Attempts()
	for i := range outcomes {
		o := &outcomes[i]
		id := o.DeviceID
		again := s.again[id]
		delete(s.inflight, id)
		delete(s.again, id)
		o.Attempt = s.attempts[id] + 1
		o.TokenDead = o.Kind == Dead
		o.Retry, o.RetryAfter = s.retryDelay(o, limit)
		if o.Retry {
			s.attempts[id] = o.Attempt
			s.due[id] = now.Add(o.RetryAfter)
			continue
		}
		delete(s.attempts, id)
		if o.Kind == Transient {
			o.Err = fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, o.Attempt, o.Err)
		}
		if again {
			s.due[id] = now
		}
	}
}

func (s *Scheduler) retryDelay(o *Outcome, limit int) (bool, time.Duration) {
	if o.Kind != Transient || o.Attempt >= limit {
		return false, 0
	}
	return true, max(s.policy.Backoff(o.Attempt), min(o.RetryAfter, maxRetryAfter))
}
