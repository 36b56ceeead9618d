package mdm

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/osversion"
)

const testUUID = "0B4E2F6A-7C1D-4E8B-9A3F-5D6C7B8A9E01"

func intPtr(i int) *int { return &i }

// goldenCommands are every command this package encodes, in the shapes the
// enforcement engine sends.
func goldenCommands(t *testing.T) map[string]CommandPayload {
	t.Helper()
	dm, err := NewDeclarativeManagement([]byte(`{"SyncTokens":{"DeclarationsToken":"5f2b1c0e","Timestamp":"2026-03-01T10:00:00Z"}}`))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]CommandPayload{
		"DeviceInformation-default":  NewDeviceInformation(),
		"DeviceInformation-custom":   NewDeviceInformation("OSVersion", "BuildVersion"),
		"SecurityInfo":               SecurityInfo{},
		"AvailableOSUpdates":         AvailableOSUpdates{},
		"ScheduleOSUpdateScan":       ScheduleOSUpdateScan{},
		"ScheduleOSUpdateScan-force": ScheduleOSUpdateScan{Force: true},
		"OSUpdateStatus":             OSUpdateStatus{},
		"ScheduleOSUpdate-version-asap": ScheduleOSUpdate{Updates: []OSUpdateItem{
			UpdateToVersion(osversion.MustParse("14.4.1"), InstallActionInstallASAP),
		}},
		"ScheduleOSUpdate-key-later": ScheduleOSUpdate{Updates: []OSUpdateItem{{
			ProductKey: "MSU_UPDATE_23E224_patch_14.4.1_minor", InstallAction: InstallActionInstallLater,
			MaxUserDeferrals: intPtr(3), Priority: PriorityHigh,
		}}},
		"ScheduleOSUpdate-ios-download": ScheduleOSUpdate{Updates: []OSUpdateItem{
			UpdateByProductKey("iOSUpdate21E236", InstallActionDownloadOnly),
		}},
		"DeclarativeManagement":      dm,
		"DeclarativeManagement-bare": DeclarativeManagement{},
	}
}

func TestEncodeGolden(t *testing.T) {
	for name, p := range goldenCommands(t) {
		t.Run(name, func(t *testing.T) {
			got, err := Command{UUID: testUUID, Payload: p}.Encode()
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, golden.Path(t, "mdm/commands/"+name+".plist"), got)
			info, err := InspectRawCommand(got)
			if err != nil {
				t.Fatalf("own output rejected: %v", err)
			}
			if info.UUID != testUUID || info.RequestType != p.RequestType() {
				t.Errorf("InspectRawCommand = %+v", info)
			}
			again, _ := Command{UUID: testUUID, Payload: p}.Encode()
			if string(again) != string(got) {
				t.Error("encoding is not stable")
			}
		})
	}
}

type clashingPayload struct {
	RT string `plist:"RequestType"`
}

func (clashingPayload) RequestType() string { return "Clash" }

type stringPayload string

func (stringPayload) RequestType() string { return "Weird" }

type outsidePayload struct {
	Identifier string `plist:"Identifier"`
}

func (outsidePayload) RequestType() string { return "InstallProfile" }

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		cmd  Command
	}{
		{"empty UUID", Command{Payload: SecurityInfo{}}},
		{"UUID with space", Command{UUID: "a b", Payload: SecurityInfo{}}},
		{"UUID too long", Command{UUID: strings.Repeat("A", 65), Payload: SecurityInfo{}}},
		{"nil payload", Command{UUID: testUUID}},
		{"invalid payload", Command{UUID: testUUID, Payload: ScheduleOSUpdate{}}},
		{"payload sets RequestType", Command{UUID: testUUID, Payload: clashingPayload{RT: "x"}}},
		{"payload not a dict", Command{UUID: testUUID, Payload: stringPayload("x")}},
	}
	for _, tt := range tests {
		_, err := tt.cmd.Encode()
		if !errors.Is(err, ErrInvalidCommand) {
			t.Errorf("%s: err = %v, want ErrInvalidCommand", tt.name, err)
		}
	}
}

func TestEncodeForeignPayload(t *testing.T) {
	got, err := Command{UUID: "x-1", Payload: outsidePayload{Identifier: "com.example"}}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<key>Identifier</key>", "<string>com.example</string>", "<string>InstallProfile</string>"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("output lacks %s:\n%s", want, got)
		}
	}
}

const rawHead = `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">`

func TestInspectRawCommand(t *testing.T) {
	good := rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string>ProfileList</string></dict>` +
		`<key>CommandUUID</key><string>abc-123_X.y</string></dict></plist>`
	info, err := InspectRawCommand([]byte(good))
	if err != nil || info != (RawCommandInfo{UUID: "abc-123_X.y", RequestType: "ProfileList"}) {
		t.Fatalf("good command: %+v, %v", info, err)
	}
	bad := map[string]string{
		"not a plist":       `hello`,
		"root array":        rawHead + `<array/></plist>`,
		"no UUID":           rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string>A</string></dict></dict></plist>`,
		"UUID integer":      rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string>A</string></dict><key>CommandUUID</key><integer>5</integer></dict></plist>`,
		"UUID empty":        rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string>A</string></dict><key>CommandUUID</key><string></string></dict></plist>`,
		"UUID slash":        rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string>A</string></dict><key>CommandUUID</key><string>a/b</string></dict></plist>`,
		"UUID too long":     rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string>A</string></dict><key>CommandUUID</key><string>` + strings.Repeat("a", 65) + `</string></dict></plist>`,
		"no Command":        rawHead + `<dict><key>CommandUUID</key><string>a</string></dict></plist>`,
		"Command string":    rawHead + `<dict><key>Command</key><string>x</string><key>CommandUUID</key><string>a</string></dict></plist>`,
		"no RequestType":    rawHead + `<dict><key>Command</key><dict/><key>CommandUUID</key><string>a</string></dict></plist>`,
		"RequestType array": rawHead + `<dict><key>Command</key><dict><key>RequestType</key><array/></dict><key>CommandUUID</key><string>a</string></dict></plist>`,
		"RequestType empty": rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string></string></dict><key>CommandUUID</key><string>a</string></dict></plist>`,
		"RequestType odd":   rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string>a b</string></dict><key>CommandUUID</key><string>a</string></dict></plist>`,
		"duplicate key":     rawHead + `<dict><key>CommandUUID</key><string>a</string><key>CommandUUID</key><string>b</string></dict></plist>`,
		"binary":            "bplist00\xd1\x01\x02",
	}
	for name, raw := range bad {
		if _, err := InspectRawCommand([]byte(raw)); !errors.Is(err, ErrInvalidCommand) {
			t.Errorf("%s: err = %v, want ErrInvalidCommand", name, err)
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestNewCommandUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewCommandUUID()
		if !uuidV4.MatchString(id) {
			t.Fatalf("%q is not an upper-case v4 UUID", id)
		}
		if err := checkCommandUUID(id); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("duplicate %s", id)
		}
		seen[id] = true
	}
}

func FuzzInspectRawCommand(f *testing.F) {
	f.Add([]byte(rawHead + `<dict><key>Command</key><dict><key>RequestType</key><string>ProfileList</string></dict><key>CommandUUID</key><string>a</string></dict></plist>`))
	f.Add([]byte(rawHead + `<array/></plist>`))
	f.Add([]byte("bplist00"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		info, err := InspectRawCommand(raw)
		if err != nil {
			return
		}
		if checkCommandUUID(info.UUID) != nil || checkRequestType(info.RequestType) != nil {
			t.Fatalf("accepted invalid %+v", info)
		}
	})
}
