package enforcement

import "time"

// DeviceFacts is what the server knows about one device, mapped by the
// caller from stored MDM/DDM data. Pointers mean "not reported": a nil
// Battery is unknown, not empty.
type DeviceFacts struct {
	ID string `json:"id"`
	// Platform as the device reports it: "macOS", "iOS" or "iPadOS".
	Platform          string `json:"platform"`
	OSVersion         string `json:"os_version"`
	BuildVersion      string `json:"build_version"`
	SupplementalBuild string `json:"supplemental_build,omitempty"` // "25C771056a" when a BSI is installed
	SupplementalExtra string `json:"supplemental_extra,omitempty"` // "(a)"
	// InfoUpdatedAt is when OSVersion/BuildVersion were last reported
	// (DeviceInformation answer or DDM status report).
	InfoUpdatedAt time.Time `json:"info_updated_at"`
	// Model is the product type ("Mac15,3", "iPhone15,2").
	Model string `json:"model,omitempty"`
	// SoftwareUpdateDeviceID is what Apple's catalog lists: a board id for
	// Macs ("J314sAP", "Mac-…", "VMA2MACOSAP"), the product type for
	// iPhone/iPad. When empty, Model is used for iPhone/iPad (it is the same
	// string there) but never for Macs.
	SoftwareUpdateDeviceID string `json:"software_update_device_id,omitempty"`
	Supervised             bool   `json:"supervised"`
	AppleSilicon           bool   `json:"apple_silicon"`
	BootstrapEscrowed      bool   `json:"bootstrap_escrowed"`
	// BootstrapRequired is SecurityInfo's
	// BootstrapTokenRequiredForSoftwareUpdate; nil until reported.
	BootstrapRequired *bool     `json:"bootstrap_required,omitempty"`
	EnrolledAt        time.Time `json:"enrolled_at"`
	LastSeen          time.Time `json:"last_seen"`
	PushFailing       bool      `json:"push_failing"`
	Battery           *float64  `json:"battery,omitempty"` // 0..1
	OnPower           *bool     `json:"on_power,omitempty"`
	FreeSpace         *int64    `json:"free_space,omitempty"` // bytes
	// DDMCapable is false when the enrollment does not do declarative
	// management; nil means "assume yes on systems that support it".
	DDMCapable *bool        `json:"ddm_capable,omitempty"`
	DDM        *DDMFacts    `json:"ddm,omitempty"`
	Legacy     *LegacyFacts `json:"legacy,omitempty"`
	Enrolled   bool         `json:"enrolled"`
	Groups     []string     `json:"groups,omitempty"`
	// Location is the device's time zone when known. Deadlines are device
	// local; without a zone "deadline passed" is judged conservatively (only
	// once it has passed everywhere on Earth).
	Location *time.Location `json:"-"`
}

// DDMFacts is the latest declarative status report, flattened.
type DDMFacts struct {
	// InstallState is softwareupdate.install-state: none, waiting,
	// downloading, prepared, installing, failed (unknown values are kept).
	InstallState        string              `json:"install_state,omitempty"`
	PendingOSVersion    string              `json:"pending_os_version,omitempty"`
	PendingBuildVersion string              `json:"pending_build_version,omitempty"`
	FailureCount        int                 `json:"failure_count,omitempty"`
	FailureReason       string              `json:"failure_reason,omitempty"`
	FailureAt           time.Time           `json:"failure_at,omitzero"`
	InstallReasons      []string            `json:"install_reasons,omitempty"`
	Declarations        []DeclarationStatus `json:"declarations,omitempty"`
	StatusUpdatedAt     time.Time           `json:"status_updated_at"`
}

// DeclarationStatus is one entry of management.declarations.
type DeclarationStatus struct {
	Identifier  string `json:"identifier"`
	ServerToken string `json:"server_token,omitempty"`
	Active      bool   `json:"active"`
	// Valid is "valid", "invalid" or "unknown" as the device reports it.
	Valid   string         `json:"valid"`
	Reasons []StatusReason `json:"reasons,omitempty"`
}

