package commands

import (
	"errors"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

const testUUID = "0B4E2F6A-7C1D-4E8B-9A3F-5D6C7B8A9E01"

// TestBuildMatchesEncodedCommands: API params give byte for byte the
// command plists the mdm package pins in testdata/mdm/commands.
func TestBuildMatchesEncodedCommands(t *testing.T) {
	cases := []struct {
		golden, kind string
		params       map[string]any
	}{
		{"DeviceInformation-default", "DeviceInformation", nil},
		{"DeviceInformation-custom", "DeviceInformation", map[string]any{"queries": []any{"OSVersion", "BuildVersion"}}},
		{"SecurityInfo", "SecurityInfo", map[string]any{}},
		{"AvailableOSUpdates", "AvailableOSUpdates", nil},
		{"OSUpdateStatus", "OSUpdateStatus", nil},
		{"ScheduleOSUpdateScan", "ScheduleOSUpdateScan", nil},
		{"ScheduleOSUpdateScan-force", "ScheduleOSUpdateScan", map[string]any{"force": true}},
		{"ScheduleOSUpdate-version-asap", "ScheduleOSUpdate", updates(map[string]any{"product_version": "14.4.1", "install_action": "InstallASAP"})},
		{"ScheduleOSUpdate-key-later", "ScheduleOSUpdate", updates(map[string]any{"product_key": "MSU_UPDATE_23E224_patch_14.4.1_minor",
			"install_action": "InstallLater", "max_user_deferrals": 3, "priority": "High"})},
		{"ScheduleOSUpdate-ios-download", "ScheduleOSUpdate", updates(map[string]any{"product_key": "iOSUpdate21E236", "install_action": "DownloadOnly"})},
	}
	b := New()
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			raw, rt, err := b.Build(tc.kind, tc.params, testUUID)
			if err != nil {
				t.Fatal(err)
			}
			if rt != tc.kind {
				t.Errorf("request type %q", rt)
			}
			if want := golden.Read(t, golden.Path(t, "mdm/commands/"+tc.golden+".plist")); string(raw) != string(want) {
				t.Errorf("Build gave\n%s\nwant\n%s", raw, want)
			}
			uuid, rt2, err := b.Inspect(raw)
			if err != nil || uuid != testUUID || rt2 != tc.kind {
				t.Errorf("Inspect = %q %q %v", uuid, rt2, err)
			}
		})
	}
}

func updates(items ...map[string]any) map[string]any {
	list := make([]any, 0, len(items))
	for _, it := range items {
		list = append(list, it)
	}
	return map[string]any{"updates": list}
}

