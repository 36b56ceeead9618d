package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/bench"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
)

func TestBenchInProcessJSON(t *testing.T) {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"bench", "--scenario", "fanout", "--devices", "6", "--iterations", "2", "--workers", "3", "--output", "json"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var res bench.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, out.String())
	}
	if res.Requests != 24 || res.Errors != 0 || !res.CPUAvailable || res.Workers != 3 || res.Scenario != "fanout" {
		t.Errorf("result: %+v", res)
	}
	if !strings.Contains(errOut.String(), "measured phase") {
		t.Errorf("progress belongs on stderr: %q", errOut.String())
	}
}

// Against a running server the bench enrolls through SCEP with one-time
// challenges and reads the server's CPU from its metrics endpoint.
func TestBenchAgainstRunningServer(t *testing.T) {
	env := testenv.Start(t)
	out, err := run(t, env, "bench", "--scenario", "fanout", "--devices", "3", "--workers", "2", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res bench.Result
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.Requests != 6 || res.Errors != 0 || res.Extra["results_verified"] != float64(3) {
		t.Errorf("result: %+v", res)
	}
	if !strings.Contains(res.Server, env.URL) || !strings.Contains(res.Identities, "/scep") {
		t.Errorf("the report must name the server and SCEP: %q %q", res.Server, res.Identities)
	}
}

func TestBenchRefusesCampaignOnARunningServer(t *testing.T) {
	env := testenv.Start(t)
	out, err := run(t, env, "bench", "--scenario", "campaign", "--devices", "2")
	if err == nil || !strings.Contains(err.Error(), "never with --server") {
		t.Fatalf("campaign against a running server: %v\n%s", err, out)
	}
}
