package mdm

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/micromdm/plist"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// TestDecodeMachineInfoGolden pins how every MachineInfo fixture decodes.
func TestDecodeMachineInfoGolden(t *testing.T) {
	files, err := filepath.Glob(golden.Path(t, "enrollment/machineinfo-*.plist"))
	if err != nil || len(files) < 3 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			mi, err := DecodeMachineInfo(golden.Read(t, f))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(mi, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, strings.TrimSuffix(f, ".plist")+".golden.json", append(got, '\n'))
		})
	}
}

func TestMachineInfoAccessors(t *testing.T) {
	mac, err := DecodeMachineInfo(golden.Read(t, golden.Path(t, "enrollment/machineinfo-macos.plist")))
	if err != nil {
		t.Fatal(err)
	}
	if !mac.MDMCanRequestSoftwareUpdate || mac.Platform() != PlatformMacOS || mac.SoftwareUpdateModel() != "J413AP" || len(mac.Warnings) != 0 {
		t.Errorf("mac: %+v platform %q model %q", mac, mac.Platform(), mac.SoftwareUpdateModel())
	}
	phone, err := DecodeMachineInfo(golden.Read(t, golden.Path(t, "enrollment/machineinfo-ios-supplemental.plist")))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := phone.CurrentVersion(); err != nil || v.String() != "17.4 (a)" {
		t.Errorf("supplemental extra not part of the running version: %v %v", v, err)
	}
	if phone.SoftwareUpdateModel() != "iPhone15,2" {
		t.Errorf("without SOFTWARE_UPDATE_DEVICE_ID the model is PRODUCT, got %q", phone.SoftwareUpdateModel())
	}
	old, err := DecodeMachineInfo(golden.Read(t, golden.Path(t, "enrollment/machineinfo-ios16-minimal.plist")))
	if err != nil {
		t.Fatalf("an iOS 16 MachineInfo (no OS_VERSION, no update flag) must decode: %v", err)
	}
	if old.MDMCanRequestSoftwareUpdate || len(old.Warnings) != 1 || !strings.Contains(old.Warnings[0], "OS_VERSION") {
		t.Errorf("old device: %+v", old)
	}
	if _, err := old.CurrentVersion(); err == nil {
		t.Error("no OS_VERSION must be an error, not version 0")
	}
}

func TestCurrentVersion(t *testing.T) {
	for _, tc := range []struct {
		os, extra, want string
		ok              bool
	}{
		{"15.1", "", "15.1", true},
		{"17.4", "(a)", "17.4 (a)", true},
		{"17.4", " (b) ", "17.4 (b)", true},
		{"17.4 (a)", "(a)", "17.4 (a)", true}, // extra already in OS_VERSION
		{"17.4", "a", "", false},
		{"seventeen", "", "", false},
		{"", "(a)", "", false},
	} {
		mi := MachineInfo{OSVersion: tc.os, SupplementalOSVersionExtra: tc.extra}
		v, err := mi.CurrentVersion()
		if (err == nil) != tc.ok || (tc.ok && v.String() != tc.want) {
			t.Errorf("%q + %q: got %v, %v; want %q ok=%v", tc.os, tc.extra, v, err, tc.want, tc.ok)
		}
	}
}

func TestDecodeMachineInfoRefuses(t *testing.T) {
	files, err := filepath.Glob(golden.Path(t, "enrollment/bad/*.plist"))
	if err != nil || len(files) < 4 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	bodies := map[string][]byte{"binary": []byte("bplist00\xd1\x01\x02"), "empty": nil, "text": []byte("hello")}
	for _, f := range files {
		bodies[filepath.Base(f)] = golden.Read(t, f)
	}
	for name, body := range bodies {
		mi, err := DecodeMachineInfo(body)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: want a *DecodeError, got %v (%+v)", name, err, mi)
		}
	}
}

