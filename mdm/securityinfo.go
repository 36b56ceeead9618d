package mdm

import (
	"fmt"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// RequestSecurityInfo is the SecurityInfo request type.
const RequestSecurityInfo = "SecurityInfo"

// BootstrapTokenAllowedForAuthentication values.
const (
	BootstrapTokenAllowed      = "allowed"
	BootstrapTokenDisallowed   = "disallowed"
	BootstrapTokenNotSupported = "not supported"
)

// SecurityInfo queries security facts, among them whether unattended
// updates need an escrowed bootstrap token.
type SecurityInfo struct{}

func (SecurityInfo) RequestType() string { return RequestSecurityInfo }

func (SecurityInfo) rules() commandRules {
	return commandRules{platforms: map[string]platformRule{
		PlatformIOS:   {osversion.MustParse("4.0"), false},
		PlatformMacOS: {osversion.MustParse("10.7"), false},
		PlatformTVOS:  {osversion.MustParse("9.0"), false},
	}}
}

// SecurityInfoResponse is a device's answer to SecurityInfo.
type SecurityInfoResponse struct {
	ResponseHeader
	SecurityInfo SecurityFacts `plist:"SecurityInfo"`
	Warnings     []string      `plist:"-"`
}

// SecurityFacts holds the keys OS-update enforcement and compliance use.
// Keys vary by platform and OS, so flags are pointers: nil means "not
// reported". FileVault recovery-key escrow data is deliberately not
// decoded so it never lands in stored facts.
type SecurityFacts struct {
	HardwareEncryptionCaps                           *int              `plist:"HardwareEncryptionCaps,omitempty"`
	PasscodePresent                                  *bool             `plist:"PasscodePresent,omitempty"`
	PasscodeCompliant                                *bool             `plist:"PasscodeCompliant,omitempty"`
	PasscodeCompliantWithProfiles                    *bool             `plist:"PasscodeCompliantWithProfiles,omitempty"`
	FDEEnabled                                       *bool             `plist:"FDE_Enabled,omitempty"`
	FDEHasPersonalRecoveryKey                        *bool             `plist:"FDE_HasPersonalRecoveryKey,omitempty"`
	FDEHasInstitutionalRecoveryKey                   *bool             `plist:"FDE_HasInstitutionalRecoveryKey,omitempty"`
	SystemIntegrityProtectionEnabled                 *bool             `plist:"SystemIntegrityProtectionEnabled,omitempty"`
	RemoteDesktopEnabled                             *bool             `plist:"RemoteDesktopEnabled,omitempty"`
	AuthenticatedRootVolumeEnabled                   *bool             `plist:"AuthenticatedRootVolumeEnabled,omitempty"`
	BootstrapTokenAllowedForAuthentication           string            `plist:"BootstrapTokenAllowedForAuthentication,omitempty"`
	BootstrapTokenRequiredForSoftwareUpdate          *bool             `plist:"BootstrapTokenRequiredForSoftwareUpdate,omitempty"`
	BootstrapTokenRequiredForKernelExtensionApproval *bool             `plist:"BootstrapTokenRequiredForKernelExtensionApproval,omitempty"`
	IsRecoveryLockEnabled                            *bool             `plist:"IsRecoveryLockEnabled,omitempty"`
	ManagementStatus                                 *ManagementStatus `plist:"ManagementStatus,omitempty"`
	SecureBoot                                       *SecureBoot       `plist:"SecureBoot,omitempty"`
}

// ManagementStatus describes how the device is enrolled.
type ManagementStatus struct {
	EnrolledViaDEP             *bool `plist:"EnrolledViaDEP,omitempty"`
	UserApprovedEnrollment     *bool `plist:"UserApprovedEnrollment,omitempty"`
	IsUserEnrollment           *bool `plist:"IsUserEnrollment,omitempty"`
	IsActivationLockManageable *bool `plist:"IsActivationLockManageable,omitempty"`
}

// SecureBoot is a Mac's boot security policy.
type SecureBoot struct {
	SecureBootLevel   string   `plist:"SecureBootLevel,omitempty"`
	ExternalBootLevel string   `plist:"ExternalBootLevel,omitempty"`
	ReducedSecurity   []string `plist:"ReducedSecurity,omitempty"`
}

type securityInfoWire struct {
	ResponseHeader
	SecurityInfo *SecurityFacts `plist:"SecurityInfo,omitempty"`
}

// DecodeSecurityInfo decodes a SecurityInfo response. Undocumented values
// of enumerated strings are kept and listed in Warnings.
func DecodeSecurityInfo(raw []byte) (*SecurityInfoResponse, error) {
	var w securityInfoWire
	if err := decodeResponse(raw, RequestSecurityInfo, &w, func() bool { return w.SecurityInfo != nil }); err != nil {
		return nil, err
	}
	r := &SecurityInfoResponse{ResponseHeader: w.ResponseHeader}
	if w.SecurityInfo == nil {
		return r, nil
	}
	r.SecurityInfo = *w.SecurityInfo
	r.Warnings = r.SecurityInfo.warnings()
	return r, nil
}

// MarshalPlist writes SecurityInfo only when there is a result.
func (r SecurityInfoResponse) MarshalPlist() (any, error) {
	w := securityInfoWire{ResponseHeader: r.ResponseHeader}
	if r.Status == StatusAcknowledged || r.SecurityInfo != (SecurityFacts{}) {
		f := r.SecurityInfo
		w.SecurityInfo = &f
	}
	return w, nil
}

func (f SecurityFacts) warnings() []string {
	var w []string
	switch f.BootstrapTokenAllowedForAuthentication {
	case "", BootstrapTokenAllowed, BootstrapTokenDisallowed, BootstrapTokenNotSupported:
	default:
		w = append(w, fmt.Sprintf("unknown BootstrapTokenAllowedForAuthentication %q", f.BootstrapTokenAllowedForAuthentication))
	}
	if sb := f.SecureBoot; sb != nil {
		switch sb.SecureBootLevel {
		case "", "off", "medium", "full", "not supported":
		default:
			w = append(w, fmt.Sprintf("unknown SecureBootLevel %q", sb.SecureBootLevel))
		}
	}
	return w
}

// NeedsBootstrapTokenForUpdates reports whether unattended OS updates need
// an escrowed bootstrap token (Apple silicon, macOS 11+). ok is false when
// the device did not say.
func (f SecurityFacts) NeedsBootstrapTokenForUpdates() (needed, ok bool) {
	if f.BootstrapTokenRequiredForSoftwareUpdate == nil {
		return false, false
	}
	return *f.BootstrapTokenRequiredForSoftwareUpdate, true
}
