package ddm

import (
	"encoding/json"
	"fmt"
	"sort"
)

// EnforcementSpecific is the payload of
// com.apple.configuration.softwareupdate.enforcement.specific.
type EnforcementSpecific struct {
	TargetOSVersion     string `json:"TargetOSVersion"`
	TargetBuildVersion  string `json:"TargetBuildVersion,omitempty"`
	TargetLocalDateTime string `json:"TargetLocalDateTime"`
	DetailsURL          string `json:"DetailsURL,omitempty"`
}

// SoftwareUpdateSettings is the payload of
// com.apple.configuration.softwareupdate.settings. Pointers and empty
// strings mean "not set", which matters when several declarations combine.
type SoftwareUpdateSettings struct {
	Notifications              *bool                  `json:"Notifications,omitempty"`
	Deferrals                  *Deferrals             `json:"Deferrals,omitempty"`
	RecommendedCadence         string                 `json:"RecommendedCadence,omitempty"`
	AutomaticActions           *AutomaticActions      `json:"AutomaticActions,omitempty"`
	RapidSecurityResponse      *RapidSecurityResponse `json:"RapidSecurityResponse,omitempty"`
	AllowStandardUserOSUpdates *bool                  `json:"AllowStandardUserOSUpdates,omitempty"`
	Beta                       *Beta                  `json:"Beta,omitempty"`
}

// Deferrals delays when updates are offered, in days (1-90).
type Deferrals struct {
	CombinedPeriodInDays *int `json:"CombinedPeriodInDays,omitempty"` // iOS only
	MajorPeriodInDays    *int `json:"MajorPeriodInDays,omitempty"`    // macOS only
	MinorPeriodInDays    *int `json:"MinorPeriodInDays,omitempty"`    // macOS only
	SystemPeriodInDays   *int `json:"SystemPeriodInDays,omitempty"`   // macOS only
}

// AutomaticActions values are Allowed, AlwaysOn or AlwaysOff.
type AutomaticActions struct {
	Download              string `json:"Download,omitempty"`
	InstallOSUpdates      string `json:"InstallOSUpdates,omitempty"`
	InstallSecurityUpdate string `json:"InstallSecurityUpdate,omitempty"` // macOS only
}

// RapidSecurityResponse (now "Background Security Improvement") settings.
type RapidSecurityResponse struct {
	Enable         *bool `json:"Enable,omitempty"`
	EnableRollback *bool `json:"EnableRollback,omitempty"`
}

// Beta controls beta-program enrollment.
type Beta struct {
	ProgramEnrollment string        `json:"ProgramEnrollment,omitempty"`
	OfferPrograms     []BetaProgram `json:"OfferPrograms,omitempty"`
	RequireProgram    *BetaProgram  `json:"RequireProgram,omitempty"`
}

// BetaProgram names a seeding program; Token is an organisation secret and
// must not be logged.
type BetaProgram struct {
	Description string `json:"Description"`
	Token       string `json:"Token"`
}

// StatusSubscriptions is the payload of
// com.apple.configuration.management.status-subscriptions.
type StatusSubscriptions struct {
	StatusItems []StatusItemName `json:"StatusItems"`
}

// StatusItemName is one subscribed status item.
type StatusItemName struct {
	Name string `json:"Name"`
}

// ActivationSimple is the payload of com.apple.activation.simple.
type ActivationSimple struct {
	StandardConfigurations []string `json:"StandardConfigurations"`
	Predicate              string   `json:"Predicate,omitempty"`
}

// NewEnforcement builds and validates an enforcement declaration.
func NewEnforcement(identifier string, e EnforcementSpecific) (*Declaration, error) {
	return newDeclaration(TypeEnforcementSpecific, identifier, e)
}

// NewSettings builds and validates a software-update settings declaration.
func NewSettings(identifier string, s SoftwareUpdateSettings) (*Declaration, error) {
	return newDeclaration(TypeSoftwareUpdateSettings, identifier, s)
}

