package push

import (
	"context"
	"time"
)

// DisabledPusher stands in when no push certificate is configured: the
// server runs normally, devices pick up work when they check in on their
// own, and every push is recorded as not sent.
type DisabledPusher struct {
	Now func() time.Time // defaults to time.Now
}

// Push sends nothing and returns a Disabled outcome for each target.
func (d DisabledPusher) Push(_ context.Context, targets []Target) []Outcome {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	out := make([]Outcome, len(targets))
	for i, t := range targets {
		out[i] = newOutcome(t, Disabled, now())
		out[i].Reason = ErrPushDisabled.Error()
		out[i].Err = ErrPushDisabled
	}
	return out
}
