// Package push wakes enrolled Apple devices through APNs so they check in
// with the MDM server. It holds the HTTP/2 APNs client, the classification
// of every APNs answer, and a coalescing scheduler that retries with backoff.
package push

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Target is one device to wake: the token, magic and topic it reported in
// its last TokenUpdate check-in.
type Target struct {
	DeviceID  string
	Token     string // hex of the push token bytes
	PushMagic string
	Topic     string
}

// Kind sorts an Outcome by what the caller should do about it.
type Kind int

const (
	// Unclassified is the zero Kind, left by a Pusher that only set the
	// flags; the Scheduler derives the Kind from them.
	Unclassified Kind = iota
	// Delivered: APNs accepted the notification (status 200).
	Delivered
	// Dead: the token no longer reaches the device; stop pushing to it
	// until the device sends a new TokenUpdate.
	Dead
	// Transient: APNs or the network failed; the same push may succeed later.
	Transient
	// Config: the push certificate, topic or endpoint is wrong. Retrying
	// cannot help until an admin acts; Reason says what APNs objected to.
	Config
	// Rejected: APNs (or our own checks) refused this request as malformed
	// and retrying it unchanged cannot help.
	Rejected
	// Disabled: no push certificate is configured, nothing was sent.
	Disabled
)

var kindNames = [...]string{"unclassified", "delivered", "dead-token", "transient", "config", "rejected", "disabled"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Outcome is what happened to one push.
type Outcome struct {
	DeviceID string
	Token    string // the token pushed to, so a sink can forget it only if unchanged
	Kind     Kind
	Status   int    // HTTP status from APNs; 0 when no answer was received
	Reason   string // APNs "reason", or our own explanation when nothing was sent
	APNsID   string // apns-id response header
	Err      error  // nil only when Kind is Delivered
	// TokenDead is Kind == Dead, kept as a flag for callers that only
	// need to know whether to forget the token.
	TokenDead bool
	// Retry says the push is worth sending again. From the Client it
	// follows the classification; the Scheduler clears it once it gives up.
	Retry bool
	// RetryAfter is the server's hint from the Client, and the delay the
	// Scheduler actually waits when it reports the outcome.
	RetryAfter time.Duration
	Attempt    int // 1 for the first try; set by the Scheduler
	At         time.Time
}

// Pusher sends pushes and says what happened to each, in target order.
type Pusher interface {
	Push(ctx context.Context, targets []Target) []Outcome
}

// Errors placed in Outcome.Err for cases where nothing was sent or no
// answer arrived; APNs answers carry an *APNsError.
var (
	ErrPushDisabled  = errors.New("push disabled: no push certificate")
	ErrInvalidTarget = errors.New("invalid push target")
	ErrNoTarget      = errors.New("device has no push token")
	ErrGaveUp        = errors.New("push retries exhausted")
)

// APNsError is a non-200 answer from APNs.
type APNsError struct {
	Status int
	Reason string
}

func (e *APNsError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("apns: status %d", e.Status)
	}
	return fmt.Sprintf("apns: status %d: %s", e.Status, e.Reason)
}

// newOutcome fills the flags that follow from kind, so they never disagree.
func newOutcome(t Target, kind Kind, at time.Time) Outcome {
	return Outcome{
		DeviceID:  t.DeviceID,
		Token:     t.Token,
		Kind:      kind,
		TokenDead: kind == Dead,
		Retry:     kind == Transient,
		At:        at,
	}
}

// classified returns o with Kind derived from its flags when a Pusher left
// it unset, so an outcome is never taken as delivered by accident.
func classified(o Outcome) Outcome {
	if o.Kind != Unclassified {
		return o
	}
	switch {
	case o.TokenDead:
		o.Kind = Dead
	case o.Retry:
		o.Kind = Transient
	case o.Err == nil && o.Status == 200:
		o.Kind = Delivered
	default:
		o.Kind = Rejected
	}
	return o
}
