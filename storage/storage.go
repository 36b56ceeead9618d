// Package storage declares Tidemark's persistent records and the store
// interfaces consumers depend on. Implementations live in sub-packages;
// storagetest holds the conformance suite every implementation must pass.
package storage

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors shared by every implementation, checked with errors.Is.
var (
	ErrNotFound        = errors.New("not found")
	ErrDuplicate       = errors.New("already exists")
	ErrInvalidID       = errors.New("invalid identifier")
	ErrCertMismatch    = errors.New("certificate is not bound to this device")
	ErrCertBoundToPeer = errors.New("certificate is bound to another device")
	ErrChallengeUsed   = errors.New("challenge invalid, expired or already used")
	ErrNotEnrolled     = errors.New("device is not enrolled")
	ErrTooMany         = errors.New("limit reached")
)

// DiskFullError marks a write that failed because the disk is full, so the
// HTTP layer can answer 503 rather than 500.
type DiskFullError struct{ Err error }

func (e *DiskFullError) Error() string { return "storage full: " + e.Err.Error() }
func (e *DiskFullError) Unwrap() error { return e.Err }

// ValidateDeviceID checks an enrollment id before any key is built from it:
// ids become bbolt key prefixes, so a separator byte or an empty id would
// let one device's keys collide with another's.
func ValidateDeviceID(id string) error {
	if !validKey(id, 128, ":") {
		return fmt.Errorf("%w: device id %q", ErrInvalidID, truncate(id, 64))
	}
	return nil
}

// ValidateCommandUUID checks a command UUID before it is used as a key.
func ValidateCommandUUID(uuid string) error {
	if !validKey(uuid, 64, "") {
		return fmt.Errorf("%w: command uuid %q", ErrInvalidID, truncate(uuid, 64))
	}
	return nil
}

// validKey: 1 to max bytes, a letter or digit first, then letters, digits,
// '.', '_', '-' and the extra bytes. Checked on every request and for
// every device of a fan-out, so it is a loop rather than a regexp.
func validKey(s string, max int, extra string) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-' || strings.IndexByte(extra, c) >= 0):
		default:
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Device is one enrollment: identity, push wiring and last known facts.
type Device struct {
	Version      int       `json:"v"`
	ID           string    `json:"id"`
	Enrolled     bool      `json:"enrolled"`
	FirstSeen    time.Time `json:"first_seen"`
	EnrolledAt   time.Time `json:"enrolled_at,omitzero"`
	CheckedOutAt time.Time `json:"checked_out_at,omitzero"`
	LastSeen     time.Time `json:"last_seen,omitzero"`
	CertHash     string    `json:"cert_hash,omitempty"`
	CertNotAfter time.Time `json:"cert_not_after,omitzero"`

	Topic         string `json:"topic,omitempty"`
	PushMagic     string `json:"push_magic,omitempty"`
	PushToken     []byte `json:"push_token,omitempty"`
	PushTokenDead bool   `json:"push_token_dead,omitempty"`
	LastPush      *Push  `json:"last_push,omitempty"`

	BootstrapEscrowed bool      `json:"bootstrap_escrowed"`
	BootstrapAt       time.Time `json:"bootstrap_at,omitzero"`
	HasUnlockToken    bool      `json:"has_unlock_token"`

	Facts  Facts    `json:"facts"`
	Groups []string `json:"groups,omitempty"`
}

// Push is the outcome of the latest push attempt to a device.
type Push struct {
	At     time.Time `json:"at"`
	Status int       `json:"status"`
	Reason string    `json:"reason,omitempty"`
	OK     bool      `json:"ok"`
}

// Facts are what the device has told us about itself, from Authenticate,
// DeviceInformation, SecurityInfo and DDM status.
type Facts struct {
	Platform               string    `json:"platform,omitempty"`
	OSVersion              string    `json:"os_version,omitempty"`
	BuildVersion           string    `json:"build_version,omitempty"`
	SupplementalBuild      string    `json:"supplemental_build,omitempty"`
	SupplementalExtra      string    `json:"supplemental_extra,omitempty"`
	ProductName            string    `json:"product_name,omitempty"`
	Model                  string    `json:"model,omitempty"`
	ModelName              string    `json:"model_name,omitempty"`
	SerialNumber           string    `json:"serial_number,omitempty"`
	DeviceName             string    `json:"device_name,omitempty"`
	Supervised             *bool     `json:"supervised,omitempty"`
	AppleSilicon           *bool     `json:"apple_silicon,omitempty"`
	BatteryLevel           *float64  `json:"battery_level,omitempty"`
	DeviceCapacityGB       *float64  `json:"device_capacity_gb,omitempty"`
	AvailableCapacityGB    *float64  `json:"available_capacity_gb,omitempty"`
	SoftwareUpdateDeviceID string    `json:"software_update_device_id,omitempty"`
	BootstrapRequired      *bool     `json:"bootstrap_required_for_software_update,omitempty"`
	BootstrapAllowedAuth   *bool     `json:"bootstrap_allowed_for_authentication,omitempty"`
	DeviceInfoAt           time.Time `json:"device_info_at,omitzero"`
	SecurityInfoAt         time.Time `json:"security_info_at,omitzero"`
}

// Enrollment is what an Authenticate check-in stores.
type Enrollment struct {
	DeviceID     string
	CertHash     string
	CertNotAfter time.Time
	Facts        Facts
}

// TokenUpdate is what a TokenUpdate check-in stores.
type TokenUpdate struct {
	Topic       string
	PushMagic   string
	PushToken   []byte
	UnlockToken []byte // sealed by the caller; nil leaves the stored one
}

// Event is one entry of a device's (or the server's) bounded history.
type Event struct {
	Seq      uint64            `json:"seq"`
	DeviceID string            `json:"device_id,omitempty"`
	At       time.Time         `json:"at"`
	Kind     string            `json:"kind"`
	Message  string            `json:"message"`
	Data     map[string]string `json:"data,omitempty"`
}

// DeviceFilter narrows a device listing.
type DeviceFilter struct {
	Enrolled *bool
	Platform string
	Group    string
	After    string // id to continue after (pagination)
	Limit    int
}
