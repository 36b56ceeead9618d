package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	lastSeenGap = time.Millisecond
	os.Exit(m.Run())
}

func run(t *testing.T, o Options) *Result {
	t.Helper()
	o.Workers, o.Timeout = 4, 2*time.Minute
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%s: %v", o.Scenario, err)
	}
	if !res.Available || res.Errors != 0 {
		t.Fatalf("%s: available=%v errors=%d %v", o.Scenario, res.Available, res.Errors, res.ErrorSamples)
	}
	if !res.CPUAvailable || res.ServerCPU <= 0 || res.ServerCPUTotal < res.ServerCPU || res.DBSizeBytes <= 0 || res.PeakRSSBytes <= 0 {
		t.Errorf("%s: accounting missing: %+v", o.Scenario, res)
	}
	if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
		t.Errorf("%s: latency %+v", o.Scenario, res.Latency)
	}
	return res
}

func TestIdleCountsEveryConnect(t *testing.T) {
	res := run(t, Options{Scenario: ScenarioIdle, Devices: 12, Iterations: 3})
	if res.Requests != 36 || res.Extra["idle_first_requests"] != int64(12) || res.Extra["idle_repeat_requests"] != int64(24) {
		t.Errorf("requests %d (%v), want 12 devices × 3 iterations, the first round apart", res.Requests, res.Extra)
	}
	if _, ok := res.Extra["idle_repeat_cpu_ms_per_request"]; !ok {
		t.Errorf("no CPU for repeated connects: %v", res.Extra)
	}
	if !strings.Contains(res.Identities, "straight from the server's CA") || !strings.Contains(res.Server, "in-process") {
		t.Errorf("the report must say how it measured: %q / %q", res.Identities, res.Server)
	}
}

func TestFanoutDeliversAndVerifiesEveryResult(t *testing.T) {
	res := run(t, Options{Scenario: ScenarioFanout, Devices: 10, Iterations: 2})
	if res.Requests != 40 {
		t.Errorf("requests %d, want 2 per device per fan-out", res.Requests)
	}
	if res.Extra["results_verified"] != 20 {
		t.Errorf("results verified: %v", res.Extra["results_verified"])
	}
	if enq, _ := res.Extra["enqueue_ms"].([]float64); len(enq) != 2 {
		t.Errorf("enqueue times: %v", res.Extra["enqueue_ms"])
	}
}

func TestEnrollThroughSCEP(t *testing.T) {
	res := run(t, Options{Scenario: ScenarioEnroll, Devices: 3, SCEP: true})
	// Per device: SCEP (GetCACert, PKIOperation at least), Authenticate, TokenUpdate.
	if res.Requests < 12 || res.Extra["devices_verified_enrolled"] != 3 {
		t.Errorf("requests %d, verified %v", res.Requests, res.Extra["devices_verified_enrolled"])
	}
	if !strings.Contains(res.Identities, "/scep") || !strings.Contains(res.CPUSource, "SCEP") {
		t.Errorf("the report must say SCEP was measured: %q / %q", res.Identities, res.CPUSource)
	}
}

func TestEnrollDirect(t *testing.T) {
	res := run(t, Options{Scenario: ScenarioEnroll, Devices: 5})
	if res.Requests != 10 || res.Extra["devices_verified_enrolled"] != 5 {
		t.Errorf("requests %d, verified %v", res.Requests, res.Extra["devices_verified_enrolled"])
	}
}

// ddm runs when the build serves DeclarativeManagement and otherwise says
// so; it never reports figures it did not measure.
func TestDDMRunsOrSaysWhyNot(t *testing.T) {
	res, err := Run(context.Background(), Options{Scenario: ScenarioDDM, Devices: 4, Workers: 2})
	var unavailable *UnavailableError
	if errors.As(err, &unavailable) {
		if res.Available || res.Reason == "" || res.Requests != 0 {
			t.Fatalf("unavailable result must carry only the reason: %+v", res)
		}
		return
	}
	if err != nil || res.Errors != 0 {
		t.Fatalf("ddm: %v %+v", err, res)
	}
	per, _ := res.Extra["ddm_requests_per_device"].(int)
	if per < 4 || res.Requests != int64(4*per) {
		t.Errorf("requests %d with %d per device", res.Requests, per)
	}
}

func TestCampaignReachesCompliance(t *testing.T) {
	res := run(t, Options{Scenario: ScenarioCampaign, Devices: 6})
	if res.Extra["campaign_compliant"] != 6 || res.Extra["devices_on_target"] != 6 {
		t.Fatalf("campaign: %v", res.Extra)
	}
	if l, _ := res.Extra["device_time_to_target_ms"].(LatencyStats); l.Max <= 0 || l.Max > 1000*res.WallSeconds {
		t.Errorf("time to target %+v with a measured phase of %.3fs", l, res.WallSeconds)
	}
	if _, ok := res.Extra["time_to_full_compliance_seconds"]; !ok {
		t.Errorf("no time to full compliance: %v", res.Extra)
	}
}

func TestCampaignRefusesARunningServer(t *testing.T) {
	_, err := Run(context.Background(), Options{Scenario: ScenarioCampaign, Devices: 1, ServerURL: "http://127.0.0.1:1", APIKey: "k"})
	if err == nil {
		t.Fatal("campaign accepted --server")
	}
}

func TestUnavailableResultSaysSo(t *testing.T) {
	var out bytes.Buffer
	res := &Result{Scenario: ScenarioDDM, Reason: "the server answers DeclarativeManagement check-ins with HTTP 400"}
	if err := res.WriteText(&out); err != nil || !strings.Contains(out.String(), "not available in this build: the server answers") {
		t.Errorf("text report: %v %q", err, out.String())
	}
	err := (&UnavailableError{Scenario: ScenarioDDM, Reason: "x"}).Error()
	if !strings.Contains(err, "ddm is not available in this build") {
		t.Errorf("error text %q", err)
	}
}

// The JSON field names are a contract with BENCHMARKS.md and scripts.
func TestResultJSONFields(t *testing.T) {
	var buf bytes.Buffer
	if err := (&Result{Scenario: "idle", Available: true}).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "available", "devices", "workers", "pool", "iterations", "server", "identities",
		"cpu_source", "requests", "errors", "wall_seconds", "throughput_rps", "latency_ms", "server_cpu_seconds",
		"server_cpu_ms_per_request", "server_cpu_total_seconds", "peak_rss_bytes", "rss_bytes", "rss_anon_bytes", "db_size_bytes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	lat := m["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency lacks %q", k)
		}
	}
}

func TestTemporaryDataDirIsRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	run(t, Options{Scenario: ScenarioIdle, Devices: 2})
	left, err := os.ReadDir(tmp)
	if err != nil || len(left) != 0 {
		t.Errorf("the run left %v behind (%v)", left, err)
	}
}
