package legacy

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// Collection is the per-device blob collection of Record.
const Collection = "legacydriver"

const recordVersion = 1

// maxLog bounds Track.Log; the oldest entries are dropped.
const maxLog = 40

// Phase is where the driver is with one target.
type Phase string

const (
	// PhaseFind: the target's product key is not known from a trusted scan.
	PhaseFind Phase = "find"
	// PhaseReady: offered; the next ScheduleOSUpdate waits for its time.
	PhaseReady Phase = "ready"
	// PhaseRequested: a ScheduleOSUpdate is queued, no answer yet.
	PhaseRequested Phase = "requested"
	// PhaseDownloading: DownloadOnly accepted, not downloaded yet.
	PhaseDownloading Phase = "downloading"
	// PhaseInstallLater: InstallLater (or a fallback) accepted; the user
	// installs, the deadline still stands.
	PhaseInstallLater Phase = "install_later"
	// PhaseInstalling: InstallASAP / InstallForceRestart accepted.
	PhaseInstalling Phase = "installing"
	// PhaseVerifying: the install ended; waiting for DeviceInformation to
	// report the target.
	PhaseVerifying Phase = "verifying"
	// PhaseInstalled: the target was reported; nothing more is sent.
	PhaseInstalled Phase = "installed"
)

// Record is everything the driver keeps about one device.
type Record struct {
	Version int `json:"v"`
	// EnrolledAt is the enrolment this record belongs to; a re-enrolled
	// device starts afresh (its queue was cleared too).
	EnrolledAt time.Time `json:"enrolled_at,omitzero"`
	// Requested: when the driver last queued each command type.
	Requested map[string]time.Time `json:"requested,omitempty"`
	Scan      ScanState            `json:"scan"`
	// Tracks: one per policy id.
	Tracks map[string]*Track `json:"tracks,omitempty"`
}

// ScanState is the device-level scan bookkeeping.
type ScanState struct {
	// Count of scans the driver asked for; LastReason why the last one
	// (enrollment, restart, install, cadence, rescan).
	Count      int       `json:"count"`
	LastReason string    `json:"last_reason,omitempty"`
	LastAt     time.Time `json:"last_at,omitzero"`
	// Build is the OS build when the last scan was asked for: a different
	// build means the device restarted on another system.
	Build string `json:"build,omitempty"`
	// RescanAt asks for a scan at a given time (install action unsupported,
	// product key gone).
	RescanAt time.Time `json:"rescan_at,omitzero"`
	// AfterInstall: a verified install asks for one more scan.
	AfterInstall bool `json:"after_install,omitempty"`
}

// Track is the driver's work on one target for one policy.
type Track struct {
	PolicyID    string `json:"policy_id"`
	Target      string `json:"target"`
	TargetBuild string `json:"target_build,omitempty"`
	Phase       Phase  `json:"phase"`
	// Offer is the list item that matched, when a trusted scan had it.
	Offer    *Offer    `json:"offer,omitempty"`
	NotFound NotFound  `json:"not_found"`
	Attempts int       `json:"attempts"` // ScheduleOSUpdate commands queued
	Failures int       `json:"failures"` // failures counted, in total
	InARow   int       `json:"failures_in_a_row"`
	Backoff  time.Time `json:"backoff_until,omitzero"`
	// Downloaded: the device reported the download complete; Assumed: a
	// stalled download was taken as complete.
	Downloaded   bool        `json:"downloaded,omitempty"`
	Assumed      bool        `json:"download_assumed,omitempty"`
	ZeroProgress []time.Time `json:"zero_progress,omitempty"` // stall strikes
	IdlePolls    int         `json:"idle_polls,omitempty"`
	// InstallStartedAt: first Installing status of this attempt.
	InstallStartedAt time.Time  `json:"install_started_at,omitzero"`
	RuntimeExceeded  bool       `json:"runtime_exceeded,omitempty"`
	VerifyStartedAt  time.Time  `json:"verify_started_at,omitzero"`
	VerifiedAt       time.Time  `json:"verified_at,omitzero"`
	Fallback         *Fallback  `json:"fallback,omitempty"`
	Condition        *Condition `json:"condition,omitempty"`
	LastStatus       *Status    `json:"last_status,omitempty"`
	LastAction       *Action    `json:"last_action,omitempty"`
	LastFailure      *Failure   `json:"last_failure,omitempty"`
	// FailureOpen: LastFailure still explains the device (no progress
	// since).
	FailureOpen bool `json:"failure_open,omitempty"`
	Next        Next `json:"next"`
	// Reason and Step are what the driver last told the worker.
	Reason enforcement.Reason `json:"reason,omitzero"`
	Step   enforcement.Step   `json:"step,omitempty"`
	Seen   Seen               `json:"seen"`
	Log    []LogEntry         `json:"log,omitempty"`
}

