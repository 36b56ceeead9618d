package sim

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

func sharedKey(t *testing.T) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// Catalog used by these tests: a Ventura Mac offered a minor and a major
// update, a config-data item and a firmware item.
var (
	macMinor    = MacOSUpdate("13.6.5", "22G621", false, 1_200_000_000)
	macMajor    = MacOSUpdate("14.4.1", "23E224", true, 6_900_000_000)
	macXProtect = MacConfigData("052-96247", "XProtectPlistConfigData", "2192")
	macFirmware = MacFirmware("061-07370", "Firmware Update", 30_000_000)
	iosMinor    = IOSUpdate("16.7.7", "20H330", 450_000_000, 2_100_000_000)
	iosMajor    = IOSUpdate("17.4.1", "21E236", 6_400_000_000, 8_000_000_000)
)

func macAttrs() Attributes {
	return Attributes{UDID: "SIM-MAC-0001", Platform: "macOS", OSVersion: "13.6.4", BuildVersion: "22G513",
		ProductName: "Mac14,2", Supervised: true, AppleSilicon: true, BatteryLevel: 0.8, FreeGB: 120, CapacityGB: 494}
}

func phoneAttrs() Attributes {
	return Attributes{UDID: "SIM-PHONE-0001", Platform: "iOS", OSVersion: "16.7.5", BuildVersion: "20H307",
		ProductName: "iPhone14,5", Supervised: true, BatteryLevel: 0.9, FreeGB: 40, CapacityGB: 119}
}

type legacyRig struct {
	t   *testing.T
	d   *Device
	l   *Legacy
	seq int
}

func newLegacyRig(t *testing.T, a Attributes, cfg LegacyConfig) *legacyRig {
	t.Helper()
	d, err := New(a, WithKey(sharedKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	return &legacyRig{t: t, d: d, l: d.EnableLegacyUpdates(cfg)}
}

// send delivers a command as the server would and returns the report.
func (r *legacyRig) send(p mdm.CommandPayload) []byte {
	r.t.Helper()
	r.seq++
	raw, err := mdm.Command{UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", r.seq), Payload: p}.Encode()
	if err != nil {
		r.t.Fatal(err)
	}
	body, err := r.d.answer(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	return body
}

func (r *legacyRig) available() []mdm.AvailableOSUpdate {
	r.t.Helper()
	resp, err := mdm.DecodeAvailableOSUpdates(r.send(mdm.AvailableOSUpdates{}))
	if err != nil || resp.Status != mdm.StatusAcknowledged {
		r.t.Fatalf("AvailableOSUpdates: %v %+v", err, resp)
	}
	return resp.AvailableOSUpdates
}

func (r *legacyRig) schedule(items ...mdm.OSUpdateItem) *mdm.ScheduleOSUpdateResponse {
	r.t.Helper()
	resp, err := mdm.DecodeScheduleOSUpdate(r.send(mdm.ScheduleOSUpdate{Updates: items}))
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

func (r *legacyRig) status() *mdm.OSUpdateStatusResponse {
	r.t.Helper()
	resp, err := mdm.DecodeOSUpdateStatus(r.send(mdm.OSUpdateStatus{}))
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

// poll answers OSUpdateStatus n times and returns "Status percent" of the
// one item each time ("-" when the list is empty).
func (r *legacyRig) poll(n int) []string {
	r.t.Helper()
	var out []string
	for range n {
		resp := r.status()
		switch len(resp.OSUpdateStatus) {
		case 0:
			out = append(out, "-")
		case 1:
			it := resp.OSUpdateStatus[0]
			out = append(out, fmt.Sprintf("%s %.2f %t", it.Status, it.DownloadPercentComplete.Float64(), it.IsDownloaded))
		default:
			r.t.Fatalf("more than one status item: %+v", resp.OSUpdateStatus)
		}
	}
	return out
}

func keys(items []mdm.AvailableOSUpdate) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ProductKey)
	}
	return out
}

func assertSeq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func TestLegacyMacInstallsAndReportsNewVersion(t *testing.T) {
	r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor, macMajor, macXProtect, macFirmware}})
	scan, err := mdm.DecodeScheduleOSUpdateScan(r.send(mdm.ScheduleOSUpdateScan{Force: true}))
	if err != nil || scan.Status != mdm.StatusAcknowledged || !scan.ScanInitiated {
		t.Fatalf("scan: %v %+v", err, scan)
	}
	got := r.available()
	if !reflect.DeepEqual(got, []mdm.AvailableOSUpdate{macMinor, macMajor, macXProtect, macFirmware}) {
		t.Fatalf("available: %+v", got)
	}
	res := r.schedule(mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionInstallASAP))
	want := []mdm.UpdateResult{{ProductKey: macMinor.ProductKey, InstallAction: mdm.InstallActionInstallASAP, Status: mdm.UpdateStatusDownloading}}
	if res.Status != mdm.StatusAcknowledged || !reflect.DeepEqual(res.UpdateResults, want) {
		t.Fatalf("schedule: %+v", res)
	}
	assertSeq(t, "polls", r.poll(7), []string{
		"Downloading 0.25 false", "Downloading 0.50 false", "Downloading 0.75 false", "Downloading 1.00 true",
		"Installing 1.00 true", "-", "-",
	})
	a := r.d.Attributes()
	if a.OSVersion != "13.6.5" || a.BuildVersion != "22G621" {
		t.Errorf("after restart the device runs %s (%s)", a.OSVersion, a.BuildVersion)
	}
	info, err := mdm.DecodeDeviceInformation(r.send(mdm.NewDeviceInformation()))
	if err != nil || info.QueryResponses.OSVersion != "13.6.5" || info.QueryResponses.BuildVersion != "22G621" {
		t.Errorf("DeviceInformation after restart: %v %+v", err, info)
	}
	assertSeq(t, "installed", r.l.Installed(), []string{macMinor.ProductKey})
	assertSeq(t, "still offered", keys(r.available()), keys([]mdm.AvailableOSUpdate{macMajor, macXProtect, macFirmware}))
}