func TestBuildRefusesBadParams(t *testing.T) {
	cases := []struct {
		name, kind string
		params     map[string]any
		want       string
	}{
		{"unknown kind", "EraseDevice", nil, `unknown command type "EraseDevice"`},
		{"params where none are taken", "AvailableOSUpdates", map[string]any{"force": true}, `unknown field "force"`},
		{"typo in scan params", "ScheduleOSUpdateScan", map[string]any{"forced": true}, `unknown field "forced"`},
		{"wrong type", "ScheduleOSUpdateScan", map[string]any{"force": "yes"}, "params:"},
		{"no updates", "ScheduleOSUpdate", map[string]any{}, "at least one update"},
		{"key and version", "ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "product_version": "14.4", "install_action": "InstallASAP"}), "exactly one of ProductKey and ProductVersion"},
		{"bad action", "ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "install_action": "Now"}), `InstallAction "Now"`},
		{"deferrals without InstallLater", "ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "install_action": "InstallASAP", "max_user_deferrals": 2}), "only allowed with InstallAction InstallLater"},
		{"negative deferrals", "ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "install_action": "InstallLater", "max_user_deferrals": -1}), "must not be negative"},
		{"bad priority", "ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "install_action": "InstallASAP", "priority": "Urgent"}), `Priority "Urgent"`},
		{"bad version", "ScheduleOSUpdate", updates(map[string]any{"product_version": "fourteen", "install_action": "InstallASAP"}), "ProductVersion"},
		{"RSR by version", "ScheduleOSUpdate", updates(map[string]any{"product_version": "16.5.1 (a)", "install_action": "InstallASAP"}), "Rapid Security Response"},
		{"same update twice", "ScheduleOSUpdate", updates(map[string]any{"product_version": "14.4", "install_action": "InstallASAP"},
			map[string]any{"product_version": "14.4.0", "install_action": "DownloadOnly"}), "named twice"},
		{"unknown item field", "ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "install_action": "InstallASAP", "deadline": "x"}), `unknown field "deadline"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := New().Build(tc.kind, tc.params, testUUID)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func device(platform, version string, supervised *bool) *storage.Device {
	return &storage.Device{ID: "D1", Enrolled: true, Facts: storage.Facts{Platform: platform, OSVersion: version, Supervised: supervised}}
}

func TestCheckDevice(t *testing.T) {
	yes, no := boolPtr(true), boolPtr(false)
	mac := device("macOS", "14.6", yes)
	type cmd struct {
		kind   string
		params map[string]any
	}
	asap := cmd{"ScheduleOSUpdate", updates(map[string]any{"product_version": "15.1", "install_action": "InstallASAP"})}
	cases := []struct {
		name string
		c    cmd
		d    *storage.Device
		want string // "" = accepted
	}{
		{"supervised Mac", asap, mac, ""},
		{"not enrolled", asap, &storage.Device{ID: "D1"}, "not enrolled"},
		{"unsupervised", asap, device("macOS", "14.6", no), "requires a supervised device"},
		{"supervision unknown", asap, device("macOS", "14.6", nil), "requires a supervised device"},
		{"OS 27", asap, device("macOS", "27.0", yes), "removed in macOS 27"},
		{"OS 26 still works", cmd{"ScheduleOSUpdate", updates(map[string]any{"product_version": "26.1", "install_action": "InstallASAP"})}, device("macOS", "26.0", yes), ""},
		{"already runs the version", cmd{"ScheduleOSUpdate", updates(map[string]any{"product_version": "14.6", "install_action": "InstallASAP"})}, mac, "already runs 14.6"},
		{"NotifyOnly on iPhone", cmd{"ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "install_action": "NotifyOnly"})}, device("iOS", "17.6", yes), "NotifyOnly is not supported on iOS"},
		{"platform from product name", cmd{"ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "install_action": "InstallLater"})},
			&storage.Device{ID: "D1", Enrolled: true, Facts: storage.Facts{ProductName: "iPad13,4", OSVersion: "16.7", Supervised: yes}}, "InstallLater is not supported"},
		{"priority on old macOS", cmd{"ScheduleOSUpdate", updates(map[string]any{"product_key": "K", "install_action": "InstallASAP", "priority": "High"})}, device("macOS", "12.2", yes), "Priority needs macOS 12.3"},
		{"scan on iPhone", cmd{"ScheduleOSUpdateScan", nil}, device("iOS", "17.6", yes), "not supported on iOS"},
		{"scan on Mac", cmd{"ScheduleOSUpdateScan", map[string]any{"force": true}}, mac, ""},
		{"available unsupervised Mac", cmd{"AvailableOSUpdates", nil}, device("macOS", "14.6", no), ""},
		{"available unsupervised iPhone", cmd{"AvailableOSUpdates", nil}, device("iOS", "17.6", no), "requires a supervised device"},
		{"status on OS 27", cmd{"OSUpdateStatus", nil}, device("iOS", "27.0", yes), "removed in iOS 27"},
		{"unchecked kind", cmd{"SecurityInfo", nil}, device("macOS", "27.0", no), ""},
	}
	b := New()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, rt, err := b.Build(tc.c.kind, tc.c.params, testUUID)
			if err != nil {
				t.Fatal(err)
			}
			err = b.CheckDevice(raw, rt, tc.d)
			if tc.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
			var refused *mdm.CommandRefusedError
			if tc.want != "not enrolled" && !errors.As(err, &refused) {
				t.Errorf("%T is not a CommandRefusedError", err)
			}
		})
	}
}
