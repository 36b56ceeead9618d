package push

import (
	"math"
	"testing"
	"time"
)

func TestBackoffBoundsAndGrowth(t *testing.T) {
	cases := []struct {
		attempt int
		ceiling time.Duration // the un-jittered delay
	}{
		{-3, time.Second}, {0, time.Second}, {1, time.Second}, {2, 2 * time.Second},
		{3, 4 * time.Second}, {9, 256 * time.Second}, {10, 512 * time.Second},
		{11, 10 * time.Minute}, {64, 10 * time.Minute}, {math.MaxInt, 10 * time.Minute},
	}
	p := NewRetryPolicy(42)
	for _, tc := range cases {
		for range 50 {
			d := p.Backoff(tc.attempt)
			if d < tc.ceiling/2 || d >= tc.ceiling {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v)", tc.attempt, d, tc.ceiling/2, tc.ceiling)
			}
		}
	}
}

func TestBackoffIsDeterministicForASeed(t *testing.T) {
	a, b, c := NewRetryPolicy(9), NewRetryPolicy(9), NewRetryPolicy(10)
	same, differs := true, false
	for attempt := 1; attempt <= 12; attempt++ {
		da, db, dc := a.Backoff(attempt), b.Backoff(attempt), c.Backoff(attempt)
		same = same && da == db
		differs = differs || da != dc
	}
	if !same || !differs {
		t.Errorf("same seed equal: %v, other seed differs: %v", same, differs)
	}
}

func TestBackoffCustomAndBrokenSources(t *testing.T) {
	cases := []struct {
		name   string
		policy *RetryPolicy
		want   time.Duration
	}{
		{"jitter 0 gives half", &RetryPolicy{Base: 2 * time.Second, Cap: time.Hour, Rand: func() float64 { return 0 }}, 4 * time.Second},
		{"jitter near 1 stays below", &RetryPolicy{Base: 2 * time.Second, Cap: time.Hour, Rand: func() float64 { return 0.5 }}, 6 * time.Second},
		{"out of range source", &RetryPolicy{Base: 2 * time.Second, Cap: time.Hour, Rand: func() float64 { return 7 }}, 4 * time.Second},
		{"NaN source", &RetryPolicy{Base: 2 * time.Second, Cap: time.Hour, Rand: func() float64 { return math.NaN() }}, 4 * time.Second},
		{"huge cap does not overflow", &RetryPolicy{Base: time.Hour, Cap: time.Duration(math.MaxInt64), Rand: func() float64 { return 0 }}, 2 * time.Hour},
	}
	for _, tc := range cases {
		if got := tc.policy.Backoff(3); got != tc.want {
			t.Errorf("%s: Backoff(3) = %v, want %v", tc.name, got, tc.want)
		}
	}
	huge := &RetryPolicy{Base: time.Hour, Cap: time.Duration(math.MaxInt64), Rand: func() float64 { return 0 }}
	if d := huge.Backoff(200); d <= 0 {
		t.Errorf("Backoff(200) with a huge cap = %v, want positive", d)
	}
}

func TestRetryPolicyAttempts(t *testing.T) {
	if got := (&RetryPolicy{}).Attempts(); got != DefaultMaxAttempts {
		t.Errorf("default Attempts = %d", got)
	}
	if got := (&RetryPolicy{MaxAttempts: 4}).Attempts(); got != 4 {
		t.Errorf("Attempts = %d, want 4", got)
	}
}
