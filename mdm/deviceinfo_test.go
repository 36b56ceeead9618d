package mdm

import (
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/osversion"
)

func TestDeviceInformationCommand(t *testing.T) {
	d := NewDeviceInformation()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"OSVersion", "BuildVersion", "ProductName", "Model", "ModelName", "SerialNumber",
		"IsSupervised", "IsAppleSilicon", "BatteryLevel", "AvailableDeviceCapacity", "DeviceCapacity",
		"SoftwareUpdateDeviceID", "SupplementalBuildVersion", "SupplementalOSVersionExtra", "UDID", "DeviceName"} {
		if !strings.Contains(strings.Join(d.Queries, ","), q) {
			t.Errorf("default queries lack %s", q)
		}
	}
	d.Queries[0] = "Changed"
	if DefaultDeviceInformationQueries[0] == "Changed" {
		t.Error("NewDeviceInformation shares the default slice")
	}
	for name, bad := range map[string]DeviceInformation{
		"empty":     {},
		"blank":     {Queries: []string{""}},
		"space":     {Queries: []string{"OS Version"}},
		"duplicate": {Queries: []string{"UDID", "UDID"}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%s queries accepted", name)
		}
	}
}

func decodeDeviceInfoFixture(t *testing.T, rel string) DeviceQueryResponses {
	t.Helper()
	r, err := DecodeDeviceInformation(golden.Read(t, golden.Path(t, rel)))
	if err != nil {
		t.Fatal(err)
	}
	return r.QueryResponses
}

func TestDeviceInformationFacts(t *testing.T) {
	mac := decodeDeviceInfoFixture(t, "mdm/responses/DeviceInformation-macOS-14-applesilicon.plist")
	if v, ok := mac.ParsedOSVersion(); !ok || v != osversion.MustParse("14.4.1") {
		t.Errorf("mac version = %v, %v", v, ok)
	}
	if b, ok := mac.EffectiveBuild(); !ok || b.String() != "23E224" {
		t.Errorf("mac build = %v, %v", b, ok)
	}
	if lvl, ok := mac.Battery(); !ok || lvl != 0.82 {
		t.Errorf("battery = %v, %v", lvl, ok)
	}
	if mac.IsAppleSilicon == nil || !*mac.IsAppleSilicon || mac.IsSupervised == nil || !*mac.IsSupervised {
		t.Error("Apple silicon / supervised flags lost")
	}

	phone := decodeDeviceInfoFixture(t, "mdm/responses/DeviceInformation-iOS-16-rsr.plist")
	if v, ok := phone.ParsedOSVersion(); !ok || v.String() != "16.5.1 (c)" {
		t.Errorf("RSR version = %v, %v", v, ok)
	}
	base, _ := phone.ParsedBuild()
	eff, _ := phone.EffectiveBuild()
	if base.String() != "20F75" || eff.String() != "20F770750d" {
		t.Errorf("builds = %v / %v", base, eff)
	}
	if phone.IsAppleSilicon != nil {
		t.Error("iOS device invented IsAppleSilicon")
	}

	intel := decodeDeviceInfoFixture(t, "mdm/responses/DeviceInformation-macOS-12-intel-quirks.plist")
	if _, ok := intel.Battery(); ok {
		t.Error("battery -1 should mean unknown")
	}
	if intel.AvailableDeviceCapacity == nil || *intel.AvailableDeviceCapacity != 120 {
		t.Error("integer capacity not accepted")
	}
	if _, ok := intel.ParsedOSVersion(); ok {
		t.Error("\"12.7.6 beta\" parsed as a version")
	}

	vm := decodeDeviceInfoFixture(t, "mdm/real/zentral/DeviceInformation-macOS-13.0-beta-VM.plist")
	if vm.SoftwareUpdateDeviceID != "VMA2MACOSAP" || vm.ProductName != "VirtualMac2,1" {
		t.Errorf("VM identifiers = %q / %q", vm.SoftwareUpdateDeviceID, vm.ProductName)
	}
	if vm.OSUpdateSettings == nil || vm.OSUpdateSettings.PreviousScanResult != 2 || vm.OSUpdateSettings.PreviousScanDate.IsZero() {
		t.Errorf("OSUpdateSettings = %+v", vm.OSUpdateSettings)
	}
}

func TestDeviceInformationWarnings(t *testing.T) {
	r, err := DecodeDeviceInformation(golden.Read(t, golden.Path(t, "mdm/responses/DeviceInformation-macOS-12-intel-quirks.plist")))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "OSVersion") {
		t.Errorf("warnings = %q", r.Warnings)
	}
}

func deviceInfoWith(queryXML string) []byte {
	return []byte(rawHead + `<dict><key>CommandUUID</key><string>c</string><key>QueryResponses</key><dict>` +
		queryXML + `</dict><key>Status</key><string>Acknowledged</string></dict></plist>`)
}

func TestDeviceInformationRejects(t *testing.T) {
	bad := map[string]string{
		"UDID as integer":        `<key>UDID</key><integer>42</integer>`,
		"IsSupervised as string": `<key>IsSupervised</key><string>true</string>`,
		"BatteryLevel as string": `<key>BatteryLevel</key><string>0.5</string>`,
		"battery as percent":     `<key>BatteryLevel</key><real>57</real>`,
		"battery below -1":       `<key>BatteryLevel</key><real>-0.5</real>`,
		"battery NaN":            `<key>BatteryLevel</key><real>nan</real>`,
		"negative capacity":      `<key>DeviceCapacity</key><real>-5</real>`,
		"negative free space":    `<key>AvailableDeviceCapacity</key><integer>-1</integer>`,
		"OSVersion as real":      `<key>OSVersion</key><real>14.4</real>`,
		"duplicate key":          `<key>UDID</key><string>a</string><key>UDID</key><string>b</string>`,
	}
	for name, q := range bad {
		if _, err := DecodeDeviceInformation(deviceInfoWith(q)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	array := rawHead + `<dict><key>CommandUUID</key><string>c</string><key>QueryResponses</key><array/>` +
		`<key>Status</key><string>Acknowledged</string></dict></plist>`
	if _, err := DecodeDeviceInformation([]byte(array)); err == nil {
		t.Error("QueryResponses as array accepted")
	}
	if _, err := DecodeDeviceInformation(deviceInfoWith(`<key>BatteryLevel</key><integer>1</integer>`)); err != nil {
		t.Errorf("integer battery level 1 refused: %v", err)
	}
}
