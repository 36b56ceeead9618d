package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	return golden.Read(t, golden.Path(t, "mdm/responses/"+name+".plist"))
}

// apply runs a result's effects on a stored state, as the storage
// transaction does, and returns the new state and its bytes.
func apply(t *testing.T, old []byte, rt, status string, raw []byte, at time.Time) (*UpdateState, []byte) {
	t.Helper()
	fx, err := NewInterpreter().Effects(context.Background(), "D1", rt, status, raw, at)
	if err != nil {
		t.Fatalf("%s %s: %v", rt, status, err)
	}
	if fx.Device != nil || len(fx.Events) > 0 {
		t.Errorf("%s: unexpected device or event effects", rt)
	}
	if len(fx.Blobs) == 0 {
		st, err := DecodeUpdateState(old)
		if err != nil {
			t.Fatal(err)
		}
		return st, old
	}
	if len(fx.Blobs) != 1 || fx.Blobs[0].Collection != UpdateStateCollection {
		t.Fatalf("%s: blobs %+v", rt, fx.Blobs)
	}
	updated, err := fx.Blobs[0].Mutate(old)
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeUpdateState(updated)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != updateStateVersion {
		t.Errorf("version %d", st.Version)
	}
	return st, updated
}

func TestEffectsOfEachUpdateCommand(t *testing.T) {
	var raw []byte
	var st *UpdateState
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

	st, raw = apply(t, raw, mdm.RequestScheduleOSUpdateScan, mdm.StatusAcknowledged, fixture(t, "ScheduleOSUpdateScan-macOS"), at(1))
	if !st.LastScanAt.Equal(at(1)) || st.LastScanStatus != mdm.StatusAcknowledged || st.Available != nil {
		t.Errorf("after scan: %+v", st)
	}

	st, raw = apply(t, raw, mdm.RequestAvailableOSUpdates, mdm.StatusAcknowledged, fixture(t, "AvailableOSUpdates-macOS-14"), at(2))
	if !st.AvailableAt.Equal(at(2)) || len(st.Available) != 3 || st.Available[0].ProductKey != "MSU_UPDATE_23E224_patch_14.4.1_minor" ||
		st.Available[0].DownloadSize.Int64() != 1468006400 || !st.LastScanAt.Equal(at(1)) {
		t.Errorf("after available: %+v", st)
	}

	st, raw = apply(t, raw, mdm.RequestScheduleOSUpdate, mdm.StatusAcknowledged, fixture(t, "ScheduleOSUpdate-macOS-asap"), at(3))
	key := "MSU_UPDATE_23E224_patch_14.4.1_minor"
	wantResults := []mdm.UpdateResult{{ProductKey: key, InstallAction: "InstallASAP", Status: "Downloading"}}
	if !st.ScheduledAt.Equal(at(3)) || !reflect.DeepEqual(st.ScheduleResults, wantResults) || st.LastError != nil {
		t.Errorf("after schedule: %+v", st)
	}

	st, raw = apply(t, raw, mdm.RequestOSUpdateStatus, mdm.StatusAcknowledged, fixture(t, "OSUpdateStatus-macOS-deferrals"), at(4))
	if !st.StatusAt.Equal(at(4)) || len(st.Status) != 1 || *st.Status[0].DeferralsRemaining != 1 || len(st.Status[0].PastNotifications) != 2 {
		t.Errorf("after status: %+v", st)
	}
	wantHistory := []StatusPoint{
		{At: at(3), Source: "ScheduleOSUpdate", Status: "Downloading", Action: "InstallASAP"},
		{At: at(4), Source: "OSUpdateStatus", Status: "Idle", Percent: 1, Download: true},
	}
	if !reflect.DeepEqual(st.History[key], wantHistory) {
		t.Errorf("history %+v", st.History)
	}

	// An Error result keeps what was known and records the chain.
	before := *st
	st, raw = apply(t, raw, mdm.RequestAvailableOSUpdates, mdm.StatusError,
		golden.Read(t, golden.Path(t, "mdm/real/commandment/AvailableOSUpdates-iOS-11.3.1-error-no-update.plist")), at(5))
	if len(st.Available) != 3 || !st.AvailableAt.Equal(before.AvailableAt) || st.LastError == nil ||
		st.LastError.RequestType != mdm.RequestAvailableOSUpdates || st.LastError.Status != mdm.StatusError ||
		len(st.LastError.ErrorChain) != 2 || st.LastError.ErrorChain[1].ErrorDomain != "com.apple.softwareupdateservices.errors" {
		t.Errorf("after an Error: %+v", st.LastError)
	}
	if _, err := DecodeUpdateState(raw); err != nil {
		t.Error(err)
	}
}

