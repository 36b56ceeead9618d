package mdm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/micromdm/plist"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// MachineInfoContentType is what a device sends its signed MachineInfo as
// (Apple: other/machineinfo.yaml): a CMS SignedData around the plist.
const MachineInfoContentType = "application/pkcs7-signature"

// MachineInfo is what a device posts when it fetches its enrollment profile
// during Setup Assistant. Keys are Apple's; only PRODUCT is insisted on
// (see DecodeMachineInfo).
type MachineInfo struct {
	UDID    string `plist:"UDID,omitempty" json:"udid,omitempty"`
	Serial  string `plist:"SERIAL,omitempty" json:"serial,omitempty"`
	Product string `plist:"PRODUCT,omitempty" json:"product,omitempty"`
	// Version is the installed build ("24B83"), despite its name.
	Version                    string `plist:"VERSION,omitempty" json:"version,omitempty"`
	OSVersion                  string `plist:"OS_VERSION,omitempty" json:"os_version,omitempty"`
	SupplementalBuildVersion   string `plist:"SUPPLEMENTAL_BUILD_VERSION,omitempty" json:"supplemental_build_version,omitempty"`
	SupplementalOSVersionExtra string `plist:"SUPPLEMENTAL_OS_VERSION_EXTRA,omitempty" json:"supplemental_os_version_extra,omitempty"`
	IMEI                       string `plist:"IMEI,omitempty" json:"imei,omitempty"`
	MEID                       string `plist:"MEID,omitempty" json:"meid,omitempty"`
	Language                   string `plist:"LANGUAGE,omitempty" json:"language,omitempty"`
	// MDMCanRequestSoftwareUpdate is absent (false) on systems older than
	// iOS 17 / macOS 14: such devices cannot be sent to update first.
	MDMCanRequestSoftwareUpdate bool   `plist:"MDM_CAN_REQUEST_SOFTWARE_UPDATE,omitempty" json:"mdm_can_request_software_update"`
	PairingToken                []byte `plist:"PAIRING_TOKEN,omitempty" json:"pairing_token,omitempty"`
	// SoftwareUpdateDeviceID is the model id the release catalog lists
	// (iOS 17.4 / macOS 14.4 and later).
	SoftwareUpdateDeviceID string `plist:"SOFTWARE_UPDATE_DEVICE_ID,omitempty" json:"software_update_device_id,omitempty"`

	// Warnings lists keys Apple marks required that the device left out;
	// they are tolerated because refusing would stop Setup Assistant.
	Warnings []string `plist:"-" json:"warnings,omitempty"`
}

// DecodeMachineInfo decodes a MachineInfo plist (already taken out of its
// CMS envelope). Type errors and a missing PRODUCT are refused; other
// missing keys only add warnings: a User Enrollment omits UDID and SERIAL,
// and systems before iOS 17 / macOS 14 omit OS_VERSION.
func DecodeMachineInfo(raw []byte) (*MachineInfo, error) {
	var mi MachineInfo
	if err := DecodePlist(raw, &mi); err != nil {
		return nil, err
	}
	if strings.TrimSpace(mi.Product) == "" {
		return nil, &DecodeError{Reason: "MachineInfo without PRODUCT"}
	}
	for _, k := range []struct{ key, val string }{
		{"UDID", mi.UDID}, {"SERIAL", mi.Serial}, {"VERSION", mi.Version}, {"OS_VERSION", mi.OSVersion},
	} {
		if k.val == "" {
			mi.Warnings = append(mi.Warnings, "MachineInfo without "+k.key)
		}
	}
	return &mi, nil
}

// Platform infers the platform from PRODUCT ("" when unknown).
func (mi *MachineInfo) Platform() string { return PlatformFromProduct(mi.Product) }

// SoftwareUpdateModel is the id to look the device up in the release
// catalog with: SOFTWARE_UPDATE_DEVICE_ID when sent, else PRODUCT (which is
// what the catalog lists for iPhones and iPads; Macs are listed by board id
// and need the former).
func (mi *MachineInfo) SoftwareUpdateModel() string {
	if mi.SoftwareUpdateDeviceID != "" {
		return mi.SoftwareUpdateDeviceID
	}
	return mi.Product
}

