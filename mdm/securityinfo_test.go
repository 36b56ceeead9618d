package mdm

import (
	"strings"
	"testing"

	"github.com/micromdm/plist"
	"github.com/tidemark-mdm/tidemark/internal/golden"
)

func TestSecurityInfoFacts(t *testing.T) {
	raw := golden.Read(t, golden.Path(t, "mdm/responses/SecurityInfo-macOS-14-applesilicon.plist"))
	r, err := DecodeSecurityInfo(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := r.SecurityInfo
	if needed, ok := f.NeedsBootstrapTokenForUpdates(); !ok || !needed {
		t.Errorf("NeedsBootstrapTokenForUpdates = %v, %v", needed, ok)
	}
	if f.BootstrapTokenAllowedForAuthentication != BootstrapTokenAllowed {
		t.Errorf("allowed = %q", f.BootstrapTokenAllowedForAuthentication)
	}
	if f.IsRecoveryLockEnabled == nil || *f.IsRecoveryLockEnabled {
		t.Error("IsRecoveryLockEnabled should be a reported false")
	}
	if f.ManagementStatus == nil || f.ManagementStatus.EnrolledViaDEP == nil || !*f.ManagementStatus.EnrolledViaDEP {
		t.Errorf("ManagementStatus = %+v", f.ManagementStatus)
	}
	if f.SecureBoot == nil || f.SecureBoot.SecureBootLevel != "full" {
		t.Errorf("SecureBoot = %+v", f.SecureBoot)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings = %q", r.Warnings)
	}
	// The escrowed recovery key must not survive decoding.
	out, err := plist.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "FDE_PersonalRecoveryKeyCMS") {
		t.Error("recovery key escrow data kept")
	}
}

func TestSecurityInfoIOSAndUnknowns(t *testing.T) {
	r, err := DecodeSecurityInfo(golden.Read(t, golden.Path(t, "mdm/responses/SecurityInfo-iOS-17.plist")))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.SecurityInfo.NeedsBootstrapTokenForUpdates(); ok {
		t.Error("iOS reported a bootstrap-token requirement it never sends")
	}
	if c := r.SecurityInfo.HardwareEncryptionCaps; c == nil || *c != 3 {
		t.Errorf("HardwareEncryptionCaps = %v", c)
	}
	r, err = DecodeSecurityInfo(golden.Read(t, golden.Path(t, "mdm/responses/SecurityInfo-macOS-unknown-values.plist")))
	if err != nil {
		t.Fatal(err)
	}
	if r.SecurityInfo.BootstrapTokenAllowedForAuthentication != "pending" || len(r.Warnings) != 2 {
		t.Errorf("unknown values: %q, warnings %q", r.SecurityInfo.BootstrapTokenAllowedForAuthentication, r.Warnings)
	}
}

func TestSecurityInfoRejects(t *testing.T) {
	wrap := func(inner string) []byte {
		return []byte(rawHead + `<dict><key>CommandUUID</key><string>c</string><key>SecurityInfo</key>` + inner +
			`<key>Status</key><string>Acknowledged</string></dict></plist>`)
	}
	for name, inner := range map[string]string{
		"SecurityInfo as string":      `<string>x</string>`,
		"token flag as string":        `<dict><key>BootstrapTokenRequiredForSoftwareUpdate</key><string>yes</string></dict>`,
		"allowed-for-auth as boolean": `<dict><key>BootstrapTokenAllowedForAuthentication</key><true/></dict>`,
		"encryption caps as real":     `<dict><key>HardwareEncryptionCaps</key><real>3.5</real></dict>`,
	} {
		if _, err := DecodeSecurityInfo(wrap(inner)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
