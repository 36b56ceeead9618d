package storage

import "time"

// Command is a command as queued: its raw plist and identity.
type Command struct {
	UUID        string    `json:"uuid"`
	RequestType string    `json:"request_type"`
	Raw         []byte    `json:"raw"`
	CreatedAt   time.Time `json:"created_at"`
}

// QueueEntry is a command waiting in a device's queue.
type QueueEntry struct {
	UUID        string    `json:"uuid"`
	RequestType string    `json:"request_type"`
	QueuedAt    time.Time `json:"queued_at"`
	NotNow      bool      `json:"not_now"`
	NotNowCount int       `json:"not_now_count"`
	Delivered   int       `json:"delivered"`
	LastSentAt  time.Time `json:"last_sent_at,omitzero"`
}

// Result is a final (or NotNow) answer a device gave to a command.
type Result struct {
	Version     int          `json:"v"`
	DeviceID    string       `json:"device_id"`
	UUID        string       `json:"uuid"`
	RequestType string       `json:"request_type"`
	Status      string       `json:"status"`
	At          time.Time    `json:"at"`
	ErrorChain  []ErrorChain `json:"error_chain,omitempty"`
	Raw         []byte       `json:"raw"`
}

// ErrorChain mirrors one entry of a device's ErrorChain.
type ErrorChain struct {
	Code                 int    `json:"code"`
	Domain               string `json:"domain"`
	LocalizedDescription string `json:"localized_description,omitempty"`
	USEnglishDescription string `json:"us_english_description,omitempty"`
}

// ReportOutcome says what storing a report did.
type ReportOutcome int

const (
	// ReportStored: a final result was stored and the command dequeued.
	ReportStored ReportOutcome = iota
	// ReportDuplicate: a final result already existed; nothing changed.
	ReportDuplicate
	// ReportNotNow: the command stays queued, skipped until the next Idle.
	ReportNotNow
	// ReportUnknownCommand: the UUID is not queued to this device.
	ReportUnknownCommand
)

// ResultEffects are changes that must land in the same transaction as a
// result: typed results update facts and update state atomically with it.
// The functions run inside the transaction on copies and must not block.
type ResultEffects struct {
	Device func(d *Device) (changed bool)
	Events []Event
	// Blobs are per-device JSON records in named collections (update state,
	// DDM status) updated with the result; Mutate returns the new value.
	Blobs []BlobMutation
}

// BlobMutation rewrites one per-device record of a named collection.
type BlobMutation struct {
	Collection string
	Mutate     func(old []byte) (updated []byte, err error)
}

// Delivery is the next command for a device, or none.
type Delivery struct {
	Command *Command
}
