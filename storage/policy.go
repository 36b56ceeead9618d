package storage

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// ErrStale is returned when a write names a record version that is no
// longer the stored one: someone else changed the record since it was read.
var ErrStale = errors.New("stale version: the record changed since it was read")

// PolicyStore keeps update policies. Writes carry the version the caller
// read (0: the policy must not exist yet), checked in the same transaction
// as the write, and the events describing the change, written with it.
type PolicyStore interface {
	// Policies lists every policy, ordered by id.
	Policies(ctx context.Context) ([]enforcement.Policy, error)
	Policy(ctx context.Context, id string) (*enforcement.Policy, error)
	// PutPolicy creates or replaces p; prior is the stored version the
	// caller based p on. ErrStale when it differs.
	PutPolicy(ctx context.Context, p enforcement.Policy, prior int, events ...Event) error
	// DeletePolicy removes a policy stored at version prior.
	DeletePolicy(ctx context.Context, id string, prior int, events ...Event) error
}

// CatalogRecord is the last good release catalog: Apple's JSON as received.
type CatalogRecord struct {
	Raw         []byte `json:"-"`
	Source      string `json:"source"`
	Fingerprint string `json:"fingerprint"`
	// LoadedAt is when this content became the current catalog; CheckedAt
	// when a fetch or import last confirmed it.
	LoadedAt  time.Time `json:"loaded_at"`
	CheckedAt time.Time `json:"checked_at"`
}

// CatalogStore keeps the one current release catalog.
type CatalogStore interface {
	// StoredCatalog returns the catalog, or ErrNotFound before the first.
	StoredCatalog(ctx context.Context) (*CatalogRecord, error)
	// PutCatalog replaces it; an empty Raw is refused so the last good
	// copy can never be lost to an empty download.
	PutCatalog(ctx context.Context, c CatalogRecord, events ...Event) error
}

// GroupCount is a device group and how many devices are in it.
type GroupCount struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// GroupStore maintains Device.Groups together with a group→device index,
// in one transaction. Device.Groups must only change through it, or the
// index drifts from the records.
type GroupStore interface {
	// SetDeviceGroup adds (member) or removes the device from group.
	// events are written only when membership changed.
	SetDeviceGroup(ctx context.Context, deviceID, group string, member bool, events ...Event) (changed bool, err error)
	// Groups lists every non-empty group, ordered by name.
	Groups(ctx context.Context) ([]GroupCount, error)
	// GroupMembers lists the device ids in group, ordered.
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// EnforcementStore is what the policy service persists.
type EnforcementStore interface {
	PolicyStore
	CatalogStore
	GroupStore
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidatePolicyID checks a policy id before it becomes a key. It is the
// same rule enforcement.Policy.Validate applies.
func ValidatePolicyID(id string) error {
	if !namePattern.MatchString(id) {
		return fmt.Errorf("%w: policy id %q", ErrInvalidID, truncate(id, 64))
	}
	return nil
}

// ValidateGroupName checks a device group name: 1-64 letters, digits,
// '.', '_' or '-', starting with a letter or digit.
func ValidateGroupName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: group name %q (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)",
			ErrInvalidID, truncate(name, 64))
	}
	return nil
}