func TestLegacyMajorUpdateSupersedesMinor(t *testing.T) {
	r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor, macMajor, macXProtect},
		DownloadSteps: 2, InstallSteps: 2})
	r.schedule(mdm.UpdateToVersion(osversion.MustParse("14.4.1"), mdm.InstallActionInstallForceRestart))
	assertSeq(t, "polls", r.poll(5), []string{
		"Downloading 0.50 false", "Downloading 1.00 true", "Installing 1.00 true", "Installing 1.00 true", "-",
	})
	if a := r.d.Attributes(); a.OSVersion != "14.4.1" || a.BuildVersion != "23E224" {
		t.Errorf("runs %s (%s)", a.OSVersion, a.BuildVersion)
	}
	assertSeq(t, "still offered", keys(r.available()), []string{macXProtect.ProductKey})
}

func TestLegacyConfigDataDoesNotChangeOS(t *testing.T) {
	r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macXProtect}, DownloadSteps: 1})
	r.schedule(mdm.UpdateByProductKey(macXProtect.ProductKey, mdm.InstallActionDefault))
	assertSeq(t, "polls", r.poll(3), []string{"Downloading 1.00 true", "Installing 1.00 true", "-"})
	if a := r.d.Attributes(); a.OSVersion != "13.6.4" {
		t.Errorf("config data changed the OS to %s", a.OSVersion)
	}
	assertSeq(t, "installed", r.l.Installed(), []string{macXProtect.ProductKey})
}

func TestLegacyDownloadOnlyThenInstall(t *testing.T) {
	r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor}, DownloadSteps: 2})
	r.schedule(mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionDownloadOnly))
	assertSeq(t, "download only", r.poll(3), []string{"Downloading 0.50 false", "Idle 1.00 true", "Idle 1.00 true"})
	res := r.schedule(mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionInstallASAP))
	if res.UpdateResults[0].Status != mdm.UpdateStatusIdle || res.UpdateResults[0].InstallAction != mdm.InstallActionInstallASAP {
		t.Errorf("re-schedule: %+v", res.UpdateResults)
	}
	assertSeq(t, "install", r.poll(2), []string{"Installing 1.00 true", "-"})
}