// CurrentVersion is the running OS including a supplemental extra
// ("17.4 (a)"), so a device on a Background Security Improvement compares
// above its base release.
func (mi *MachineInfo) CurrentVersion() (osversion.Version, error) {
	if mi.OSVersion == "" {
		return osversion.Version{}, fmt.Errorf("MachineInfo has no OS_VERSION")
	}
	s := mi.OSVersion
	if extra := strings.TrimSpace(mi.SupplementalOSVersionExtra); extra != "" && !strings.Contains(s, "(") {
		s += " " + extra
	}
	v, err := osversion.Parse(s)
	if err != nil {
		return osversion.Version{}, fmt.Errorf("MachineInfo OS_VERSION: %w", err)
	}
	return v, nil
}

// SoftwareUpdateRequiredCode is the error code of the 403 body that makes
// an enrolling device update its OS first (Apple:
// mdm/errors/softwareupdate.required.yaml).
const SoftwareUpdateRequiredCode = "com.apple.softwareupdate.required"

// SoftwareUpdateRequired is the 403 body. Apple accepts it as JSON or as an
// XML plist, told apart by the response's Content-Type.
type SoftwareUpdateRequired struct {
	Code string `json:"code" plist:"code"`
	// Description is for the device's logs; Message may be shown to the user.
	Description string                        `json:"description,omitempty" plist:"description,omitempty"`
	Message     string                        `json:"message,omitempty" plist:"message,omitempty"`
	Details     SoftwareUpdateRequiredDetails `json:"details" plist:"details"`
}

// SoftwareUpdateRequiredDetails names the version to install.
type SoftwareUpdateRequiredDetails struct {
	// OSVersion may carry a supplemental extra: "17.4 (a)".
	OSVersion string `json:"OSVersion" plist:"OSVersion"`
	// BuildVersion takes second place to OSVersion on the device when the
	// two disagree.
	BuildVersion       string       `json:"BuildVersion,omitempty" plist:"BuildVersion,omitempty"`
	RequireBetaProgram *BetaProgram `json:"RequireBetaProgram,omitempty" plist:"RequireBetaProgram,omitempty"`
}

// BetaProgram enrolls the device in a seeding program (iOS 17.5, macOS 14.5).
type BetaProgram struct {
	Description string `json:"Description" plist:"Description"`
	Token       string `json:"Token" plist:"Token"`
}

// Validate checks the body against Apple's schema before it is sent: a
// device that cannot parse it stays in Setup Assistant with an error.
func (e *SoftwareUpdateRequired) Validate() error {
	if e.Code != SoftwareUpdateRequiredCode {
		return fmt.Errorf("softwareupdate.required: code %q, want %q", e.Code, SoftwareUpdateRequiredCode)
	}
	if _, err := osversion.Parse(e.Details.OSVersion); err != nil {
		return fmt.Errorf("softwareupdate.required: details.OSVersion: %w", err)
	}
	if b := e.Details.BuildVersion; b != "" {
		if _, err := osversion.ParseBuild(b); err != nil {
			return fmt.Errorf("softwareupdate.required: details.BuildVersion: %w", err)
		}
	}
	if p := e.Details.RequireBetaProgram; p != nil && (p.Description == "" || p.Token == "") {
		return fmt.Errorf("softwareupdate.required: RequireBetaProgram needs Description and Token")
	}
	return nil
}

// JSON encodes the body (indented, HTML characters left as they are since
// Message is plain text for a person).
func (e *SoftwareUpdateRequired) JSON() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("softwareupdate.required: %w", err)
	}
	return buf.Bytes(), nil
}

// PlistXML encodes the body as an XML property list.
func (e *SoftwareUpdateRequired) PlistXML() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	out, err := plist.MarshalIndent(e, "\t")
	if err != nil {
		return nil, fmt.Errorf("softwareupdate.required: %w", err)
	}
	return out, nil
}
