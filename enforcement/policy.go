package enforcement

import (
	"slices"
	"time"
)

// TargetKind says how a policy chooses the OS version to enforce.
type TargetKind string

const (
	// TargetVersion enforces one named version (and optionally build).
	TargetVersion TargetKind = "version"
	// TargetLatest enforces the newest release Apple offers each model.
	TargetLatest TargetKind = "latest"
	// TargetLatestMajor enforces the newest release within one major
	// version ("latest 15.x"), per model.
	TargetLatestMajor TargetKind = "latest_major"
)

// Policy is an admin's update policy. Tags are snake_case for both JSON
// (API, storage) and YAML (CLI files, parsed elsewhere).
type Policy struct {
	ID     string `json:"id" yaml:"id"`
	Name   string `json:"name" yaml:"name"`
	Scope  Scope  `json:"scope" yaml:"scope"`
	Target Target `json:"target" yaml:"target"`
	// Deadline is when the device must have installed the target.
	Deadline   Deadline `json:"deadline" yaml:"deadline"`
	DetailsURL string   `json:"details_url,omitempty" yaml:"details_url,omitempty"`
	// Notifications: nil leaves the device default; false keeps only the
	// last-hour and restart notices (softwareupdate.settings, macOS 15+,
	// iOS 18+).
	Notifications *bool `json:"notifications,omitempty" yaml:"notifications,omitempty"`
	// IncludeSecurityImprovements also enforces the Background Security
	// Improvement for the target build once the device runs it, and turns
	// them on in the settings declaration.
	IncludeSecurityImprovements bool `json:"include_security_improvements,omitempty" yaml:"include_security_improvements,omitempty"`
	// AllowForceRestart lets the legacy path use InstallForceRestart once
	// the deadline has passed.
	AllowForceRestart bool `json:"allow_force_restart,omitempty" yaml:"allow_force_restart,omitempty"`
	// UserDeferrals is MaxUserDeferrals for legacy InstallLater (macOS 12+).
	UserDeferrals int `json:"user_deferrals,omitempty" yaml:"user_deferrals,omitempty"`
	// Rings stage the rollout (see Ring); without them every device in
	// scope is targeted at once.
	Rings []Ring `json:"rings,omitempty" yaml:"rings,omitempty"`
	// MaintenanceWindows: legacy installs start only inside one, with
	// MaxRunTime to spare; the DDM deadline takes its time of day from them.
	MaintenanceWindows []MaintenanceWindow `json:"maintenance_windows,omitempty" yaml:"maintenance_windows,omitempty"`
	// MaxRunTime is how long an install may take, as a Go duration ("2h");
	// DefaultMaxRunTime when empty.
	MaxRunTime string `json:"max_run_time,omitempty" yaml:"max_run_time,omitempty"`
	// AutoPause pauses the policy when too many of its devices fail; nil
	// means the defaults for a ringed policy and off otherwise.
	AutoPause *AutoPause `json:"auto_pause,omitempty" yaml:"auto_pause,omitempty"`
	Paused    bool       `json:"paused,omitempty" yaml:"paused,omitempty"`
	CreatedAt time.Time  `json:"created_at" yaml:"created_at"`
	UpdatedAt time.Time  `json:"updated_at" yaml:"updated_at"`
	// Version counts edits, for optimistic concurrency in storage.
	Version int `json:"version" yaml:"version"`
}

// Scope selects devices. Platforms filters first (empty: every supported
// platform; "iOS" means iPhones and "iPadOS" iPads, as devices report
// them). Then a device is in scope if All is set, its Tidemark device id
// (DeviceFacts.ID, not the software-update device id) is listed, or it is
// in one of the groups.
type Scope struct {
	All       bool     `json:"all,omitempty" yaml:"all,omitempty"`
	Platforms []string `json:"platforms,omitempty" yaml:"platforms,omitempty"`
	DeviceIDs []string `json:"device_ids,omitempty" yaml:"device_ids,omitempty"`
	Groups    []string `json:"groups,omitempty" yaml:"groups,omitempty"`
}

