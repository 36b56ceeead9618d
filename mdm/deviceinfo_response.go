package mdm

import (
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// DeviceInformationResponse is a device's answer to DeviceInformation.
type DeviceInformationResponse struct {
	ResponseHeader
	QueryResponses DeviceQueryResponses `plist:"QueryResponses"`
	// Warnings lists values kept as sent but not understood (e.g. an
	// OSVersion that does not parse). Never marshalled.
	Warnings []string `plist:"-"`
}

// DeviceQueryResponses holds the answers; a key the device did not send
// stays empty (strings) or nil (flags and numbers), meaning "unknown".
type DeviceQueryResponses struct {
	UDID                       string            `plist:"UDID,omitempty"`
	DeviceName                 string            `plist:"DeviceName,omitempty"`
	SerialNumber               string            `plist:"SerialNumber,omitempty"`
	OSVersion                  string            `plist:"OSVersion,omitempty"`
	BuildVersion               string            `plist:"BuildVersion,omitempty"`
	SupplementalBuildVersion   string            `plist:"SupplementalBuildVersion,omitempty"`
	SupplementalOSVersionExtra string            `plist:"SupplementalOSVersionExtra,omitempty"`
	ProductName                string            `plist:"ProductName,omitempty"`
	Model                      string            `plist:"Model,omitempty"`
	ModelName                  string            `plist:"ModelName,omitempty"`
	ModelNumber                string            `plist:"ModelNumber,omitempty"`
	SoftwareUpdateDeviceID     string            `plist:"SoftwareUpdateDeviceID,omitempty"`
	ProvisioningUDID           string            `plist:"ProvisioningUDID,omitempty"`
	IsSupervised               *bool             `plist:"IsSupervised,omitempty"`
	IsAppleSilicon             *bool             `plist:"IsAppleSilicon,omitempty"`
	IsMultiUser                *bool             `plist:"IsMultiUser,omitempty"`
	AwaitingConfiguration      *bool             `plist:"AwaitingConfiguration,omitempty"`
	HasBattery                 *bool             `plist:"HasBattery,omitempty"`
	BatteryLevel               *Number           `plist:"BatteryLevel,omitempty"`
	DeviceCapacity             *Number           `plist:"DeviceCapacity,omitempty"`
	AvailableDeviceCapacity    *Number           `plist:"AvailableDeviceCapacity,omitempty"`
	OSUpdateSettings           *OSUpdateSettings `plist:"OSUpdateSettings,omitempty"`
}

// OSUpdateSettings is a Mac's software-update configuration and last scan.
type OSUpdateSettings struct {
	CatalogURL                      string    `plist:"CatalogURL,omitempty"`
	IsDefaultCatalog                bool      `plist:"IsDefaultCatalog"`
	PreviousScanDate                time.Time `plist:"PreviousScanDate,omitempty"`
	PreviousScanResult              int       `plist:"PreviousScanResult"`
	PerformPeriodicCheck            bool      `plist:"PerformPeriodicCheck,omitempty"`
	AutoCheckEnabled                bool      `plist:"AutoCheckEnabled"`
	BackgroundDownloadEnabled       bool      `plist:"BackgroundDownloadEnabled"`
	AutomaticAppInstallationEnabled bool      `plist:"AutomaticAppInstallationEnabled"`
	AutomaticOSInstallationEnabled  bool      `plist:"AutomaticOSInstallationEnabled"`
	AutomaticSecurityUpdatesEnabled bool      `plist:"AutomaticSecurityUpdatesEnabled"`
}

type deviceInfoWire struct {
	ResponseHeader
	QueryResponses *DeviceQueryResponses `plist:"QueryResponses,omitempty"`
}

// DecodeDeviceInformation decodes a DeviceInformation response. Wrong
// types and impossible numbers (battery outside 0..1 other than -1,
// negative capacity) are errors; unparsable version strings are kept and
// reported in Warnings.
func DecodeDeviceInformation(raw []byte) (*DeviceInformationResponse, error) {
	var w deviceInfoWire
	if err := decodeResponse(raw, RequestDeviceInformation, &w, func() bool { return w.QueryResponses != nil }); err != nil {
		return nil, err
	}
	r := &DeviceInformationResponse{ResponseHeader: w.ResponseHeader}
	if w.QueryResponses == nil {
		return r, nil
	}
	q := *w.QueryResponses
	if err := q.checkNumbers(); err != nil {
		return nil, err
	}
	r.QueryResponses = q
	r.Warnings = q.warnings()
	return r, nil
}

func (q DeviceQueryResponses) checkNumbers() error {
	bad := func(format string, args ...any) error {
		return &DecodeError{Reason: "DeviceInformation response: " + fmt.Sprintf(format, args...)}
	}
	if b := q.BatteryLevel; b != nil && *b != -1 && (*b < 0 || *b > 1) {
		return bad("BatteryLevel %v is outside 0.0-1.0", float64(*b))
	}
	if c := q.DeviceCapacity; c != nil && *c < 0 {
		return bad("negative DeviceCapacity %v", float64(*c))
	}
	if c := q.AvailableDeviceCapacity; c != nil && *c < 0 {
		return bad("negative AvailableDeviceCapacity %v", float64(*c))
	}
	return nil
}

func (q DeviceQueryResponses) warnings() []string {
	var w []string
	w = appendVersionWarning(w, "OSVersion", q.OSVersion)
	w = appendBuildWarning(w, "BuildVersion", q.BuildVersion)
	w = appendBuildWarning(w, "SupplementalBuildVersion", q.SupplementalBuildVersion)
	w = appendExtraWarning(w, "SupplementalOSVersionExtra", q.SupplementalOSVersionExtra)
	return w
}

// ParsedOSVersion is OSVersion with the supplemental extra ("(a)") of an
// installed Rapid Security Response, or false if OSVersion is missing or
// does not parse.
func (q DeviceQueryResponses) ParsedOSVersion() (osversion.Version, bool) {
	return versionWithExtra(q.OSVersion, q.SupplementalOSVersionExtra)
}

// ParsedBuild is the base BuildVersion.
func (q DeviceQueryResponses) ParsedBuild() (osversion.Build, bool) {
	b, err := osversion.ParseBuild(q.BuildVersion)
	return b, err == nil
}

// EffectiveBuild is the build the device really runs: the supplemental
// build when it reports one (it equals BuildVersion when no security
// response is installed), else BuildVersion.
func (q DeviceQueryResponses) EffectiveBuild() (osversion.Build, bool) {
	if b, err := osversion.ParseBuild(q.SupplementalBuildVersion); err == nil {
		return b, true
	}
	return q.ParsedBuild()
}

// Battery returns the battery level 0.0-1.0, or false when the device did
// not report it or reported -1 ("cannot determine").
func (q DeviceQueryResponses) Battery() (float64, bool) {
	if q.BatteryLevel == nil || *q.BatteryLevel < 0 {
		return 0, false
	}
	return float64(*q.BatteryLevel), true
}

// MarshalPlist writes QueryResponses only when there is a result, as a
// device does.
func (r DeviceInformationResponse) MarshalPlist() (any, error) {
	w := deviceInfoWire{ResponseHeader: r.ResponseHeader}
	if r.Status == StatusAcknowledged || r.QueryResponses != (DeviceQueryResponses{}) {
		q := r.QueryResponses
		w.QueryResponses = &q
	}
	return w, nil
}