func TestEffectsOfFailures(t *testing.T) {
	errReport := func(rt string) []byte {
		return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
<key>CommandUUID</key><string>C1</string><key>ErrorChain</key><array><dict><key>ErrorCode</key><integer>7</integer>
<key>ErrorDomain</key><string>%s</string></dict></array><key>Status</key><string>Error</string><key>UDID</key><string>D1</string></dict></plist>`, rt)
	}
	cases := []struct {
		name, rt, status string
		raw              []byte
		want             func(st *UpdateState) bool
	}{
		{"UpdateResult InstallAction Error", mdm.RequestScheduleOSUpdate, mdm.StatusAcknowledged, fixture(t, "ScheduleOSUpdate-iOS-error"),
			func(st *UpdateState) bool {
				e := st.LastError
				return e != nil && e.ProductKey == "iOSUpdate21E236" && e.Status == "Idle" && e.ErrorChain[0].ErrorDomain == "SUErrorDomain" &&
					st.History["iOSUpdate21E236"][0].Action == "Error"
			}},
		{"ScheduleOSUpdate Error", mdm.RequestScheduleOSUpdate, mdm.StatusError, errReport("S"),
			func(st *UpdateState) bool {
				return st.LastError.RequestType == mdm.RequestScheduleOSUpdate && st.LastError.ProductKey == "" && st.ScheduleResults == nil
			}},
		{"OSUpdateStatus Error", mdm.RequestOSUpdateStatus, mdm.StatusError, errReport("O"),
			func(st *UpdateState) bool {
				return st.LastError.RequestType == mdm.RequestOSUpdateStatus && st.StatusAt.IsZero()
			}},
		{"scan Error", mdm.RequestScheduleOSUpdateScan, mdm.StatusError, errReport("X"),
			func(st *UpdateState) bool { return st.LastScanStatus == mdm.StatusError && st.LastScanAt.Equal(t0) }},
		{"CommandFormatError", mdm.RequestScheduleOSUpdate, mdm.StatusCommandFormatError, errReport("F"),
			func(st *UpdateState) bool { return st.LastError.Status == mdm.StatusCommandFormatError }},
		{"NotNow changes nothing", mdm.RequestScheduleOSUpdate, mdm.StatusNotNow, errReport("N"),
			func(st *UpdateState) bool { return reflect.DeepEqual(st, &UpdateState{}) }},
		{"unknown values give warnings", mdm.RequestOSUpdateStatus, mdm.StatusAcknowledged, fixture(t, "OSUpdateStatus-macOS-unknown-and-waiting"),
			func(st *UpdateState) bool {
				return len(st.Warnings) == 1 && strings.Contains(st.Warnings[0], `"Preparing"`) && st.Status[0].Status == "Preparing" && st.LastError == nil
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := apply(t, nil, tc.rt, tc.status, tc.raw, t0)
			if !tc.want(st) {
				js, _ := json.Marshal(st)
				t.Errorf("state %s", js)
			}
		})
	}
}

func TestEffectsRefuseUnreadableResults(t *testing.T) {
	in := NewInterpreter()
	bad := []byte(`<?xml version="1.0"?><plist version="1.0"><dict><key>Status</key><string>Acknowledged</string>
<key>UDID</key><string>D1</string><key>CommandUUID</key><string>C</string><key>OSUpdateStatus</key><array><dict>
<key>ProductKey</key><string>K</string><key>DownloadPercentComplete</key><real>7</real><key>Status</key><string>Idle</string></dict></array></dict></plist>`)
	if _, err := in.Effects(context.Background(), "D1", mdm.RequestOSUpdateStatus, mdm.StatusAcknowledged, bad, t0); err == nil {
		t.Error("a 700 % download was accepted")
	}
	fx, err := in.Effects(context.Background(), "D1", mdm.RequestScheduleOSUpdate, mdm.StatusAcknowledged, fixture(t, "ScheduleOSUpdate-macOS-asap"), t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.Blobs[0].Mutate([]byte("{not json")); err == nil {
		t.Error("a corrupt stored state was overwritten silently")
	}
	fx, err = in.Effects(context.Background(), "D1", mdm.RequestSecurityInfo, mdm.StatusError, fixture(t, "DeviceInformation-error"), t0)
	if err != nil || fx.Device != nil || fx.Blobs != nil {
		t.Errorf("an Error to a non-update command has no effects: %+v %v", fx, err)
	}
}

func TestStatusHistoryIsBounded(t *testing.T) {
	var raw []byte
	var st *UpdateState
	total := maxStatusHistory + 7
	for i := range total {
		body := fmt.Appendf(nil, `<?xml version="1.0"?><plist version="1.0"><dict><key>CommandUUID</key><string>C%d</string>
<key>OSUpdateStatus</key><array><dict><key>ProductKey</key><string>K</string><key>DownloadPercentComplete</key><real>%g</real>
<key>IsDownloaded</key><false/><key>Status</key><string>Downloading</string></dict></array>
<key>Status</key><string>Acknowledged</string><key>UDID</key><string>D1</string></dict></plist>`, i, float64(i)/float64(total))
		st, raw = apply(t, raw, mdm.RequestOSUpdateStatus, mdm.StatusAcknowledged, body, t0.Add(time.Duration(i)*time.Minute))
	}
	h := st.History["K"]
	if len(h) != maxStatusHistory {
		t.Fatalf("history holds %d points, want %d", len(h), maxStatusHistory)
	}
	if first := t0.Add(7 * time.Minute); !h[0].At.Equal(first) || !h[len(h)-1].At.Equal(t0.Add(time.Duration(total-1)*time.Minute)) {
		t.Errorf("kept %s .. %s; the oldest must go first", h[0].At, h[len(h)-1].At)
	}
}

func TestDeviceInformationUpdatesFacts(t *testing.T) {
	fx, err := NewInterpreter().Effects(context.Background(), "D1", mdm.RequestDeviceInformation, mdm.StatusAcknowledged,
		fixture(t, "DeviceInformation-macOS-14-applesilicon"), t0)
	if err != nil || fx.Device == nil || fx.Blobs != nil {
		t.Fatalf("%+v %v", fx, err)
	}
	d := &storage.Device{Facts: storage.Facts{OSVersion: "13.0", DeviceName: "kept"}}
	if !fx.Device(d) || d.Facts.OSVersion == "13.0" || d.Facts.Platform != mdm.PlatformMacOS || !d.Facts.DeviceInfoAt.Equal(t0) {
		t.Errorf("facts %+v", d.Facts)
	}
}