// StatusReason is an error a device attached to a declaration.
type StatusReason struct {
	Code        string `json:"code"`
	Description string `json:"description,omitempty"`
}

// LegacyFacts is what the MDM update commands last told us (macOS < 14,
// iOS < 17).
type LegacyFacts struct {
	// ScannedAt: last AvailableOSUpdates answer. Offered: it listed the
	// target (ProductKey known).
	ScannedAt  time.Time `json:"scanned_at"`
	Offered    bool      `json:"offered"`
	ProductKey string    `json:"product_key,omitempty"`
	// Status is OSUpdateStatus's Status for the target (Idle, Downloading,
	// Installing, DownloadFailed, InstallInsufficientPower, …).
	Status          string    `json:"status,omitempty"`
	IsDownloaded    bool      `json:"is_downloaded,omitempty"`
	DownloadPercent float64   `json:"download_percent,omitempty"`
	StatusAt        time.Time `json:"status_at,omitzero"`
	// ScheduledAction is the InstallAction the device accepted in its
	// ScheduleOSUpdate answer ("Error" when scheduling failed).
	ScheduledAction string    `json:"scheduled_action,omitempty"`
	ScheduledAt     time.Time `json:"scheduled_at,omitzero"`
}

// Options tunes thresholds. The zero value means "use the defaults".
type Options struct {
	// StatusTTL: older status makes the compliance Unknown (default 24 h).
	StatusTTL time.Duration
	// CheckInThreshold: a device not seen for longer is "not checking in"
	// (default 72 h).
	CheckInThreshold time.Duration
	// BootstrapGrace: right after enrolment a missing bootstrap token is
	// "awaiting", not "missing" (default 2 h).
	BootstrapGrace time.Duration
	// MinBattery for the legacy install path (default 0.5).
	MinBattery float64
	// MinFreeSpaceMac / MinFreeSpaceMobile: bytes an update needs
	// (defaults 20 GB and 6 GB: about three times a typical update).
	MinFreeSpaceMac    int64
	MinFreeSpaceMobile int64
	// ScanTTL: legacy availability answers older than this are re-scanned
	// (default 1 h).
	ScanTTL time.Duration
	// RiskWindow: a Required device whose deadline is closer than this and
	// that is not installing is "at risk" (default 48 h).
	RiskWindow time.Duration
}

// WithDefaults returns the options with every zero field set to its
// default, for callers that schedule work around the thresholds.
func (o Options) WithDefaults() Options { return o.withDefaults() }

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StatusTTL, 24*time.Hour)
	def(&o.CheckInThreshold, 72*time.Hour)
	def(&o.BootstrapGrace, 2*time.Hour)
	def(&o.ScanTTL, time.Hour)
	def(&o.RiskWindow, 48*time.Hour)
	if o.MinBattery <= 0 {
		o.MinBattery = 0.5
	}
	if o.MinFreeSpaceMac <= 0 {
		o.MinFreeSpaceMac = 20_000_000_000
	}
	if o.MinFreeSpaceMobile <= 0 {
		o.MinFreeSpaceMobile = 6_000_000_000
	}
	return o
}

// softwareUpdateDeviceID is the id to look up in the catalog.
func (f *DeviceFacts) softwareUpdateDeviceID() string {
	if f.SoftwareUpdateDeviceID != "" {
		return f.SoftwareUpdateDeviceID
	}
	if f.Platform == "iOS" || f.Platform == "iPadOS" {
		return f.Model
	}
	return ""
}

// statusAt is when we last learned the device's version or update state.
func (f *DeviceFacts) statusAt() time.Time {
	t := f.InfoUpdatedAt
	if f.DDM != nil && f.DDM.StatusUpdatedAt.After(t) {
		t = f.DDM.StatusUpdatedAt
	}
	return t
}
