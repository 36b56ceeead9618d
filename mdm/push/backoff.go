package push

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Retry defaults.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffCap  = 10 * time.Minute
	// DefaultMaxAttempts: with a 1 s base and a 10 min cap, 20 attempts
	// span roughly two hours of APNs trouble before the Scheduler gives up;
	// the next Request for the device starts afresh.
	DefaultMaxAttempts = 20
)

// RetryPolicy computes exponential backoff with jitter. The zero value
// uses the defaults above and a randomly seeded source.
type RetryPolicy struct {
	Base        time.Duration
	Cap         time.Duration
	MaxAttempts int
	// Rand returns numbers in [0,1). Inject a seeded source for
	// deterministic delays; calls are serialised by the policy.
	Rand func() float64

	mu sync.Mutex
}

// NewRetryPolicy returns a policy with the default base, cap and attempt
// limit whose jitter comes from a PCG source seeded with seed, so the same
// seed gives the same sequence of delays.
func NewRetryPolicy(seed uint64) *RetryPolicy {
	return &RetryPolicy{Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)).Float64}
}

// Backoff returns the wait before retry number attempt (1 = the first
// retry): base·2^(attempt-1), capped, then scaled by a random factor in
// [0.5, 1) so that many devices failing at once do not retry in step.
func (p *RetryPolicy) Backoff(attempt int) time.Duration {
	base, ceiling := p.Base, p.Cap
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if ceiling <= 0 {
		ceiling = DefaultBackoffCap
	}
	attempt = max(attempt, 1)
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		if d > ceiling/2 { // doubling would pass the cap (or overflow)
			d = ceiling
			break
		}
		d *= 2
	}
	d = min(d, ceiling)
	return d/2 + time.Duration(p.random()*float64(d/2))
}

// Attempts returns the attempt limit in force.
func (p *RetryPolicy) Attempts() int {
	if p.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return p.MaxAttempts
}

func (p *RetryPolicy) random() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Rand == nil {
		return rand.Float64()
	}
	r := p.Rand()
	if r < 0 || r >= 1 || r != r { // a broken source must not break the bound
		return 0
	}
	return r
}
