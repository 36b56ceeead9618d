package enrollment

import (
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// now is "today" in testdata/enrollment/catalog.json's world.
var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func testCatalog(t testing.TB) *enforcement.Catalog {
	t.Helper()
	cat, err := enforcement.ParseCatalog(golden.Read(t, golden.Path(t, "enrollment/catalog.json")))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// mac is an Apple-silicon Mac that can be asked to update.
func mac(osVersion, build, boardID string) mdm.MachineInfo {
	return mdm.MachineInfo{UDID: "0000FE00-0000-4000-8000-000000000001", Serial: "C02SYN000001", Product: "Mac14,2",
		Version: build, OSVersion: osVersion, SoftwareUpdateDeviceID: boardID, MDMCanRequestSoftwareUpdate: true}
}

func iphone(osVersion, build string) mdm.MachineInfo {
	return mdm.MachineInfo{UDID: "00008110-0000000000000002", Serial: "F2LSYN000002", Product: "iPhone15,2",
		Version: build, OSVersion: osVersion, MDMCanRequestSoftwareUpdate: true}
}

func minimum(platform, v string) MinOSRule {
	return MinOSRule{Platform: platform, Mode: ModeMinimum, MinVersion: v}
}

func TestDecide(t *testing.T) {
	cat := testCatalog(t)
	cannot := mac("15.1", "24B83", "J413AP")
	cannot.MDMCanRequestSoftwareUpdate = false
	noBoard := mac("15.1", "24B83", "")
	supplemental := iphone("17.4", "21E219")
	supplemental.SupplementalOSVersionExtra = "(a)"
	noOS := mac("", "24B83", "J413AP")
	watch := mac("11.0", "22R1", "")
	watch.Product = "Watch7,1"
	byBoard := MinOSRule{Platform: "macOS", Mode: ModeMinimum, MinVersion: "14.0", DeviceIDs: []string{"J314sAP"}}
	wildcard := MinOSRule{Platform: "iOS", Mode: ModeLatest, Models: []string{"iPhone15,*"}}

	for _, tc := range []struct {
		name    string
		mi      mdm.MachineInfo
		rules   []MinOSRule
		nilCat  bool
		code    string
		version string // required OSVersion; "" when allowed
		build   string
	}{
		{"older mac, newest 15.x chosen, expired 15.7.1 skipped", mac("15.1", "24B83", "J413AP"),
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeUpdateRequired, "15.7.2", ""},
		{"older mac that cannot request is enrolled", cannot,
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeCannotRequest, "", ""},
		{"mac at the minimum", mac("15.4", "24E248", "J413AP"),
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeMeetsMinimum, "", ""},
		{"newer mac", mac("26.1", "25B78", "J413AP"),
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeMeetsMinimum, "", ""},
		{"model absent from the catalog", mac("15.1", "24B83", "J999AP"),
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeNoReleaseForModel, "", ""},
		{"mac without device id is looked up by PRODUCT, which the catalog does not list", noBoard,
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeNoReleaseForModel, "", ""},
		{"only an expired release would satisfy", mac("15.5", "24F74", "Mac-OLDINTEL01"),
			[]MinOSRule{minimum("macOS", "15.7")}, false, CodeNoSuitableRelease, "", ""},
		{"minimum's major no longer signed for the model: smallest step", mac("15.1", "24B83", "J500AP"),
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeUpdateRequired, "26.0.1", ""},
		{"minimum beyond every release", mac("15.1", "24B83", "J413AP"),
			[]MinOSRule{minimum("macOS", "27.0")}, false, CodeNoSuitableRelease, "", ""},
		{"iphone by PRODUCT", iphone("18.1", "22B83"),
			[]MinOSRule{minimum("iOS", "18.5")}, false, CodeUpdateRequired, "18.7.2", ""},
		{"supplemental minimum: security improvement for the running build", iphone("17.4", "21E219"),
			[]MinOSRule{minimum("iOS", "17.4 (a)")}, false, CodeUpdateRequired, "17.4 (a)", "21E772219a"},
		{"supplemental minimum already installed", supplemental,
			[]MinOSRule{minimum("iOS", "17.4 (a)")}, false, CodeMeetsMinimum, "", ""},
		{"supplemental running version beats its base minimum", supplemental,
			[]MinOSRule{minimum("iOS", "17.4")}, false, CodeMeetsMinimum, "", ""},
		{"supplemental minimum from an older base needs a full release", iphone("17.3", "21D50"),
			[]MinOSRule{minimum("iOS", "17.4 (a)")}, false, CodeUpdateRequired, "18.7.2", ""},
		{"latest", mac("15.7.2", "24G325", "J413AP"),
			[]MinOSRule{{Platform: "macOS", Mode: ModeLatest}}, false, CodeUpdateRequired, "26.1", ""},
		{"latest within the device's major", mac("15.1", "24B83", "J413AP"),
			[]MinOSRule{{Platform: "macOS", Mode: ModeLatestWithinMajor}}, false, CodeUpdateRequired, "15.7.2", ""},
		{"latest within the device's major, up to date", mac("15.7.2", "24G325", "J413AP"),
			[]MinOSRule{{Platform: "macOS", Mode: ModeLatestWithinMajor}}, false, CodeMeetsMinimum, "", ""},
		{"latest within a given major from an older one", mac("14.6", "23G80", "J413AP"),
			[]MinOSRule{{Platform: "macOS", Mode: ModeLatestWithinMajor, Major: 15}}, false, CodeUpdateRequired, "15.7.2", ""},
		{"latest within a major the model has none of", mac("14.6", "23G80", "J500AP"),
			[]MinOSRule{{Platform: "macOS", Mode: ModeLatestWithinMajor, Major: 15}}, false, CodeNoSuitableRelease, "", ""},
		{"first matching rule decides (board rule)", mac("14.6", "23G80", "J314sAP"),
			[]MinOSRule{byBoard, minimum("macOS", "15.4")}, false, CodeMeetsMinimum, "", ""},
		{"first matching rule decides (fallthrough)", mac("14.6", "23G80", "J413AP"),
			[]MinOSRule{byBoard, minimum("macOS", "15.4")}, false, CodeUpdateRequired, "15.7.2", ""},
		{"model wildcard", iphone("18.7.2", "22H124"),
			[]MinOSRule{wildcard}, false, CodeUpdateRequired, "26.1", ""},
		{"no rule for the platform", iphone("17.0", "21A329"),
			[]MinOSRule{minimum("macOS", "15.4"), minimum("iPadOS", "18.0")}, false, CodeNoRule, "", ""},
		{"no OS_VERSION", noOS,
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeUnknownOSVersion, "", ""},
		{"no catalog loaded", mac("15.1", "24B83", "J413AP"),
			[]MinOSRule{minimum("macOS", "15.4")}, true, CodeNoCatalog, "", ""},
		{"unknown platform", watch,
			[]MinOSRule{minimum("macOS", "15.4")}, false, CodeUnknownPlatform, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cat
			if tc.nilCat {
				c = nil
			}
			d := Decide(tc.mi, tc.rules, c, now)
			t.Log(d.Reason)
			if d.Code != tc.code || d.Allow != (tc.version == "") || d.Reason == "" {
				t.Fatalf("got %+v, want code %s", d, tc.code)
			}
			if tc.version == "" {
				if d.Required != nil {
					t.Fatalf("allowed with a body: %+v", d.Required)
				}
				return
			}
			if d.Required.Details.OSVersion != tc.version || d.Required.Details.BuildVersion != tc.build {
				t.Fatalf("required %+v, want %s %s", d.Required.Details, tc.version, tc.build)
			}
			if err := d.Required.Validate(); err != nil {
				t.Fatalf("body refused by its own schema check: %v", err)
			}
		})
	}
}

func TestDecideCannotRequestNamesWhatWasWanted(t *testing.T) {
	mi := mac("15.1", "24B83", "J413AP")
	mi.MDMCanRequestSoftwareUpdate = false
	d := Decide(mi, []MinOSRule{{Name: "fleet", Platform: "macOS", Mode: ModeMinimum, MinVersion: "15.4"}}, testCatalog(t), now)
	if !d.Allow || d.Rule != `"fleet"` || !strings.Contains(d.Reason, "15.7.2") {
		t.Fatalf("%+v", d)
	}
}

func TestDecideMessages(t *testing.T) {
	cat := testCatalog(t)
	rule := MinOSRule{Name: "fleet", Platform: "macOS", Mode: ModeMinimum, MinVersion: "15.4"}
	d := Decide(mac("15.1", "24B83", "J413AP"), []MinOSRule{rule}, cat, now)
	if !strings.Contains(d.Required.Message, "macOS 15.7.2") || !strings.Contains(d.Required.Description, `"fleet"`) ||
		!strings.Contains(d.Reason, "15.1") {
		t.Errorf("default texts: %+v %q", d.Required, d.Reason)
	}
	rule.Message = "Please stay on the line."
	d = Decide(mac("15.1", "24B83", "J413AP"), []MinOSRule{rule}, cat, now)
	if d.Required.Message != rule.Message {
		t.Errorf("custom message: %q", d.Required.Message)
	}
	// Time comes from the caller: once every release for the model has
	// expired the device is no longer held back.
	later := time.Date(2027, 5, 4, 0, 0, 0, 0, time.UTC)
	d = Decide(mac("15.1", "24B83", "J413AP"), []MinOSRule{rule}, cat, later)
	if !d.Allow || d.Code != CodeNoReleaseForModel {
		t.Errorf("after every release expired: %+v", d)
	}
}
