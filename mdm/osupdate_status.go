package mdm

import (
	"fmt"
	"time"
)

// Update statuses reported in ScheduleOSUpdate UpdateResults and in
// OSUpdateStatus items. Devices may send others; decoders keep them and
// add a warning.
const (
	UpdateStatusIdle                        = "Idle"
	UpdateStatusDownloading                 = "Downloading"
	UpdateStatusDownloadFailed              = "DownloadFailed"
	UpdateStatusDownloadRequiresComputer    = "DownloadRequiresComputer"
	UpdateStatusDownloadInsufficientSpace   = "DownloadInsufficientSpace"
	UpdateStatusDownloadInsufficientPower   = "DownloadInsufficientPower"
	UpdateStatusDownloadInsufficientNetwork = "DownloadInsufficientNetwork"
	UpdateStatusInstalling                  = "Installing"
	UpdateStatusInstallInsufficientSpace    = "InstallInsufficientSpace"
	UpdateStatusInstallInsufficientPower    = "InstallInsufficientPower"
	UpdateStatusInstallPhoneCallInProgress  = "InstallPhoneCallInProgress"
	UpdateStatusInstallFailed               = "InstallFailed"
)

// OSUpdateStatusResponse is a device's answer to OSUpdateStatus.
type OSUpdateStatusResponse struct {
	ResponseHeader
	OSUpdateStatus []OSUpdateStatusItem `plist:"OSUpdateStatus"`
	Warnings       []string             `plist:"-"`
}

// OSUpdateStatusItem is the progress of one update. The deferral fields
// come from macOS 12.3+ only.
type OSUpdateStatusItem struct {
	ProductKey              string      `plist:"ProductKey"`
	IsDownloaded            bool        `plist:"IsDownloaded"`
	DownloadPercentComplete Number      `plist:"DownloadPercentComplete"` // 0.0-1.0
	Status                  string      `plist:"Status"`
	MaxDeferrals            *int        `plist:"MaxDeferrals,omitempty"`
	DeferralsRemaining      *int        `plist:"DeferralsRemaining,omitempty"`
	NextScheduledInstall    time.Time   `plist:"NextScheduledInstall,omitempty"`
	PastNotifications       []time.Time `plist:"PastNotifications,omitempty"`
}

type osUpdateStatusWire struct {
	ResponseHeader
	OSUpdateStatus *[]OSUpdateStatusItem `plist:"OSUpdateStatus,omitempty"`
}

// DecodeOSUpdateStatus decodes an OSUpdateStatus response. A download
// fraction outside 0.0-1.0 or a negative deferral count is an error
// (acting on it would mislead); unknown Status values are kept and
// listed in Warnings.
func DecodeOSUpdateStatus(raw []byte) (*OSUpdateStatusResponse, error) {
	var w osUpdateStatusWire
	if err := decodeResponse(raw, RequestOSUpdateStatus, &w, func() bool { return w.OSUpdateStatus != nil }); err != nil {
		return nil, err
	}
	r := &OSUpdateStatusResponse{ResponseHeader: w.ResponseHeader}
	if w.OSUpdateStatus == nil {
		return r, nil
	}
	r.OSUpdateStatus = *w.OSUpdateStatus
	for i := range r.OSUpdateStatus {
		it := &r.OSUpdateStatus[i]
		if err := it.check(); err != nil {
			return nil, &DecodeError{Reason: fmt.Sprintf("OSUpdateStatus response: item %d: %v", i, err)}
		}
		if len(it.PastNotifications) == 0 {
			it.PastNotifications = nil
		}
		for _, msg := range it.warnings() {
			r.Warnings = append(r.Warnings, fmt.Sprintf("item %d (%s): %s", i, it.ProductKey, msg))
		}
	}
	return r, nil
}

// MarshalPlist writes OSUpdateStatus only when there is a result.
func (r OSUpdateStatusResponse) MarshalPlist() (any, error) {
	w := osUpdateStatusWire{ResponseHeader: r.ResponseHeader}
	if r.Status == StatusAcknowledged || len(r.OSUpdateStatus) > 0 {
		items := r.OSUpdateStatus
		if items == nil {
			items = []OSUpdateStatusItem{}
		}
		w.OSUpdateStatus = &items
	}
	return w, nil
}

func (it OSUpdateStatusItem) check() error {
	if p := it.DownloadPercentComplete; p < 0 || p > 1 {
		return fmt.Errorf("DownloadPercentComplete %v is outside 0.0-1.0", float64(p))
	}
	if (it.MaxDeferrals != nil && *it.MaxDeferrals < 0) || (it.DeferralsRemaining != nil && *it.DeferralsRemaining < 0) {
		return fmt.Errorf("negative MaxDeferrals or DeferralsRemaining")
	}
	return nil
}

func (it OSUpdateStatusItem) warnings() []string {
	var w []string
	if it.ProductKey == "" {
		w = append(w, "missing ProductKey")
	}
	if !IsKnownUpdateStatus(it.Status) {
		w = append(w, fmt.Sprintf("unknown Status %q", it.Status))
	}
	if it.MaxDeferrals != nil && it.DeferralsRemaining != nil && *it.DeferralsRemaining > *it.MaxDeferrals {
		w = append(w, "DeferralsRemaining exceeds MaxDeferrals")
	}
	return w
}

// IsKnownUpdateStatus reports whether s is one of the UpdateStatus* values.
func IsKnownUpdateStatus(s string) bool {
	_, ok := updateStatusMeanings[s]
	return ok
}

// IsKnown reports whether the item's Status is a documented value.
func (it OSUpdateStatusItem) IsKnown() bool { return IsKnownUpdateStatus(it.Status) }
