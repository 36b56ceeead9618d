package ddm

import (
	"encoding/json"
	"time"
)

// DeviceStatusVersion is the storage version of DeviceStatus; bump it when
// a change needs a migration.
const DeviceStatusVersion = 1

// Stamped is a value with the time it was last reported.
type Stamped[T any] struct {
	Value     T         `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DeviceStatus is everything known from a device's status reports, built by
// merging reports one after another. Each part carries its own time,
// because each report holds only what changed.
type DeviceStatus struct {
	Version          int       `json:"version"`
	LastReportAt     time.Time `json:"last_report_at,omitzero"`
	LastFullReportAt time.Time `json:"last_full_report_at,omitzero"`

	InstallState   *Stamped[InstallState]   `json:"install_state,omitempty"`
	PendingVersion *Stamped[PendingVersion] `json:"pending_version,omitempty"`
	FailureReason  *Stamped[FailureReason]  `json:"failure_reason,omitempty"`
	InstallReason  *Stamped[InstallReason]  `json:"install_reason,omitempty"`
	DeviceID       *Stamped[string]         `json:"device_id,omitempty"`
	BetaEnrollment *Stamped[string]         `json:"beta_enrollment,omitempty"`

	OSFamily                   *Stamped[string] `json:"os_family,omitempty"`
	OSVersion                  *Stamped[string] `json:"os_version,omitempty"`
	OSBuildVersion             *Stamped[string] `json:"os_build_version,omitempty"`
	OSMarketingName            *Stamped[string] `json:"os_marketing_name,omitempty"`
	OSSupplementalBuildVersion *Stamped[string] `json:"os_supplemental_build_version,omitempty"`
	OSSupplementalExtraVersion *Stamped[string] `json:"os_supplemental_extra_version,omitempty"`

	ModelFamily        *Stamped[string] `json:"model_family,omitempty"`
	ModelIdentifier    *Stamped[string] `json:"model_identifier,omitempty"`
	ModelMarketingName *Stamped[string] `json:"model_marketing_name,omitempty"`
	SerialNumber       *Stamped[string] `json:"serial_number,omitempty"`
	UDID               *Stamped[string] `json:"udid,omitempty"`
	BatteryHealth      *Stamped[string] `json:"battery_health,omitempty"`

	ClientCapabilities *Stamped[json.RawMessage] `json:"client_capabilities,omitempty"`

	// Declarations is keyed by identifier.
	Declarations map[string]DeclarationState `json:"declarations,omitempty"`
	// ItemErrors holds the latest error per status item, cleared when the
	// item is next reported.
	ItemErrors map[string]Stamped[[]StatusReason] `json:"item_errors,omitempty"`
}

// DeclarationState is the device's latest word on one declaration.
type DeclarationState struct {
	Kind Kind `json:"kind"`
	DeclarationStatus
	UpdatedAt time.Time `json:"updated_at"`
}

// Merge folds a report received at at into s. Items the report lacks keep
// their value; a part already updated later than at is left alone, so
// replaying an old report never undoes a newer one. A full report
// (FullReport true) lists every declaration, so it replaces the
// declaration set, dropping declarations the device no longer has. The
// declaration and item-error maps are capped (MaxDeclarationStatuses,
// MaxStatusErrors) so that a device cannot grow its record without bound.
func (s *DeviceStatus) Merge(r *StatusReport, at time.Time) {
	if r == nil {
		return
	}
	at = at.UTC()
	s.Version = DeviceStatusVersion
	if at.After(s.LastReportAt) {
		s.LastReportAt = at
	}
	if r.FullReport && at.After(s.LastFullReportAt) {
		s.LastFullReportAt = at
	}
	s.mergeErrors(r.Errors, at)
	s.mergeItems(&r.Items, at)
	s.mergeDeclarations(r.Items.Declarations, r.FullReport, at)
	if r.Items.ClientCapabilities != nil {
		caps := append(json.RawMessage(nil), r.Items.ClientCapabilities...)
		mergeValue(s, ItemClientCapabilities, &s.ClientCapabilities, &caps, at)
	}
}

func (s *DeviceStatus) mergeItems(it *StatusItems, at time.Time) {
	mergeValue(s, ItemInstallState, &s.InstallState, it.InstallState, at)
	mergeValue(s, ItemPendingVersion, &s.PendingVersion, it.PendingVersion, at)
	mergeValue(s, ItemFailureReason, &s.FailureReason, it.FailureReason, at)
	mergeValue(s, ItemInstallReason, &s.InstallReason, it.InstallReason, at)
	mergeValue(s, ItemDeviceID, &s.DeviceID, it.DeviceID, at)
	mergeValue(s, ItemBetaEnrollment, &s.BetaEnrollment, it.BetaEnrollment, at)
	mergeValue(s, ItemOSFamily, &s.OSFamily, it.OSFamily, at)
	mergeValue(s, ItemOSVersion, &s.OSVersion, it.OSVersion, at)
	mergeValue(s, ItemOSBuildVersion, &s.OSBuildVersion, it.OSBuildVersion, at)
	mergeValue(s, ItemOSMarketingName, &s.OSMarketingName, it.OSMarketingName, at)
	mergeValue(s, ItemOSSupplementalBuild, &s.OSSupplementalBuildVersion, it.OSSupplementalBuildVersion, at)
	mergeValue(s, ItemOSSupplementalExtra, &s.OSSupplementalExtraVersion, it.OSSupplementalExtraVersion, at)
	mergeValue(s, ItemModelFamily, &s.ModelFamily, it.ModelFamily, at)
	mergeValue(s, ItemModelIdentifier, &s.ModelIdentifier, it.ModelIdentifier, at)
	mergeValue(s, ItemModelMarketingName, &s.ModelMarketingName, it.ModelMarketingName, at)
	mergeValue(s, ItemSerialNumber, &s.SerialNumber, it.SerialNumber, at)
	mergeValue(s, ItemUDID, &s.UDID, it.UDID, at)
	mergeValue(s, ItemBatteryHealth, &s.BatteryHealth, it.BatteryHealth, at)
}

// mergeValue stores src under dst unless dst is newer, and clears the
// item's error: a value reported means the item works again.
func mergeValue[T any](s *DeviceStatus, name string, dst **Stamped[T], src *T, at time.Time) {
	if src == nil || (*dst != nil && at.Before((*dst).UpdatedAt)) {
		return
	}
	*dst = &Stamped[T]{Value: *src, UpdatedAt: at}
	s.clearError(name, at)
}

func (s *DeviceStatus) mergeErrors(errs []StatusItemError, at time.Time) {
	for _, e := range errs {
		old, ok := s.ItemErrors[e.StatusItem]
		if ok && at.Before(old.UpdatedAt) || !ok && len(s.ItemErrors) >= MaxStatusErrors {
			continue
		}
		if s.ItemErrors == nil {
			s.ItemErrors = map[string]Stamped[[]StatusReason]{}
		}
		s.ItemErrors[e.StatusItem] = Stamped[[]StatusReason]{Value: e.Reasons, UpdatedAt: at}
	}
}

func (s *DeviceStatus) mergeDeclarations(ds *DeclarationsStatus, full bool, at time.Time) {
	if ds == nil {
		return
	}
	if full {
		for id, old := range s.Declarations {
			if !old.UpdatedAt.After(at) {
				delete(s.Declarations, id)
			}
		}
	}
	for _, group := range []struct {
		kind Kind
		list []DeclarationStatus
	}{
		{KindActivation, ds.Activations},
		{KindConfiguration, ds.Configurations},
		{KindAsset, ds.Assets},
		{KindManagement, ds.Management},
	} {
		for _, d := range group.list {
			old, ok := s.Declarations[d.Identifier]
			if ok && at.Before(old.UpdatedAt) || !ok && len(s.Declarations) >= MaxDeclarationStatuses {
				continue
			}
			if s.Declarations == nil {
				s.Declarations = map[string]DeclarationState{}
			}
			s.Declarations[d.Identifier] = DeclarationState{Kind: group.kind, DeclarationStatus: d, UpdatedAt: at}
		}
	}
	s.clearError(ItemDeclarations, at)
}

// clearError drops an item's error unless the error is newer than at.
func (s *DeviceStatus) clearError(name string, at time.Time) {
	if e, ok := s.ItemErrors[name]; ok && !at.Before(e.UpdatedAt) {
		delete(s.ItemErrors, name)
	}
}
