package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OutboxDDMSync asks the DDM worker to tell the named devices (with a
// DeclarativeManagement command and a push) that their declarations changed.
// These items live in their own outbox (DDMSyncs), not in Outbox: the push
// worker acknowledges every item of the shared outbox whatever its kind.
const OutboxDDMSync = "ddm_sync"

// DDMStatusCollection is the BlobStore collection holding each device's
// latest merged DDM status (JSON of ddm.DeviceStatus).
const DDMStatusCollection = "ddmstatus"

// ErrInUse is matched (errors.Is) by an *InUseError.
var ErrInUse = errors.New("in use")

// InUseError refuses to delete a declaration that sets or activations
// still reference, naming them so the admin knows what to change first.
type InUseError struct {
	Identifier  string
	Sets        []string
	Activations []string
}

func (e *InUseError) Error() string {
	var parts []string
	if len(e.Sets) > 0 {
		parts = append(parts, "set(s) "+strings.Join(e.Sets, ", "))
	}
	if len(e.Activations) > 0 {
		parts = append(parts, "activation(s) "+strings.Join(e.Activations, ", "))
	}
	return fmt.Sprintf("declaration %s is %s by %s", e.Identifier, ErrInUse, strings.Join(parts, " and "))
}

// Is makes an InUseError match ErrInUse.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// DeclarationRecord is a stored declaration. Payload is canonical JSON (the
// caller canonicalises it), so comparing bytes tells whether content changed.
type DeclarationRecord struct {
	Version     int             `json:"v"`
	Identifier  string          `json:"identifier"`
	Type        string          `json:"type"`
	Payload     json.RawMessage `json:"payload"`
	ServerToken string          `json:"server_token"`
	// References lists the configurations an activation activates; the
	// store refuses missing ones and keeps a reverse index so a referenced
	// declaration cannot be deleted.
	References []string  `json:"references,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// DeviceID is set on device-scoped declarations only.
	DeviceID string `json:"device_id,omitempty"`
}

// SameContent reports whether two records describe the same declaration
// content (times and bookkeeping aside).
func (d *DeclarationRecord) SameContent(o *DeclarationRecord) bool {
	return d.Identifier == o.Identifier && d.Type == o.Type && string(d.Payload) == string(o.Payload) &&
		d.ServerToken == o.ServerToken && strings.Join(d.References, "\x00") == strings.Join(o.References, "\x00")
}

// DeclarationSet is a named group of declarations assigned to devices.
type DeclarationSet struct {
	Name         string    `json:"name"`
	Declarations []string  `json:"declarations"`
	Devices      []string  `json:"devices,omitempty"`
	DeviceCount  int       `json:"device_count"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// DeviceDeclarations is what a device should hold, as stored: the union of
// its sets' declarations and its device-scoped declarations (which win over
// a global declaration of the same identifier), sorted by identifier.
type DeviceDeclarations struct {
	Declarations []DeclarationRecord
	Sets         []string
	// LastModified is when this set of declarations last changed: the latest
	// of the records' and sets' update times and the device's own stamp
	// (assignments, removals). It never moves for an unchanged set.
	LastModified time.Time
	// CheckinSeen is true once the device sent a DeclarativeManagement
	// check-in (first at CheckinAt): proof it speaks DDM whatever its OS
	// version says.
	CheckinSeen bool
	CheckinAt   time.Time
}

// DDMStatusEntry is one status report in a device's bounded history;
// Report is the parsed report as JSON.
type DDMStatusEntry struct {
	Seq    uint64          `json:"seq"`
	At     time.Time       `json:"at"`
	Report json.RawMessage `json:"report"`
}

// DDMStatusUpdate is one received status report and what it changes, all
// written in one transaction.
type DDMStatusUpdate struct {
	At     time.Time
	Report json.RawMessage
	// Keep bounds the device's history (the oldest entries are dropped).
	Keep int
	// Latest rewrites the DDMStatusCollection blob of the device.
	Latest func(old []byte) ([]byte, error)
	// Facts updates the device record (OS version from the report); false
	// writes nothing.
	Facts func(d *Device) bool
}

// DDMStore keeps declarations, sets, assignments and DDM status. Every
// write that changes what a device should hold queues an OutboxDDMSync item
// naming exactly the affected devices, in the same transaction; a write
// that changes nothing writes nothing and reports changed=false.
type DDMStore interface {
	PutDeclaration(ctx context.Context, d DeclarationRecord, at time.Time) (changed bool, err error)
	Declaration(ctx context.Context, id string) (*DeclarationRecord, error)
	Declarations(ctx context.Context) ([]DeclarationRecord, error)
	// DeclarationUsage names the sets holding a declaration and the
	// activations referencing it.
	DeclarationUsage(ctx context.Context, id string) (sets, activations []string, err error)
	// DeleteDeclaration fails with an *InUseError while the declaration is
	// in a set or referenced by an activation.
	DeleteDeclaration(ctx context.Context, id string) (changed bool, err error)

	PutDeviceDeclaration(ctx context.Context, deviceID string, d DeclarationRecord, at time.Time) (changed bool, err error)
	DeleteDeviceDeclaration(ctx context.Context, deviceID, id string, at time.Time) (changed bool, err error)

	// UpdateSet creates the set if needed, then adds and removes
	// declarations (which must exist).
	UpdateSet(ctx context.Context, name string, add, remove []string, at time.Time) (changed bool, err error)
	DeleteSet(ctx context.Context, name string, at time.Time) (changed bool, err error)
	Set(ctx context.Context, name string) (*DeclarationSet, error)
	Sets(ctx context.Context) ([]DeclarationSet, error)
	// AssignSet and UnassignSet return the devices whose assignment changed.
	AssignSet(ctx context.Context, name string, deviceIDs []string, at time.Time) (changed []string, err error)
	UnassignSet(ctx context.Context, name string, deviceIDs []string, at time.Time) (changed []string, err error)

	DeviceDeclarations(ctx context.Context, deviceID string) (*DeviceDeclarations, error)
	// MarkDDMCheckin records that the device spoke DDM; changed is true the
	// first time. It does not date the device's set: whether that changed
	// depends on what the caller knew of the device before.
	MarkDDMCheckin(ctx context.Context, deviceID string, at time.Time) (changed bool, err error)
	RequestDDMSync(ctx context.Context, deviceIDs []string, at time.Time) error
	AddDDMStatus(ctx context.Context, deviceID string, u DDMStatusUpdate) error
	// DDMStatusHistory lists the device's reports, newest first.
	DDMStatusHistory(ctx context.Context, deviceID string, limit int) ([]DDMStatusEntry, error)

	// DDMSyncs lists pending OutboxDDMSync items, oldest first.
	DDMSyncs(ctx context.Context, limit int) ([]OutboxItem, error)
	AckDDMSyncs(ctx context.Context, seqs ...uint64) error
}

// ValidateDDMName checks a declaration identifier or set name before a key
// is built from it: letters, digits, '.', '-' and '_', not starting with
// '.', at most 255 bytes (the rules of ddm identifiers).
func ValidateDDMName(kind, name string) error {
	ok := name != "" && len(name) <= 255 && name[0] != '.'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
	}
	if !ok {
		return fmt.Errorf("%w: %s %q", ErrInvalidID, kind, truncate(name, 64))
	}
	return nil
}