func TestLegacyInstallLaterReportsDeferrals(t *testing.T) {
	r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor}, DownloadSteps: 1})
	item := mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionInstallLater)
	three := 3
	item.MaxUserDeferrals = &three
	r.schedule(item)
	it := r.status().OSUpdateStatus[0]
	if it.Status != mdm.UpdateStatusIdle || !it.IsDownloaded || it.MaxDeferrals == nil || *it.MaxDeferrals != 3 ||
		it.DeferralsRemaining == nil || *it.DeferralsRemaining != 3 {
		t.Errorf("InstallLater status: %+v", it)
	}
}

func TestLegacyIPhone(t *testing.T) {
	r := newLegacyRig(t, phoneAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{iosMinor, iosMajor}, DownloadSteps: 1})
	rep, err := mdm.DecodeReport(r.send(mdm.ScheduleOSUpdateScan{}))
	if err != nil || rep.Status != mdm.StatusError || len(rep.ErrorChain) != 1 || rep.ErrorChain[0].ErrorCode != 12021 {
		t.Errorf("iOS ScheduleOSUpdateScan: %v %+v", err, rep)
	}
	assertSeq(t, "available", keys(r.available()), []string{"iOSUpdate20H330", "iOSUpdate21E236"})
	res := r.schedule(mdm.OSUpdateItem{ProductKey: iosMinor.ProductKey, InstallAction: mdm.InstallActionNotifyOnly})
	want := mdm.UpdateResult{ProductKey: iosMinor.ProductKey, InstallAction: mdm.InstallActionError, Status: mdm.UpdateStatusIdle,
		ErrorChain: ActionUnsupportedChain(iosMinor.ProductKey, mdm.InstallActionNotifyOnly)}
	if !reflect.DeepEqual(res.UpdateResults, []mdm.UpdateResult{want}) {
		t.Errorf("NotifyOnly on iOS: %+v", res.UpdateResults)
	}
	r.schedule(mdm.UpdateToVersion(osversion.MustParse("16.7.7"), mdm.InstallActionInstallASAP))
	assertSeq(t, "polls", r.poll(3), []string{"Downloading 1.00 true", "Installing 1.00 true", "-"})
	if a := r.d.Attributes(); a.OSVersion != "16.7.7" || a.BuildVersion != "20H330" {
		t.Errorf("runs %s (%s)", a.OSVersion, a.BuildVersion)
	}
	assertSeq(t, "still offered", keys(r.available()), []string{"iOSUpdate21E236"})
}

func TestLegacyUnknownUpdates(t *testing.T) {
	r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor}})
	res := r.schedule(mdm.UpdateByProductKey("MSU_UPDATE_NOPE", mdm.InstallActionInstallASAP))
	want := mdm.UpdateResult{ProductKey: "MSU_UPDATE_NOPE", InstallAction: mdm.InstallActionError,
		Status: mdm.UpdateStatusIdle, ErrorChain: UpdateNotAvailableChain("MSU_UPDATE_NOPE")}
	if !reflect.DeepEqual(res.UpdateResults, []mdm.UpdateResult{want}) {
		t.Errorf("unknown key: %+v", res.UpdateResults)
	}
	res = r.schedule(mdm.UpdateToVersion(osversion.MustParse("15.0"), mdm.InstallActionInstallASAP))
	if res.Status != mdm.StatusError || !reflect.DeepEqual(res.ErrorChain, VersionNotAvailableChain("15.0")) || res.UpdateResults != nil {
		t.Errorf("unknown version: %+v", res)
	}
	if n := len(r.status().OSUpdateStatus); n != 0 {
		t.Errorf("%d jobs after refused requests", n)
	}
}
