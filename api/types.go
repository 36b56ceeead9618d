// Package api is Tidemark's admin HTTP API (JSON under /v1/, bearer API
// key) and the Go client the CLI uses. Field names are part of the
// contract: tests pin them.
package api

import (
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

// Device is the admin view of an enrollment. Secrets (bootstrap and unlock
// tokens) are never part of it; only whether they are escrowed.
type Device struct {
	ID                string         `json:"id"`
	Enrolled          bool           `json:"enrolled"`
	FirstSeen         time.Time      `json:"first_seen"`
	EnrolledAt        *time.Time     `json:"enrolled_at,omitempty"`
	CheckedOutAt      *time.Time     `json:"checked_out_at,omitempty"`
	LastSeen          *time.Time     `json:"last_seen,omitempty"`
	CertNotAfter      *time.Time     `json:"cert_not_after,omitempty"`
	Topic             string         `json:"topic,omitempty"`
	PushConfigured    bool           `json:"push_configured"`
	PushTokenDead     bool           `json:"push_token_dead"`
	LastPush          *storage.Push  `json:"last_push,omitempty"`
	BootstrapEscrowed bool           `json:"bootstrap_token_escrowed"`
	HasUnlockToken    bool           `json:"unlock_token_escrowed"`
	Facts             storage.Facts  `json:"facts"`
	Groups            []string       `json:"groups,omitempty"`
	QueueLength       *int           `json:"queue_length,omitempty"`
	Extra             map[string]any `json:"extra,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// DeviceFromStorage builds the admin view of a stored device.
func DeviceFromStorage(d *storage.Device) Device {
	return Device{
		ID: d.ID, Enrolled: d.Enrolled, FirstSeen: d.FirstSeen,
		EnrolledAt: optTime(d.EnrolledAt), CheckedOutAt: optTime(d.CheckedOutAt),
		LastSeen: optTime(d.LastSeen), CertNotAfter: optTime(d.CertNotAfter),
		Topic: d.Topic, PushConfigured: len(d.PushToken) > 0 && d.PushMagic != "",
		PushTokenDead: d.PushTokenDead, LastPush: d.LastPush,
		BootstrapEscrowed: d.BootstrapEscrowed, HasUnlockToken: d.HasUnlockToken,
		Facts: d.Facts, Groups: d.Groups,
	}
}

// EnqueueRequest queues one command to devices. Exactly one of Raw
// (a command plist) or Type (+Params) is given; exactly one of Devices or All.
type EnqueueRequest struct {
	Devices []string       `json:"devices,omitempty"`
	All     bool           `json:"all,omitempty"`
	Raw     string         `json:"raw_plist,omitempty"`
	Type    string         `json:"type,omitempty"`
	Params  map[string]any `json:"params,omitempty"`
	UUID    string         `json:"command_uuid,omitempty"`
}

// EnqueueResponse says what was queued.
type EnqueueResponse struct {
	CommandUUID string   `json:"command_uuid"`
	RequestType string   `json:"request_type"`
	Devices     []string `json:"devices"`
}

// Result is a stored command result with its decoded form.
type Result struct {
	storage.Result
	RawPlist string `json:"raw_plist"`
	Decoded  any    `json:"decoded,omitempty"`
}

// Challenge is a one-time SCEP challenge.
type Challenge struct {
	Challenge string    `json:"challenge"`
	Expires   time.Time `json:"expires"`
}

// PushCertInfo describes the configured APNs certificate.
type PushCertInfo struct {
	Configured bool      `json:"configured"`
	Topic      string    `json:"topic,omitempty"`
	NotAfter   time.Time `json:"not_after,omitzero"`
	Subject    string    `json:"subject,omitempty"`
}

// PushCertUpload uploads a push certificate and key (PEM).
type PushCertUpload struct {
	CertPEM string `json:"cert_pem"`
	KeyPEM  string `json:"key_pem"`
	Force   bool   `json:"force,omitempty"`
}

// Error is every error body.
type Error struct {
	Error string `json:"error"`
}
