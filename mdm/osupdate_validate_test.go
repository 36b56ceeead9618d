package mdm

import (
	"errors"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/osversion"
)

func TestOSUpdateItemValidate(t *testing.T) {
	tests := []struct {
		name    string
		item    OSUpdateItem
		wantErr string // substring; "" means valid
	}{
		{"by version", OSUpdateItem{ProductVersion: "14.4.1", InstallAction: "InstallASAP"}, ""},
		{"by key", OSUpdateItem{ProductKey: "iOSUpdate21E236", InstallAction: "Default"}, ""},
		{"later with deferrals", OSUpdateItem{ProductKey: "k", InstallAction: "InstallLater", MaxUserDeferrals: intPtr(0)}, ""},
		{"priority high", OSUpdateItem{ProductKey: "k", InstallAction: "DownloadOnly", Priority: "High"}, ""},
		{"each action", OSUpdateItem{ProductKey: "k", InstallAction: "InstallForceRestart"}, ""},
		{"notify only", OSUpdateItem{ProductKey: "k", InstallAction: "NotifyOnly"}, ""},
		{"missing action", OSUpdateItem{ProductKey: "k"}, "InstallAction"},
		{"Error is response-only", OSUpdateItem{ProductKey: "k", InstallAction: "Error"}, "InstallAction"},
		{"lower-case action", OSUpdateItem{ProductKey: "k", InstallAction: "installasap"}, "InstallAction"},
		{"neither key nor version", OSUpdateItem{InstallAction: "Default"}, "exactly one"},
		{"both key and version", OSUpdateItem{ProductKey: "k", ProductVersion: "14.4", InstallAction: "Default"}, "exactly one"},
		{"bad version", OSUpdateItem{ProductVersion: "fourteen", InstallAction: "Default"}, "ProductVersion"},
		{"RSR by version", OSUpdateItem{ProductVersion: "13.3.1 (a)", InstallAction: "Default"}, "Rapid Security Response"},
		{"deferrals without InstallLater", OSUpdateItem{ProductKey: "k", InstallAction: "InstallASAP", MaxUserDeferrals: intPtr(2)}, "MaxUserDeferrals"},
		{"negative deferrals", OSUpdateItem{ProductKey: "k", InstallAction: "InstallLater", MaxUserDeferrals: intPtr(-1)}, "negative"},
		{"bad priority", OSUpdateItem{ProductKey: "k", InstallAction: "Default", Priority: "Urgent"}, "Priority"},
	}
	for _, tt := range tests {
		err := tt.item.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestScheduleOSUpdateValidate(t *testing.T) {
	if _, err := NewScheduleOSUpdate(); err == nil {
		t.Error("empty Updates accepted")
	}
	_, err := NewScheduleOSUpdate(
		UpdateToVersion(osversion.MustParse("14.4"), InstallActionDefault),
		OSUpdateItem{ProductVersion: "14.4.0", InstallAction: InstallActionInstallASAP},
	)
	if err == nil || !strings.Contains(err.Error(), "Updates[1]") {
		t.Errorf("duplicate version: err = %v", err)
	}
	_, err = NewScheduleOSUpdate(UpdateByProductKey("k", "Nope"))
	if err == nil || !strings.Contains(err.Error(), "Updates[0]") {
		t.Errorf("bad item: err = %v", err)
	}
	if _, err := NewScheduleOSUpdate(UpdateByProductKey("a", "Default"), UpdateByProductKey("b", "Default")); err != nil {
		t.Errorf("two keys: %v", err)
	}
}

func mac(v string, supervised bool) DeviceTarget {
	return DeviceTarget{Platform: PlatformMacOS, OSVersion: osversion.MustParse(v), Supervised: supervised}
}

func iphone(v string, supervised bool) DeviceTarget {
	return DeviceTarget{Platform: PlatformIOS, OSVersion: osversion.MustParse(v), Supervised: supervised}
}

func schedule(items ...OSUpdateItem) ScheduleOSUpdate { return ScheduleOSUpdate{Updates: items} }

func TestValidateFor(t *testing.T) {
	later := OSUpdateItem{ProductKey: "k", InstallAction: InstallActionInstallLater, MaxUserDeferrals: intPtr(3)}
	enforced := mac("14.4", true)
	enforced.EnforcedByDeclaration = true
	ipad := DeviceTarget{Platform: PlatformIPadOS, OSVersion: osversion.MustParse("17.4"), Supervised: true}
	tests := []struct {
		name   string
		p      CommandPayload
		d      DeviceTarget
		reason string // substring of the refusal; "" means allowed
	}{
		{"asap on supervised mac", schedule(UpdateByProductKey("k", "InstallASAP")), mac("14.4", true), ""},
		{"unsupervised mac", schedule(UpdateByProductKey("k", "InstallASAP")), mac("14.4", false), "supervised"},
		{"unsupervised iphone", schedule(UpdateByProductKey("k", "InstallASAP")), iphone("17.4", false), "supervised"},
		{"iPadOS uses iOS rules", schedule(UpdateByProductKey("k", "InstallASAP")), ipad, ""},
		{"available on unsupervised mac", AvailableOSUpdates{}, mac("13.6", false), ""},
		{"available on unsupervised iphone", AvailableOSUpdates{}, iphone("16.7", false), "supervised"},
		{"removed in 27", AvailableOSUpdates{}, mac("27.0", true), "removed in macOS 27"},
		{"status removed in 27", OSUpdateStatus{}, iphone("27.1", true), "removed"},
		{"still there in 26", OSUpdateStatus{}, iphone("26.4", true), ""},
		{"scan is macOS only", ScheduleOSUpdateScan{Force: true}, iphone("17.4", true), "not supported on iOS"},
		{"tvOS", ScheduleOSUpdateScan{}, DeviceTarget{Platform: PlatformTVOS, OSVersion: osversion.MustParse("17.0"), Supervised: true}, "not supported"},
		{"unknown platform", SecurityInfo{}, DeviceTarget{Platform: "watchOS"}, "unknown platform"},
		{"too old for command", OSUpdateStatus{}, mac("10.11.4", true), "10.11.5"},
		{"declaration in force", schedule(UpdateByProductKey("k", "InstallASAP")), enforced, "declarative"},
		{"available under declaration", AvailableOSUpdates{}, enforced, ""},
		{"InstallLater on iOS", schedule(UpdateByProductKey("k", "InstallLater")), iphone("17.4", true), "InstallLater is not supported on iOS"},
		{"NotifyOnly on iPadOS", schedule(UpdateByProductKey("k", "NotifyOnly")), ipad, "not supported on iPadOS"},
		{"ForceRestart needs macOS 11", schedule(UpdateByProductKey("k", "InstallForceRestart")), mac("10.15.7", true), "macOS 11.0"},
		{"DownloadOnly needs macOS 11", schedule(UpdateByProductKey("k", "DownloadOnly")), mac("10.15.7", true), "DownloadOnly needs"},
		{"DownloadOnly on iOS 9", schedule(UpdateByProductKey("k", "DownloadOnly")), iphone("9.0", true), ""},
		{"deferrals on macOS 12", schedule(later), mac("12.0", true), ""},
		{"deferrals on macOS 11", schedule(later), mac("11.7.10", true), "MaxUserDeferrals needs macOS 12.0"},
		{"priority needs 12.3", schedule(OSUpdateItem{ProductKey: "k", InstallAction: "Default", Priority: "Low"}), mac("12.2", true), "Priority"},
		{"priority on iOS", schedule(OSUpdateItem{ProductKey: "k", InstallAction: "Default", Priority: "High"}), iphone("17.4", true), "Priority is not supported"},
		{"version on iOS 11.2", schedule(OSUpdateItem{ProductVersion: "11.4", InstallAction: "Default"}), iphone("11.2", true), "ProductVersion needs iOS 11.3"},
		{"version on macOS 12", schedule(OSUpdateItem{ProductVersion: "12.7.6", InstallAction: "Default"}), mac("12.0", true), ""},
		{"target already installed", schedule(OSUpdateItem{ProductVersion: "14.4.1", InstallAction: "Default"}), mac("14.4.1", true), "already runs"},
		{"target older than device", schedule(OSUpdateItem{ProductVersion: "14.4", InstallAction: "Default"}), mac("14.5", true), "already runs"},
		{"target is the RSR base", schedule(OSUpdateItem{ProductVersion: "13.3.1", InstallAction: "Default"}), mac("13.3.1 (a)", true), "already runs"},
		{"target newer than RSR", schedule(OSUpdateItem{ProductVersion: "13.4", InstallAction: "Default"}), mac("13.3.1 (a)", true), ""},
		{"schema violation", schedule(), mac("14.4", true), "at least one"},
		{"unknown OS version skips gates", AvailableOSUpdates{}, DeviceTarget{Platform: PlatformMacOS}, ""},
		{"DDM needs macOS 13", DeclarativeManagement{}, mac("12.7", false), "13.0"},
		{"DDM on iOS 17 unsupervised", DeclarativeManagement{}, iphone("17.0", false), ""},
		{"device info anywhere", NewDeviceInformation(), iphone("4.0", false), ""},
		{"bad DDM data", DeclarativeManagement{Data: []byte(`[]`)}, mac("14.0", false), "SyncTokens"},
		{"foreign payload unchecked", outsidePayload{}, DeviceTarget{}, ""},
	}
	for _, tt := range tests {
		err := ValidateFor(tt.p, tt.d)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("%s: unexpected refusal: %v", tt.name, err)
			}
			continue
		}
		var refused *CommandRefusedError
		if !errors.As(err, &refused) {
			t.Errorf("%s: err = %v, want *CommandRefusedError", tt.name, err)
			continue
		}
		if refused.RequestType != tt.p.RequestType() || !strings.Contains(refused.Reason, tt.reason) {
			t.Errorf("%s: refused %q for %q, want reason with %q", tt.name, refused.Reason, refused.RequestType, tt.reason)
		}
	}
	var refused *CommandRefusedError
	if err := ValidateFor(nil, mac("14.0", true)); !errors.As(err, &refused) {
		t.Errorf("nil payload: %v", err)
	}
}
