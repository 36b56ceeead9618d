// Package reconcile applies enforcement plans: for every device and policy
// it evaluates where the device stands, records state changes with their
// reasons, and makes the device's declarations (and, through a driver, the
// legacy commands) match the plan. Running it twice changes nothing.
package reconcile

import (
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/storage"
)

// BuildFacts maps what storage knows of a device onto the facts planning
// needs. The OS version comes from whichever report is newest: the DDM
// status, a DeviceInformation answer, or the Authenticate message.
func BuildFacts(d *storage.Device, st *ddm.DeviceStatus, us *commands.UpdateState) enforcement.DeviceFacts {
	f := enforcement.DeviceFacts{
		ID: d.ID, Platform: d.Facts.Platform, OSVersion: d.Facts.OSVersion, BuildVersion: d.Facts.BuildVersion,
		SupplementalBuild: d.Facts.SupplementalBuild, SupplementalExtra: d.Facts.SupplementalExtra,
		Model: d.Facts.ProductName, SoftwareUpdateDeviceID: d.Facts.SoftwareUpdateDeviceID,
		// Unknown supervision counts as unsupervised, as the admin API's
		// command checks do: the engine asks for DeviceInformation at once.
		Supervised: deref(d.Facts.Supervised), AppleSilicon: deref(d.Facts.AppleSilicon),
		BootstrapEscrowed: d.BootstrapEscrowed, BootstrapRequired: d.Facts.BootstrapRequired,
		EnrolledAt: d.EnrolledAt, LastSeen: d.LastSeen, Enrolled: d.Enrolled, Groups: d.Groups,
		PushFailing:   d.PushTokenDead || (d.LastPush != nil && !d.LastPush.OK && !strings.HasPrefix(d.LastPush.Reason, "push disabled")),
		InfoUpdatedAt: d.Facts.DeviceInfoAt,
	}
	if f.InfoUpdatedAt.IsZero() && f.OSVersion != "" {
		// Authenticate reported the version at enrollment.
		f.InfoUpdatedAt = firstNonZero(d.EnrolledAt, d.FirstSeen)
	}
	if b := d.Facts.BatteryLevel; b != nil && *b >= 0 {
		v := *b
		f.Battery = &v
	} else if b != nil {
		// -1: no battery (desktop Mac), always on power.
		on := true
		f.OnPower = &on
	}
	if free := d.Facts.AvailableCapacityGB; free != nil {
		bytes := int64(*free * 1e9)
		f.FreeSpace = &bytes
	}
	if st != nil {
		applyDDMStatus(&f, st)
	}
	if us != nil {
		f.Legacy = legacyFacts(us)
	}
	return f
}

func applyDDMStatus(f *enforcement.DeviceFacts, st *ddm.DeviceStatus) {
	capable := true
	f.DDMCapable = &capable
	if st.OSVersion != nil && st.OSVersion.UpdatedAt.After(f.InfoUpdatedAt) {
		f.OSVersion, f.InfoUpdatedAt = st.OSVersion.Value, st.OSVersion.UpdatedAt
		if st.OSBuildVersion != nil {
			f.BuildVersion = st.OSBuildVersion.Value
		}
		f.SupplementalBuild, f.SupplementalExtra = "", ""
		if st.OSSupplementalBuildVersion != nil {
			f.SupplementalBuild = st.OSSupplementalBuildVersion.Value
		}
		if st.OSSupplementalExtraVersion != nil {
			f.SupplementalExtra = st.OSSupplementalExtraVersion.Value
		}
	}
	if st.DeviceID != nil && st.DeviceID.Value != "" {
		f.SoftwareUpdateDeviceID = st.DeviceID.Value
	}
	if st.ModelIdentifier != nil && f.Model == "" {
		f.Model = st.ModelIdentifier.Value
	}
	dd := &enforcement.DDMFacts{StatusUpdatedAt: st.LastReportAt}
	if st.InstallState != nil {
		dd.InstallState = string(st.InstallState.Value)
	}
	if st.PendingVersion != nil {
		dd.PendingOSVersion, dd.PendingBuildVersion = st.PendingVersion.Value.OSVersion, st.PendingVersion.Value.BuildVersion
	}
	if st.FailureReason != nil {
		fr := st.FailureReason.Value
		dd.FailureCount, dd.FailureReason = fr.Count, fr.Reason
		if t, err := time.Parse(time.RFC3339, fr.Timestamp); err == nil {
			dd.FailureAt = t
		} else {
			dd.FailureAt = st.FailureReason.UpdatedAt
		}
	}
	if st.InstallReason != nil {
		dd.InstallReasons = append(dd.InstallReasons, st.InstallReason.Value.Reasons...)
	}
	for id, ds := range st.Declarations {
		s := enforcement.DeclarationStatus{Identifier: id, ServerToken: ds.ServerToken, Active: ds.Active, Valid: ds.Valid}
		for _, r := range ds.Reasons {
			s.Reasons = append(s.Reasons, enforcement.StatusReason{Code: r.Code, Description: r.Description})
		}
		dd.Declarations = append(dd.Declarations, s)
	}
	f.DDM = dd
}

// legacyFacts summarises the legacy update state; the legacy driver
// refines the target's product key.
func legacyFacts(us *commands.UpdateState) *enforcement.LegacyFacts {
	lf := &enforcement.LegacyFacts{ScannedAt: us.AvailableAt, StatusAt: us.StatusAt, ScheduledAt: us.ScheduledAt}
	if len(us.Status) > 0 {
		s := us.Status[0]
		lf.ProductKey, lf.Status, lf.IsDownloaded = s.ProductKey, s.Status, s.IsDownloaded
		lf.DownloadPercent = s.DownloadPercentComplete.Float64()
	}
	if len(us.ScheduleResults) > 0 {
		lf.ScheduledAction = us.ScheduleResults[0].InstallAction
	}
	return lf
}

func deref(b *bool) bool { return b != nil && *b }

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
