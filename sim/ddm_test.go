package sim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/sim"
)

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func enforcement(id, version, deadline string) string {
	return `{"Type":"com.apple.configuration.softwareupdate.enforcement.specific","Identifier":"` + id +
		`","Payload":{"TargetOSVersion":"` + version + `","TargetLocalDateTime":"` + deadline + `"}}`
}

// setup enrolls one DDM Mac at osVersion and gives it the declarations
// (activated together) through the admin API.
func setup(t *testing.T, osVersion string, opts sim.DDMOptions, docs ...string) (*testenv.Env, *sim.Device, *sim.DDM) {
	t.Helper()
	env := testenv.Start(t)
	d := env.Enroll(t, testenv.Mac(1, osVersion, "25A354"), 0)
	opts.Clock = start
	agent := sim.EnableDDM(d, opts)
	ctx := context.Background()
	var ids []string
	for _, doc := range docs {
		var res ddmsvc.PutDeclarationResult
		if err := env.API.Do(ctx, http.MethodPut, "/v1/declarations", json.RawMessage(doc), &res); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Declaration.Identifier)
	}
	act := `{"Type":"com.apple.activation.simple","Identifier":"act","Payload":{"StandardConfigurations":["` + strings.Join(ids, `","`) + `"]}}`
	if err := env.API.Do(ctx, http.MethodPut, "/v1/declarations", json.RawMessage(act), nil); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		path string
		body any
	}{
		{"/v1/sets/s/add", ddmsvc.SetChange{Declarations: append(ids, "act")}},
		{"/v1/sets/s/assign", ddmsvc.AssignRequest{Devices: []string{d.UDID()}}},
	} {
		if err := env.API.Do(ctx, http.MethodPost, step.path, step.body, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Server.DDM().Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Connect(ctx, 3); err != nil || agent.LastError() != nil {
		t.Fatalf("first sync: %v %v", err, agent.LastError())
	}
	return env, d, agent
}

func lastReport(t *testing.T, a *sim.DDM) map[string]any {
	t.Helper()
	reports := a.Reports()
	var doc map[string]any
	if err := json.Unmarshal(reports[len(reports)-1], &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestQueueOrderAndPartialReports: Apple's third example — 26.1 due Jan 20
// and 26.2 due Dec 20 on a device at 26.0. The earlier deadline goes first;
// once 26.2 runs, 26.1 is not newer and is reported as an error. Reports
// after the first carry only what changed.
func TestQueueOrderAndPartialReports(t *testing.T) {
	env, d, a := setup(t, "26.0", sim.DDMOptions{},
		enforcement("e261", "26.1", "2027-01-20T18:00:00"), enforcement("e262", "26.2", "2026-12-20T18:00:00"))
	first := lastReport(t, a)
	if first["FullReport"] != true {
		t.Fatalf("first report is not full: %v", first)
	}
	if a.InstallState() != ddm.InstallStateWaiting {
		t.Fatalf("state %s", a.InstallState())
	}
	if err := a.AdvanceTo(context.Background(), time.Date(2026, 12, 20, 18, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	partial := lastReport(t, a)
	items, _ := json.Marshal(partial["StatusItems"])
	if partial["FullReport"] != nil || strings.Contains(string(items), "serial-number") || !strings.Contains(string(items), `"version":"26.2"`) {
		t.Fatalf("second report should be partial with the new OS: %s", items)
	}
	if got := d.Attributes().OSVersion; got != "26.2" {
		t.Fatalf("device runs %s after the deadline, want 26.2", got)
	}
	var st ddmsvc.StatusView
	if err := env.API.Do(context.Background(), http.MethodGet, "/v1/devices/"+d.UDID()+"/ddm/status", nil, &st); err != nil {
		t.Fatal(err)
	}
	e261 := st.Status.Declarations["e261"]
	if e261.Valid != "invalid" || len(e261.Reasons) == 0 || st.Status.InstallState.Value != ddm.InstallStateNone {
		t.Fatalf("after 26.2: e261 %+v, state %+v", e261, st.Status.InstallState)
	}
	if st.Status.SerialNumber == nil || st.Status.SerialNumber.Value != "C02SIM000001" {
		t.Fatalf("partial report lost an earlier item: %+v", st.Status.SerialNumber)
	}
}

// TestInstallFailure: a device configured to fail reports failed with a
// failure reason, and keeps its OS.
func TestInstallFailure(t *testing.T) {
	env, d, a := setup(t, "15.7.1", sim.DDMOptions{FailAt: ddm.InstallStateInstalling, FailReason: "Not enough free disk space"},
		enforcement("e261", "26.1", "2026-12-20T18:00:00"))
	ctx := context.Background()
	if err := a.AdvanceTo(ctx, time.Date(2026, 12, 20, 17, 45, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := a.AdvanceTo(ctx, time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var st ddmsvc.StatusView
	if err := env.API.Do(ctx, http.MethodGet, "/v1/devices/"+d.UDID()+"/ddm/status", nil, &st); err != nil {
		t.Fatal(err)
	}
	fr := st.Status.FailureReason
	if st.Status.InstallState.Value != ddm.InstallStateFailed || fr == nil || fr.Value.Count != 1 || fr.Value.Reason != "Not enough free disk space" {
		t.Fatalf("failure not reported: %+v %+v", st.Status.InstallState, fr)
	}
	if d.Attributes().OSVersion != "15.7.1" {
		t.Fatalf("a failed update changed the OS to %s", d.Attributes().OSVersion)
	}
	a.SetFailure("", "")
	if err := a.AdvanceTo(ctx, time.Date(2026, 12, 21, 1, 0, 0, 0, time.UTC)); err != nil || d.Attributes().OSVersion != "26.1" {
		t.Fatalf("retry after the cause was fixed: %v, OS %s", err, d.Attributes().OSVersion)
	}
}
