package mdm

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/micromdm/plist"
	"github.com/tidemark-mdm/tidemark/internal/golden"
)

func TestOSUpdateStatusDeferrals(t *testing.T) {
	r, err := DecodeOSUpdateStatus(golden.Read(t, golden.Path(t, "mdm/responses/OSUpdateStatus-macOS-deferrals.plist")))
	if err != nil {
		t.Fatal(err)
	}
	it := r.OSUpdateStatus[0]
	if *it.MaxDeferrals != 3 || *it.DeferralsRemaining != 1 || len(it.PastNotifications) != 2 {
		t.Errorf("deferral fields = %+v", it)
	}
	if want := time.Date(2024, 4, 12, 21, 0, 0, 0, time.UTC); !it.NextScheduledInstall.Equal(want) {
		t.Errorf("NextScheduledInstall = %v", it.NextScheduledInstall)
	}
	if !it.IsDownloaded || it.DownloadPercentComplete != 1 || it.Meaning().Class != UpdateIdle || it.Failure() != "" {
		t.Errorf("item = %+v meaning %+v", it, it.Meaning())
	}
}

func TestOSUpdateStatusUnknownAndWaiting(t *testing.T) {
	r, err := DecodeOSUpdateStatus(golden.Read(t, golden.Path(t, "mdm/responses/OSUpdateStatus-macOS-unknown-and-waiting.plist")))
	if err != nil {
		t.Fatal(err)
	}
	unknown, power := r.OSUpdateStatus[0], r.OSUpdateStatus[1]
	if unknown.Status != "Preparing" || unknown.IsKnown() || unknown.Meaning().Class != UpdateUnknownStatus {
		t.Errorf("unknown status item = %+v", unknown)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `"Preparing"`) {
		t.Errorf("warnings = %q", r.Warnings)
	}
	if power.Failure() != ReasonInsufficientPower || power.Meaning().Class != UpdateWaiting {
		t.Errorf("power item meaning = %+v", power.Meaning())
	}
}

func statusWith(item string) []byte {
	return []byte(rawHead + `<dict><key>CommandUUID</key><string>c</string><key>OSUpdateStatus</key><array><dict>` + item +
		`</dict></array><key>Status</key><string>Acknowledged</string></dict></plist>`)
}