// Target names what to install.
type Target struct {
	Kind TargetKind `json:"kind" yaml:"kind"`
	// OSVersion and BuildVersion: for Kind "version". BuildVersion may name
	// a security improvement build ("25C771056a").
	OSVersion    string `json:"os_version,omitempty" yaml:"os_version,omitempty"`
	BuildVersion string `json:"build_version,omitempty" yaml:"build_version,omitempty"`
	// Major: for Kind "latest_major".
	Major int `json:"major,omitempty" yaml:"major,omitempty"`
}

// Deadline is either a fixed device-local date-time, or a number of days
// after Apple posted the target, at a time of day. Device-local: DDM's
// TargetLocalDateTime carries no zone, so every device installs at that
// wall-clock time in its own zone.
type Deadline struct {
	// LocalDateTime is "yyyy-mm-ddThh:mm:ss", no zone.
	LocalDateTime string `json:"local_date_time,omitempty" yaml:"local_date_time,omitempty"`
	// DaysAfterPosting counts days from Apple's PostingDate of the target.
	DaysAfterPosting *int `json:"days_after_posting,omitempty" yaml:"days_after_posting,omitempty"`
	// TimeOfDay is "HH:MM" for DaysAfterPosting; default 17:00.
	TimeOfDay string `json:"time_of_day,omitempty" yaml:"time_of_day,omitempty"`
}

// DefaultTimeOfDay is the deadline's time of day when none is given: end
// of a working day, so the forced install lands after work.
const DefaultTimeOfDay = "17:00"

// SupportedPlatforms are the device platforms whose updates are enforced.
var SupportedPlatforms = []string{"macOS", "iOS", "iPadOS"}

// InScope reports whether a device falls under the policy's scope.
func (s Scope) InScope(f *DeviceFacts) bool {
	if len(s.Platforms) > 0 && !slices.Contains(s.Platforms, f.Platform) {
		return false
	}
	if s.All || slices.Contains(s.DeviceIDs, f.ID) {
		return true
	}
	for _, g := range f.Groups {
		if slices.Contains(s.Groups, g) {
			return true
		}
	}
	return false
}

// platforms is the platform filter with "empty" spelled out.
func (s Scope) platforms() []string {
	if len(s.Platforms) == 0 {
		return SupportedPlatforms
	}
	return s.Platforms
}

// Overlaps reports whether two scopes provably share a device: they share
// a platform and either selects all devices, or they name a common device
// or group. Two different groups may share members, but without
// membership data that cannot be proven, so it does not count.
func (s Scope) Overlaps(o Scope) bool {
	shared := false
	for _, p := range s.platforms() {
		if slices.Contains(o.platforms(), p) {
			shared = true
			break
		}
	}
	if !shared {
		return false
	}
	if s.All || o.All {
		return true
	}
	return intersects(s.DeviceIDs, o.DeviceIDs) || intersects(s.Groups, o.Groups)
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// DeclarationIdentifier is the enforcement declaration's identifier for a
// policy. It depends on the policy id only, so editing a policy updates the
// same declaration instead of stacking a second one on the device.
func DeclarationIdentifier(policyID string) string {
	return "tidemark.enforcement." + policyID
}

// SettingsDeclarationIdentifier is the softwareupdate.settings declaration
// identifier for a policy.
func SettingsDeclarationIdentifier(policyID string) string {
	return "tidemark.softwareupdate-settings." + policyID
}

// StatusSubscriptionIdentifier is the one status-subscriptions declaration
// every DDM device gets, whatever its policies.
const StatusSubscriptionIdentifier = "tidemark.status-subscriptions.softwareupdate"

// StatusItems are the status items the subscription asks for: what
// Evaluate reads.
var StatusItems = []string{
	"device.operating-system.build-version",
	"device.operating-system.supplemental.build-version",
	"device.operating-system.supplemental.extra-version",
	"device.operating-system.version",
	"management.declarations",
	"softwareupdate.device-id",
	"softwareupdate.failure-reason",
	"softwareupdate.install-reason",
	"softwareupdate.install-state",
	"softwareupdate.pending-version",
}