// Offer is the matched item of AvailableOSUpdates.
type Offer struct {
	ProductKey         string    `json:"product_key"`
	Version            string    `json:"version"`
	Build              string    `json:"build,omitempty"`
	DownloadSize       int64     `json:"download_size,omitempty"`
	AllowsInstallLater bool      `json:"allows_install_later,omitempty"`
	IsMajor            bool      `json:"is_major,omitempty"`
	ListedAt           time.Time `json:"listed_at"`
}

// NotFound counts scans whose list lacked the target.
type NotFound struct {
	Scans   int       `json:"scans"`
	FirstAt time.Time `json:"first_at,omitzero"`
	LastAt  time.Time `json:"last_at,omitzero"`
}

// Fallback is the user-driven path after forcing failed.
type Fallback struct {
	Because     enforcement.Code `json:"because"`
	RequestedAt time.Time        `json:"requested_at"`
	Action      string           `json:"install_action"`
	IssuedAt    time.Time        `json:"issued_at,omitzero"`
	// OfferedAt: the last time the update was offered again (user-driven,
	// or forced once the deadline passed).
	OfferedAt time.Time `json:"offered_at,omitzero"`
}

// Condition is a device-reported state that waits, not fails.
type Condition struct {
	Code   enforcement.Code `json:"code,omitempty"` // empty for a phone call
	Status string           `json:"status"`
	Since  time.Time        `json:"since"`
}

// Status is the target's last OSUpdateStatus item.
type Status struct {
	At         time.Time `json:"at"`
	Status     string    `json:"status"`
	Percent    float64   `json:"percent"`
	Downloaded bool      `json:"downloaded"`
}

// Action is the last ScheduleOSUpdate the driver queued and its answer.
type Action struct {
	InstallAction    string    `json:"install_action"`
	MaxUserDeferrals *int      `json:"max_user_deferrals,omitempty"`
	ProductKey       string    `json:"product_key"`
	CommandUUID      string    `json:"command_uuid"`
	Attempt          int       `json:"attempt"`
	QueuedAt         time.Time `json:"queued_at"`
	Why              string    `json:"why"`
	// Answer is the accepted InstallAction or "Error"; AnsweredAt when.
	Answer     string    `json:"answer,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
}

// Failure is the last failure with the device's raw error chain.
type Failure struct {
	Code        enforcement.Code     `json:"code"`
	At          time.Time            `json:"at"`
	RequestType string               `json:"request_type"`
	Status      string               `json:"status,omitempty"`
	Detail      string               `json:"detail,omitempty"`
	Counted     bool                 `json:"counted"` // towards the fallback
	ErrorChain  []mdm.ErrorChainItem `json:"error_chain,omitempty"`
}

// Next is the driver's next planned action.
type Next struct {
	Action string    `json:"action"`
	At     time.Time `json:"at,omitzero"`
	Why    string    `json:"why,omitempty"`
}

// Seen holds the UpdateState times already consumed, so every answer is
// counted exactly once however often the device is reconciled.
type Seen struct {
	Available time.Time `json:"available,omitzero"`
	Schedule  time.Time `json:"schedule,omitzero"`
	Status    time.Time `json:"status,omitzero"`
	Error     time.Time `json:"error,omitzero"`
	Build     string    `json:"build,omitempty"`
}

// LogEntry is one step or failure, for `device why`.
type LogEntry struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Detail string    `json:"detail,omitempty"`
}

// DecodeRecord reads a stored Record (empty input gives a fresh one).
func DecodeRecord(raw []byte) (*Record, error) {
	r := &Record{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, r); err != nil {
			return nil, fmt.Errorf("legacy driver record: %w", err)
		}
	}
	if r.Requested == nil {
		r.Requested = map[string]time.Time{}
	}
	if r.Tracks == nil {
		r.Tracks = map[string]*Track{}
	}
	return r, nil
}

func (r *Record) encode() ([]byte, error) {
	r.Version = recordVersion
	return json.Marshal(r)
}

// track returns the policy's track, starting a new one when the target
// changed (a new "latest", an edited policy). seen is what a brand-new
// track takes as already consumed.
func (r *Record) track(policyID, target, build string, now time.Time, seen Seen) *Track {
	t := r.Tracks[policyID]
	if t != nil && t.Target == target && t.TargetBuild == build {
		return t
	}
	nt := &Track{PolicyID: policyID, Target: target, TargetBuild: build, Phase: PhaseFind, Seen: seen}
	label := target
	if build != "" {
		label += " (" + build + ")"
	}
	if t != nil {
		nt.Seen = t.Seen // answers before the change are not news
		nt.logf(now, "retargeted", "from %s to %s", t.Target, label)
	} else {
		nt.logf(now, "tracking", "target %s", label)
	}
	r.Tracks[policyID] = nt
	return nt
}

func (t *Track) logf(at time.Time, event, format string, args ...any) {
	e := LogEntry{At: at, Event: event, Detail: fmt.Sprintf(format, args...)}
	if len(t.Log) >= maxLog {
		t.Log = append(t.Log[:0:0], t.Log[len(t.Log)-maxLog+1:]...)
	}
	t.Log = append(t.Log, e)
}