// NewStatusSubscriptions builds and validates a status-subscriptions
// declaration for the named items, in the order given.
func NewStatusSubscriptions(identifier string, items []string) (*Declaration, error) {
	p := StatusSubscriptions{StatusItems: make([]StatusItemName, len(items))}
	for i, name := range items {
		p.StatusItems[i] = StatusItemName{Name: name}
	}
	return newDeclaration(TypeStatusSubscriptions, identifier, p)
}

// NewActivation builds and validates a simple activation of configs. That
// the configurations exist is checked by Validate with a lookup, not here.
func NewActivation(identifier string, configs []string) (*Declaration, error) {
	if configs == nil {
		configs = []string{}
	}
	return newDeclaration(TypeActivationSimple, identifier, ActivationSimple{StandardConfigurations: configs})
}

func newDeclaration(typ, identifier string, payload any) (*Declaration, error) {
	tree, err := toTree(payload)
	if err != nil {
		return nil, fmt.Errorf("ddm: encode %s payload: %w", typ, err)
	}
	raw, err := canonical(tree)
	if err != nil {
		return nil, fmt.Errorf("ddm: encode %s payload: %w", typ, err)
	}
	d := &Declaration{Type: typ, Identifier: identifier, Payload: json.RawMessage(raw)}
	if err := Validate(d, nil); err != nil {
		return nil, err
	}
	return d, nil
}

// Enforcement decodes an enforcement declaration's payload.
func (d *Declaration) Enforcement() (EnforcementSpecific, error) {
	var e EnforcementSpecific
	if d.Type != TypeEnforcementSpecific {
		return e, fmt.Errorf("ddm: %s is a %s, not an enforcement declaration", quoteShort(d.Identifier), d.Type)
	}
	return e, d.DecodePayload(&e)
}

// Settings decodes a software-update settings declaration's payload.
func (d *Declaration) Settings() (SoftwareUpdateSettings, error) {
	var s SoftwareUpdateSettings
	if d.Type != TypeSoftwareUpdateSettings {
		return s, fmt.Errorf("ddm: %s is a %s, not a settings declaration", quoteShort(d.Identifier), d.Type)
	}
	return s, d.DecodePayload(&s)
}

// Status item names, as in Apple's status schema.
const (
	ItemInstallState        = "softwareupdate.install-state"
	ItemPendingVersion      = "softwareupdate.pending-version"
	ItemFailureReason       = "softwareupdate.failure-reason"
	ItemInstallReason       = "softwareupdate.install-reason"
	ItemDeviceID            = "softwareupdate.device-id"
	ItemBetaEnrollment      = "softwareupdate.beta-enrollment"
	ItemOSFamily            = "device.operating-system.family"
	ItemOSVersion           = "device.operating-system.version"
	ItemOSBuildVersion      = "device.operating-system.build-version"
	ItemOSMarketingName     = "device.operating-system.marketing-name"
	ItemOSSupplementalBuild = "device.operating-system.supplemental.build-version"
	ItemOSSupplementalExtra = "device.operating-system.supplemental.extra-version"
	ItemModelFamily         = "device.model.family"
	ItemModelIdentifier     = "device.model.identifier"
	ItemModelMarketingName  = "device.model.marketing-name"
	ItemSerialNumber        = "device.identifier.serial-number"
	ItemUDID                = "device.identifier.udid"
	ItemBatteryHealth       = "device.power.battery-health"
	ItemDeclarations        = "management.declarations"
	ItemClientCapabilities  = "management.client-capabilities"
)

// DefaultStatusItems lists what Tidemark subscribes to: the software-update
// items, OS, model and identifiers, battery health, the declarations'
// status and the client's capabilities. Sorted, so the declaration built
// from it is stable.
func DefaultStatusItems() []string {
	items := []string{
		ItemInstallState, ItemPendingVersion, ItemFailureReason, ItemInstallReason,
		ItemDeviceID, ItemBetaEnrollment,
		ItemOSFamily, ItemOSVersion, ItemOSBuildVersion, ItemOSSupplementalBuild, ItemOSSupplementalExtra,
		ItemModelFamily, ItemModelIdentifier,
		ItemSerialNumber, ItemUDID,
		ItemDeclarations, ItemClientCapabilities,
		ItemBatteryHealth,
	}
	sort.Strings(items)
	return items
}
