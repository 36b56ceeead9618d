package storage

import (
	"context"
	"time"
)

// The interfaces below are the whole surface of a store. Consumers declare
// the subset they use; Store exists so backends and the conformance suite
// have one name for everything.

// DeviceStore keeps enrollments, identity bindings and facts.
type DeviceStore interface {
	// Authenticate binds the certificate to the device, creating it or
	// re-enrolling it (queue and bootstrap token dropped).
	Authenticate(ctx context.Context, e Enrollment, at time.Time) (reenrolled bool, err error)
	// CheckBinding verifies certHash is the one bound to deviceID.
	CheckBinding(ctx context.Context, deviceID, certHash string) error
	TokenUpdate(ctx context.Context, deviceID string, tu TokenUpdate, at time.Time) (firstEnrollment bool, err error)
	CheckOut(ctx context.Context, deviceID string, at time.Time) error
	TouchLastSeen(ctx context.Context, deviceID string, at time.Time) error
	Device(ctx context.Context, deviceID string) (*Device, error)
	Devices(ctx context.Context, f DeviceFilter) ([]Device, error)
	UpdateDevice(ctx context.Context, deviceID string, mutate func(d *Device) (bool, error)) error
	SetBootstrapToken(ctx context.Context, deviceID string, sealed []byte, at time.Time) error
	BootstrapToken(ctx context.Context, deviceID string) ([]byte, error)
	UnlockToken(ctx context.Context, deviceID string) ([]byte, error)
}

// QueueStore is the per-device command queue and its results.
type QueueStore interface {
	// Enqueue queues cmd to every device in one transaction. ErrDuplicate
	// when the UUID exists; ErrNotFound/ErrNotEnrolled name the device.
	Enqueue(ctx context.Context, cmd Command, deviceIDs []string) error
	// NextCommand returns the command to deliver, or nil. idle=true starts a
	// new session: commands skipped with NotNow become eligible again.
	NextCommand(ctx context.Context, deviceID string, idle bool, at time.Time) (*Command, error)
	StoreReport(ctx context.Context, r Result, fx ResultEffects) (ReportOutcome, error)
	Queue(ctx context.Context, deviceID string) ([]QueueEntry, error)
	Cancel(ctx context.Context, deviceID, uuid string) error
	Command(ctx context.Context, uuid string) (*Command, error)
	Results(ctx context.Context, deviceID string, limit int) ([]Result, error)
	Result(ctx context.Context, deviceID, uuid string) (*Result, error)
}

// EventStore keeps bounded per-device histories.
type EventStore interface {
	AddEvents(ctx context.Context, events ...Event) error
	Events(ctx context.Context, deviceID string, limit int) ([]Event, error)
}

// OutboxItem is a side effect to perform after a transaction committed.
type OutboxItem struct {
	Seq       uint64    `json:"seq"`
	Kind      string    `json:"kind"`
	DeviceIDs []string  `json:"device_ids"`
	CreatedAt time.Time `json:"created_at"`
}

// Outbox kinds.
const OutboxPush = "push"

// OutboxStore is drained by background workers.
type OutboxStore interface {
	Outbox(ctx context.Context, limit int) ([]OutboxItem, error)
	AckOutbox(ctx context.Context, seqs ...uint64) error
}

// ChallengeStore keeps one-time SCEP challenges (hashed).
type ChallengeStore interface {
	AddChallenge(ctx context.Context, challenge string, expires time.Time) error
	ConsumeChallenge(ctx context.Context, challenge string, at time.Time) error
}

// BlobStore keeps per-device JSON records of named collections.
type BlobStore interface {
	Blob(ctx context.Context, collection, deviceID string) ([]byte, error)
	UpdateBlob(ctx context.Context, collection, deviceID string, mutate func(old []byte) ([]byte, error)) error
	// Blobs reads the records of many devices in several collections at
	// once: out[collection][deviceID], missing records left out.
	Blobs(ctx context.Context, deviceIDs []string, collections ...string) (map[string]map[string][]byte, error)
}

// MetaStore keeps small server-wide settings.
type MetaStore interface {
	Meta(ctx context.Context, key string) ([]byte, error)
	PutMeta(ctx context.Context, key string, value []byte) error
}

// Store is everything a backend provides.
type Store interface {
	DeviceStore
	DeviceBatchUpdater
	QueueStore
	EventStore
	OutboxStore
	ChallengeStore
	BlobStore
	MetaStore
	EnforcementStore
	DDMStore
	Close() error
}

// DeviceBatchUpdater updates many devices in one transaction (push
// outcomes for a whole fan-out); mutate returning false writes nothing.
type DeviceBatchUpdater interface {
	UpdateDevices(ctx context.Context, ids []string, mutate func(d *Device) bool) error
}

// BlobScanner visits every record of a collection (reports over a fleet).
// fn must copy raw if it keeps it.
type BlobScanner interface {
	ForEachBlob(ctx context.Context, collection string, fn func(deviceID string, raw []byte) error) error
}