func sampleRequired() *SoftwareUpdateRequired {
	return &SoftwareUpdateRequired{
		Code:        SoftwareUpdateRequiredCode,
		Description: `minimum OS rule "fleet": macOS 15.1 (24B83) must update to 15.7.2`,
		Message:     "Your organization requires macOS 15.7.2 on this device. It will be updated before setup continues.",
		Details:     SoftwareUpdateRequiredDetails{OSVersion: "15.7.2"},
	}
}

func TestSoftwareUpdateRequiredGolden(t *testing.T) {
	js, err := sampleRequired().JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "enrollment/softwareupdate-required.golden.json"), js)
	xml, err := sampleRequired().PlistXML()
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "enrollment/softwareupdate-required.golden.plist"), xml)

	supplemental := &SoftwareUpdateRequired{Code: SoftwareUpdateRequiredCode,
		Details: SoftwareUpdateRequiredDetails{OSVersion: "17.4 (a)", BuildVersion: "21E772219a",
			RequireBetaProgram: &BetaProgram{Description: "Seed & test", Token: "tok-123"}}}
	js, err = supplemental.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "enrollment/softwareupdate-required-supplemental.golden.json"), js)
	xml, err = supplemental.PlistXML()
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "enrollment/softwareupdate-required-supplemental.golden.plist"), xml)
}

// TestSoftwareUpdateRequiredRoundTrip reads both encodings back with the
// keys Apple's schema names, so a tag typo cannot pass the golden test.
func TestSoftwareUpdateRequiredRoundTrip(t *testing.T) {
	js, _ := sampleRequired().JSON()
	var generic map[string]any
	if err := json.Unmarshal(js, &generic); err != nil {
		t.Fatal(err)
	}
	details, _ := generic["details"].(map[string]any)
	if generic["code"] != "com.apple.softwareupdate.required" || details["OSVersion"] != "15.7.2" || len(details) != 1 {
		t.Errorf("JSON keys: %v", generic)
	}
	xml, _ := sampleRequired().PlistXML()
	var fromPlist map[string]any
	if err := plist.Unmarshal(xml, &fromPlist); err != nil {
		t.Fatal(err)
	}
	pd, _ := fromPlist["details"].(map[string]any)
	if fromPlist["code"] != SoftwareUpdateRequiredCode || pd["OSVersion"] != "15.7.2" || fromPlist["message"] == nil {
		t.Errorf("plist keys: %v", fromPlist)
	}
}

func TestSoftwareUpdateRequiredValidate(t *testing.T) {
	for name, mutate := range map[string]func(*SoftwareUpdateRequired){
		"wrong code":       func(e *SoftwareUpdateRequired) { e.Code = "com.apple.other" },
		"no version":       func(e *SoftwareUpdateRequired) { e.Details.OSVersion = "" },
		"bad version":      func(e *SoftwareUpdateRequired) { e.Details.OSVersion = "fifteen" },
		"bad build":        func(e *SoftwareUpdateRequired) { e.Details.BuildVersion = "24-G" },
		"beta needs token": func(e *SoftwareUpdateRequired) { e.Details.RequireBetaProgram = &BetaProgram{Description: "x"} },
	} {
		e := sampleRequired()
		mutate(e)
		if _, err := e.JSON(); err == nil {
			t.Errorf("%s: JSON accepted", name)
		}
		if _, err := e.PlistXML(); err == nil {
			t.Errorf("%s: plist accepted", name)
		}
	}
}

func FuzzDecodeMachineInfo(f *testing.F) {
	for _, pattern := range []string{"../testdata/enrollment/*.plist", "../testdata/enrollment/bad/*.plist"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mi, err := DecodeMachineInfo(data)
		if err != nil {
			return
		}
		if strings.TrimSpace(mi.Product) == "" {
			t.Fatal("accepted a MachineInfo without PRODUCT")
		}
		_ = mi.Platform()
		_, _ = mi.CurrentVersion()
	})
}