func TestOSUpdateStatusRejects(t *testing.T) {
	base := `<key>ProductKey</key><string>k</string><key>Status</key><string>Idle</string>`
	for name, extra := range map[string]string{
		"percent as percent":     `<key>DownloadPercentComplete</key><real>42</real>`,
		"negative percent":       `<key>DownloadPercentComplete</key><real>-0.1</real>`,
		"percent as string":      `<key>DownloadPercentComplete</key><string>0.5</string>`,
		"negative deferrals":     `<key>DeferralsRemaining</key><integer>-2</integer>`,
		"huge deferrals":         `<key>MaxDeferrals</key><integer>18446744073709551615</integer>`,
		"IsDownloaded as int":    `<key>IsDownloaded</key><integer>1</integer>`,
		"notifications of ints":  `<key>PastNotifications</key><array><integer>1</integer></array>`,
		"next install as string": `<key>NextScheduledInstall</key><string>soon</string>`,
	} {
		if _, err := DecodeOSUpdateStatus(statusWith(base + extra)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	r, err := DecodeOSUpdateStatus(statusWith(`<key>Status</key><string>Idle</string><key>MaxDeferrals</key><integer>1</integer><key>DeferralsRemaining</key><integer>2</integer>`))
	if err != nil || len(r.Warnings) != 2 {
		t.Errorf("missing key / excess deferrals: %v, warnings %q", err, r.Warnings)
	}
}

func TestScheduleOSUpdateResults(t *testing.T) {
	r, err := DecodeScheduleOSUpdate(golden.Read(t, golden.Path(t, "mdm/responses/ScheduleOSUpdate-iOS-error.plist")))
	if err != nil {
		t.Fatal(err)
	}
	res := r.UpdateResults[0]
	if res.InstallAction != InstallActionError || len(res.ErrorChain) != 1 || res.ErrorChain[0].ErrorDomain != "SUErrorDomain" {
		t.Errorf("result = %+v", res)
	}
	if m := res.Meaning(); m.Class != UpdateFailed || m.Reason != ReasonScheduleError || res.Failure() != ReasonScheduleError {
		t.Errorf("meaning = %+v", m)
	}
	r, err = DecodeScheduleOSUpdate(golden.Read(t, golden.Path(t, "mdm/responses/ScheduleOSUpdate-macOS-unknown-values.plist")))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 2 || r.UpdateResults[0].IsKnown() || r.UpdateResults[1].IsKnown() {
		t.Errorf("warnings = %q", r.Warnings)
	}
	ok, err := DecodeScheduleOSUpdate(golden.Read(t, golden.Path(t, "mdm/responses/ScheduleOSUpdate-macOS-asap.plist")))
	if err != nil || !ok.UpdateResults[0].IsKnown() || ok.UpdateResults[0].Meaning().Class != UpdateInProgress {
		t.Errorf("asap = %+v, %v", ok, err)
	}
	bad := rawHead + `<dict><key>CommandUUID</key><string>c</string><key>Status</key><string>Acknowledged</string>` +
		`<key>UpdateResults</key><array><dict><key>ErrorChain</key><array><dict><key>ErrorCode</key><string>x</string></dict></array></dict></array></dict></plist>`
	if _, err := DecodeScheduleOSUpdate([]byte(bad)); err == nil {
		t.Error("ErrorCode as string accepted")
	}
}

func TestScheduleOSUpdateScanResponse(t *testing.T) {
	r, err := DecodeScheduleOSUpdateScan(golden.Read(t, golden.Path(t, "mdm/responses/ScheduleOSUpdateScan-macOS.plist")))
	if err != nil || !r.ScanInitiated {
		t.Errorf("scan = %+v, %v", r, err)
	}
}

// TestUpdateStatusMeanings pins the mapping the enforcement engine relies on.
func TestUpdateStatusMeanings(t *testing.T) {
	tests := []struct {
		status string
		class  UpdateStatusClass
		reason string
	}{
		{UpdateStatusIdle, UpdateIdle, ""},
		{UpdateStatusDownloading, UpdateInProgress, ""},
		{UpdateStatusInstalling, UpdateInProgress, ""},
		{UpdateStatusDownloadInsufficientPower, UpdateWaiting, ReasonInsufficientPower},
		{UpdateStatusInstallInsufficientPower, UpdateWaiting, ReasonInsufficientPower},
		{UpdateStatusDownloadInsufficientNetwork, UpdateWaiting, ReasonInsufficientNetwork},
		{UpdateStatusInstallPhoneCallInProgress, UpdateWaiting, ReasonPhoneCall},
		{UpdateStatusDownloadInsufficientSpace, UpdateBlocked, ReasonInsufficientSpace},
		{UpdateStatusInstallInsufficientSpace, UpdateBlocked, ReasonInsufficientSpace},
		{UpdateStatusDownloadRequiresComputer, UpdateBlocked, ReasonRequiresComputer},
		{UpdateStatusDownloadFailed, UpdateFailed, ReasonDownloadFailed},
		{UpdateStatusInstallFailed, UpdateFailed, ReasonInstallFailed},
		{"Preparing", UpdateUnknownStatus, ""},
		{"", UpdateUnknownStatus, ""},
	}
	for _, tt := range tests {
		m := MeaningOfUpdateStatus(tt.status)
		if m.Class != tt.class || m.Reason != tt.reason {
			t.Errorf("%q = %+v, want %s/%s", tt.status, m, tt.class, tt.reason)
		}
		if (m.Reason != "") != (m.Remedy != "") {
			t.Errorf("%q: a reason needs a remedy and vice versa: %+v", tt.status, m)
		}
	}
	// An Error action keeps a more specific status reason.
	r := UpdateResult{InstallAction: InstallActionError, Status: UpdateStatusDownloadInsufficientSpace}
	if r.Failure() != ReasonInsufficientSpace {
		t.Errorf("Error + space = %q", r.Failure())
	}
}

// TestSimulatorResponses encodes responses built in code, the way the
// simulator answers commands, and pins the bytes.
func TestSimulatorResponses(t *testing.T) {
	head := func(status string) ResponseHeader {
		return ResponseHeader{UDID: "SIM-0001", CommandUUID: testUUID, Status: status}
	}
	four := 4
	responses := map[string]any{
		"sim_AvailableOSUpdates-empty": AvailableOSUpdatesResponse{ResponseHeader: head(StatusAcknowledged)},
		"sim_AvailableOSUpdates-ios": AvailableOSUpdatesResponse{ResponseHeader: head(StatusAcknowledged), AvailableOSUpdates: []AvailableOSUpdate{{
			ProductKey: "iOSUpdate21E236", HumanReadableName: "iOS 17.4.1", ProductName: "iOS", Version: "17.4.1", Build: "21E236",
			DownloadSize: 512638976, InstallSize: 2147483648, RestartRequired: true,
		}}},
		"sim_DeviceInformation-error": DeviceInformationResponse{ResponseHeader: ResponseHeader{
			UDID: "SIM-0001", CommandUUID: testUUID, Status: StatusError,
			ErrorChain: []ErrorChainItem{{ErrorCode: 12021, ErrorDomain: "MCMDMErrorDomain", LocalizedDescription: "Simulated failure."}},
		}},
		"sim_OSUpdateStatus-downloading": OSUpdateStatusResponse{ResponseHeader: head(StatusAcknowledged), OSUpdateStatus: []OSUpdateStatusItem{{
			ProductKey: "MSU_UPDATE_23E224_patch_14.4.1_minor", DownloadPercentComplete: 0.25, Status: UpdateStatusDownloading,
			MaxDeferrals: &four, DeferralsRemaining: &four,
		}}},
		"sim_ScheduleOSUpdate-error": ScheduleOSUpdateResponse{ResponseHeader: head(StatusAcknowledged), UpdateResults: []UpdateResult{{
			ProductKey: "iOSUpdate21E236", InstallAction: InstallActionError, Status: UpdateStatusIdle,
			ErrorChain: []ErrorChainItem{{ErrorCode: 4, ErrorDomain: "SUErrorDomain"}},
		}}},
		"sim_ScheduleOSUpdateScan-notnow": ScheduleOSUpdateScanResponse{ResponseHeader: head(StatusNotNow)},
		"sim_SecurityInfo-intel":          SecurityInfoResponse{ResponseHeader: head(StatusAcknowledged), SecurityInfo: SecurityFacts{FDEEnabled: new(bool)}},
	}
	for name, v := range responses {
		out, err := plist.MarshalIndent(v, "\t")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		golden.Assert(t, golden.Path(t, "mdm/responses/encoded/"+name+".plist"), out)
		prefix := strings.TrimPrefix(name, "sim_")
		prefix, _, _ = strings.Cut(prefix, "-")
		back, err := responseDecoders[prefix](out)
		if err != nil {
			t.Fatalf("%s: own encoding refused: %v\n%s", name, err, out)
		}
		if h := reflect.ValueOf(back).Elem().FieldByName("ResponseHeader").Interface().(ResponseHeader); h.CommandUUID != testUUID {
			t.Errorf("%s: header lost: %+v", name, h)
		}
	}
}

func TestRefusedErrorText(t *testing.T) {
	err := ValidateFor(ScheduleOSUpdateScan{}, iphone("17.0", true))
	if err == nil || err.Error() != "mdm: ScheduleOSUpdateScan refused: not supported on iOS" {
		t.Errorf("error = %v", err)
	}
}

func TestVersionWarnings(t *testing.T) {
	r, err := DecodeDeviceInformation(deviceInfoWith(`<key>BuildVersion</key><string>23 E</string>` +
		`<key>SupplementalBuildVersion</key><string></string><key>SupplementalOSVersionExtra</key><string>a</string>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 2 {
		t.Errorf("warnings = %q", r.Warnings)
	}
	if b, ok := r.QueryResponses.EffectiveBuild(); ok {
		t.Errorf("EffectiveBuild = %v from unparsable builds", b)
	}
	it := AvailableOSUpdate{ProductKey: "k", SupplementalBuildVersion: "22E772610a"}
	if b, ok := it.ParsedBuild(); !ok || b.String() != "22E772610a" {
		t.Errorf("ParsedBuild fallback = %v, %v", b, ok)
	}
}
