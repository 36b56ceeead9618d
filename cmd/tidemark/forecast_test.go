package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/sim"
)

const ringedPolicyJSON = `{"id":"ringed","name":"Ringed","scope":{"all":true,"platforms":["macOS"]},
 "target":{"kind":"version","os_version":"26.2"},"deadline":{"local_date_time":"2026-12-01T17:00:00"},
 "rings":[{"name":"it","groups":["it"]},{"name":"rest","deadline_offset_days":3,"skip_weekends":true}]}`

// forecastCmd runs `tidemark forecast` (registered by root.go) directly.
func forecastCmd(env *testenv.Env, args ...string) (string, error) {
	g := &globalFlags{server: env.URL, apiKey: env.Server.APIKey(), output: "table"}
	cmd := newForecastCmd(g)
	cmd.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "")
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestForecastAndRingsCLI(t *testing.T) {
	env, cli := policyCLI(t, true)
	ctx := context.Background()
	if _, err := cli("catalog", "import", golden.Path(t, "catalog/fixture.json")); err != nil {
		t.Fatal(err)
	}
	itMac := env.Enroll(t, testenv.Mac(1, "26.1", "25B78"), 1)
	plain := env.Enroll(t, testenv.Mac(2, "26.1", "25B78"), 2)
	unsupervisedAttrs := testenv.Mac(3, "26.1", "25B78")
	unsupervisedAttrs.Supervised = false
	unsupervised := env.Enroll(t, unsupervisedAttrs, 3)
	if err := env.API.Do(ctx, http.MethodPut, "/v1/devices/"+itMac.UDID()+"/groups/it", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := env.API.Do(ctx, http.MethodPut, "/v1/policies/ringed", json.RawMessage(ringedPolicyJSON), nil); err != nil {
		t.Fatal(err)
	}
	w := env.Server.Reconciler()
	if _, err := w.ReconcileAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*sim.Device{itMac, plain, unsupervised} {
		if err := d.SetBootstrapToken(ctx, []byte("token")); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Connect(ctx, 10); err != nil { // answer the facts requests
			t.Fatal(err)
		}
	}
	if _, err := w.ReconcileAll(ctx); err != nil {
		t.Fatal(err)
	}

	out, err := cli("status", "--policy", "ringed")
	if err != nil || !strings.Contains(out, "RING") || !strings.Contains(out, "2026-11-21 12:00 UTC") ||
		!strings.Contains(out, "waiting") || !strings.Contains(out, "2026-12-04T17:00:00") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, err = forecastCmd(env, "ringed")
	if err != nil || !strings.Contains(out, unsupervised.UDID()) || !strings.Contains(out, "not_supervised") ||
		strings.Contains(out, plain.UDID()) || !strings.Contains(out, "Expected compliant at the deadline: 2 of 3") {
		t.Fatalf("forecast: %v\n%s", err, out)
	}
	out, err = forecastCmd(env, "ringed", "-o", "json")
	var f rollout.Forecast
	if err != nil || json.Unmarshal([]byte(out), &f) != nil || f.AtRiskTotal != 1 || f.AtRisk[0].Ring != "rest" {
		t.Fatalf("forecast json: %v\n%s", err, out)
	}
	if _, err := forecastCmd(env, "nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown policy: %v", err)
	}
}

func TestPrintForecast(t *testing.T) {
	var f rollout.Forecast
	if err := json.Unmarshal(golden.Read(t, golden.Path(t, "rollout/forecast.golden.json")), &f); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printForecast(&out, &f); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "rollout/forecast.golden.txt"), out.Bytes())
}

func TestPrintRollout(t *testing.T) {
	started := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	ps := reconcile.PolicyStatus{
		Policy: enforcement.Policy{ID: "ringed", Name: "Ringed", Paused: true},
		Rings: []rollout.RingStatus{
			{Name: "it", Started: true, StartedAt: &started, Targeted: 20, Installed: 20, InstalledPercent: 100, SuccessPercent: 90, Deadline: "2026-12-01T17:00:00"},
			{Name: "pilot", Started: true, StartedAt: &started, Targeted: 33, Installed: 20, Failing: 7, InstalledPercent: 60.6, SuccessPercent: 90, Deadline: "2026-12-04T17:00:00"},
			{Name: "broad", Targeted: 67, SuccessPercent: 90, Deadline: "2026-12-08T17:00:00"},
		},
		AutoPause: &rollout.PauseRecord{At: started.Add(48 * time.Hour), Message: "ring pilot of policy ringed paused itself: 7 of 33 targeted devices failed within 24h (21.2 %, threshold 10 %)"},
	}
	var out bytes.Buffer
	if err := printRollout(&out, &ps); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "rollout/status.golden.txt"), out.Bytes())
}
