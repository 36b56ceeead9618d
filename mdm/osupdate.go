package mdm

import (
	"github.com/tidemark-mdm/tidemark/osversion"
)

// Request types of the MDM software-update commands.
const (
	RequestAvailableOSUpdates   = "AvailableOSUpdates"
	RequestScheduleOSUpdate     = "ScheduleOSUpdate"
	RequestScheduleOSUpdateScan = "ScheduleOSUpdateScan"
	RequestOSUpdateStatus       = "OSUpdateStatus"
)

// InstallAction values. InstallActionError appears only in responses.
const (
	InstallActionDefault             = "Default"
	InstallActionDownloadOnly        = "DownloadOnly"
	InstallActionInstallASAP         = "InstallASAP"
	InstallActionNotifyOnly          = "NotifyOnly"
	InstallActionInstallLater        = "InstallLater"
	InstallActionInstallForceRestart = "InstallForceRestart"
	InstallActionError               = "Error"
)

// Priority values of a ScheduleOSUpdate item (macOS 12.3+).
const (
	PriorityLow  = "Low"
	PriorityHigh = "High"
)

// UpdateCommandsRemovedIn is the first OS major without the MDM
// software-update commands (deprecated in 26, removed in 27).
const UpdateCommandsRemovedIn = 27

// AvailableOSUpdates asks the device which updates it can install.
type AvailableOSUpdates struct{}

func (AvailableOSUpdates) RequestType() string { return RequestAvailableOSUpdates }

func (AvailableOSUpdates) rules() commandRules {
	return updateRules(map[string]platformRule{
		PlatformIOS:   {osversion.MustParse("9.0"), true},
		PlatformMacOS: {osversion.MustParse("10.11"), false},
		PlatformTVOS:  {osversion.MustParse("12.0"), true},
	})
}

// OSUpdateStatus asks the device for the progress of its updates.
type OSUpdateStatus struct{}

func (OSUpdateStatus) RequestType() string { return RequestOSUpdateStatus }

func (OSUpdateStatus) rules() commandRules {
	return updateRules(map[string]platformRule{
		PlatformIOS:   {osversion.MustParse("9.0"), true},
		PlatformMacOS: {osversion.MustParse("10.11.5"), true},
		PlatformTVOS:  {osversion.MustParse("12.0"), true},
	})
}

// ScheduleOSUpdateScan asks a Mac to scan for updates; Force starts the
// scan now instead of at a time the system picks.
type ScheduleOSUpdateScan struct {
	Force bool `plist:"Force,omitempty"`
}

func (ScheduleOSUpdateScan) RequestType() string { return RequestScheduleOSUpdateScan }

func (ScheduleOSUpdateScan) rules() commandRules {
	return updateRules(map[string]platformRule{
		PlatformMacOS: {osversion.MustParse("10.11"), true},
	})
}

// ScheduleOSUpdate asks the device to download and/or install updates.
type ScheduleOSUpdate struct {
	Updates []OSUpdateItem `plist:"Updates"`
}

func (ScheduleOSUpdate) RequestType() string { return RequestScheduleOSUpdate }

func (ScheduleOSUpdate) rules() commandRules {
	return updateRules(map[string]platformRule{
		PlatformIOS:   {osversion.MustParse("9.0"), true},
		PlatformMacOS: {osversion.MustParse("10.11"), true},
		PlatformTVOS:  {osversion.MustParse("12.0"), true},
	})
}

// OSUpdateItem names one update, by ProductKey (as AvailableOSUpdates
// reported it) or by ProductVersion, never both.
type OSUpdateItem struct {
	ProductKey       string `plist:"ProductKey,omitempty"`
	ProductVersion   string `plist:"ProductVersion,omitempty"`
	InstallAction    string `plist:"InstallAction"`
	MaxUserDeferrals *int   `plist:"MaxUserDeferrals,omitempty"`
	Priority         string `plist:"Priority,omitempty"`
}

// NewScheduleOSUpdate builds a ScheduleOSUpdate and validates it.
func NewScheduleOSUpdate(items ...OSUpdateItem) (ScheduleOSUpdate, error) {
	c := ScheduleOSUpdate{Updates: items}
	return c, c.Validate()
}

// UpdateToVersion names an update by the OS version to install.
func UpdateToVersion(v osversion.Version, installAction string) OSUpdateItem {
	return OSUpdateItem{ProductVersion: v.String(), InstallAction: installAction}
}

// UpdateByProductKey names an update by the ProductKey a device reported.
func UpdateByProductKey(productKey, installAction string) OSUpdateItem {
	return OSUpdateItem{ProductKey: productKey, InstallAction: installAction}
}

func updateRules(p map[string]platformRule) commandRules {
	return commandRules{platforms: p, removedInMajor: UpdateCommandsRemovedIn}
}
