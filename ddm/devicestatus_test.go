package ddm

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func report(t *testing.T, raw string) *StatusReport {
	t.Helper()
	r, err := ParseStatusReport([]byte(raw))
	must(t, err)
	return r
}

func TestMergeKeepsWhatPartialReportsLack(t *testing.T) {
	var s DeviceStatus
	s.Merge(parseFixture(t, "softwareupdate-downloading"), t0)
	s.Merge(parseFixture(t, "partial-install-state"), t0.Add(time.Hour))

	if s.Version != DeviceStatusVersion || !s.LastReportAt.Equal(t0.Add(time.Hour)) || !s.LastFullReportAt.IsZero() {
		t.Errorf("header: %+v", s)
	}
	if s.InstallState.Value != InstallStateInstalling || !s.InstallState.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("install state: %+v", s.InstallState)
	}
	if s.PendingVersion.Value.OSVersion != "26.1" || !s.PendingVersion.UpdatedAt.Equal(t0) {
		t.Errorf("pending version lost or restamped: %+v", s.PendingVersion)
	}
	if s.OSVersion.Value != "26.0.1" || s.SerialNumber.Value != "SERIAL0001" || len(s.Declarations) != 3 {
		t.Errorf("device facts lost: %+v", s)
	}
}

func TestMergeGolden(t *testing.T) {
	var s DeviceStatus
	s.Merge(parseFixture(t, "real-zentral"), t0)
	s.Merge(parseFixture(t, "softwareupdate-downloading"), t0.Add(time.Minute))
	s.Merge(parseFixture(t, "errors-array"), t0.Add(2*time.Minute))
	got, err := json.MarshalIndent(&s, "", "  ")
	must(t, err)
	golden.Assert(t, golden.Path(t, "ddm/status/merged.devicestatus.json"), append(got, '\n'))

	// What storage writes must read back the same.
	var back DeviceStatus
	must(t, json.Unmarshal(got, &back))
	again, err := json.MarshalIndent(&back, "", "  ")
	must(t, err)
	if string(again) != string(got) {
		t.Error("DeviceStatus does not survive a JSON round trip")
	}
}

func TestMergeDeclarationsIncrementalThenFull(t *testing.T) {
	var s DeviceStatus
	s.Merge(parseFixture(t, "softwareupdate-downloading"), t0)
	s.Merge(report(t, `{"StatusItems":{"management":{"declarations":{"configurations":[
		{"identifier":"tidemark.settings.default","active":true,"valid":"valid","server-token":"new"}]}}}}`), t0.Add(time.Minute))
	got := s.Declarations["tidemark.settings.default"]
	if !got.Active || got.ServerToken != "new" || got.Kind != KindConfiguration || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("incremental update: %+v", got)
	}
	if len(s.Declarations) != 3 {
		t.Errorf("incremental report dropped declarations: %v", s.Declarations)
	}
	s.Merge(parseFixture(t, "full-report"), t0.Add(2*time.Minute))
	if len(s.Declarations) != 1 || s.Declarations["tidemark.enforcement.macos-26.2"].ServerToken != "aaaa" {
		t.Errorf("full report should replace the declaration set: %v", s.Declarations)
	}
	if !s.LastFullReportAt.Equal(t0.Add(2*time.Minute)) || s.OSVersion == nil {
		t.Errorf("full report: %+v", s)
	}
}

func TestMergeIgnoresOlderReports(t *testing.T) {
	var s DeviceStatus
	s.Merge(report(t, `{"StatusItems":{"softwareupdate":{"install-state":"installing"}}}`), t0.Add(time.Hour))
	s.Merge(report(t, `{"StatusItems":{"softwareupdate":{"install-state":"downloading"},"device":{"model":{"family":"Mac"}}}}`), t0)
	if s.InstallState.Value != InstallStateInstalling {
		t.Errorf("an older report overwrote a newer value: %v", s.InstallState.Value)
	}
	if s.ModelFamily == nil || !s.LastReportAt.Equal(t0.Add(time.Hour)) {
		t.Error("an older report's new item should still be kept")
	}
}

func TestMergeItemErrors(t *testing.T) {
	var s DeviceStatus
	s.Merge(parseFixture(t, "errors-array"), t0)
	if len(s.ItemErrors) != 2 || s.ItemErrors[ItemBatteryHealth].Value[0].Code != "Error.StatusItemUnavailable" {
		t.Fatalf("item errors: %+v", s.ItemErrors)
	}
	s.Merge(report(t, `{"StatusItems":{"device":{"power":{"battery-health":"normal"}}}}`), t0.Add(time.Minute))
	if _, still := s.ItemErrors[ItemBatteryHealth]; still || len(s.ItemErrors) != 1 {
		t.Errorf("a reported item keeps its old error: %+v", s.ItemErrors)
	}
	s.Merge(nil, t0) // must not panic
}

func TestMergeConvertsToUTC(t *testing.T) {
	var s DeviceStatus
	s.Merge(parseFixture(t, "partial-install-state"), time.Date(2026, 12, 1, 12, 0, 0, 0, time.FixedZone("X", 7200)))
	if s.InstallState.UpdatedAt.Location() != time.UTC || !s.InstallState.UpdatedAt.Equal(t0) {
		t.Errorf("stamp %v", s.InstallState.UpdatedAt)
	}
}

func TestMergeCapsGrowth(t *testing.T) {
	var s DeviceStatus
	for i := range MaxDeclarationStatuses + 5 {
		s.Merge(report(t, `{"StatusItems":{"management":{"declarations":{"assets":[{"identifier":"a`+itoa(i)+`","active":true,"valid":"valid","server-token":"t"}]}}},
			"Errors":[{"StatusItem":"x`+itoa(i)+`"}]}`), t0)
	}
	if len(s.Declarations) != MaxDeclarationStatuses || len(s.ItemErrors) != MaxStatusErrors {
		t.Errorf("%d declarations, %d item errors", len(s.Declarations), len(s.ItemErrors))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
