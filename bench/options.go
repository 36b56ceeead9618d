// Package bench drives fleets of simulated devices over real HTTP against a
// Tidemark server (in-process, a child process, or a running one) and
// measures what a scenario costs the server: requests, throughput,
// latency percentiles, server CPU per request, peak RSS, database size.
package bench

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"
)

// Scenario names.
const (
	ScenarioEnroll   = "enroll"
	ScenarioIdle     = "idle"
	ScenarioFanout   = "fanout"
	ScenarioDDM      = "ddm"
	ScenarioCampaign = "campaign"
)

// Scenarios lists every scenario name.
var Scenarios = []string{ScenarioEnroll, ScenarioIdle, ScenarioFanout, ScenarioDDM, ScenarioCampaign}

// Options configure one run.
type Options struct {
	Scenario   string
	Devices    int
	Workers    int
	Pool       int // keep-alive connections to the server
	Iterations int
	// ServerURL and APIKey select a running server; empty runs one here.
	ServerURL string
	APIKey    string
	// CADir, with ServerURL, issues device identities from the CA files of
	// that data directory (same machine) instead of enrolling through SCEP.
	CADir string
	// Child runs the server as a child process (Binary serve) so its CPU
	// and memory are measured apart from the bench client.
	Child  bool
	Binary string
	// SCEP enrolls every device through the real SCEP endpoint.
	SCEP bool
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Progress receives one line per phase; nil discards.
	Progress io.Writer
}

// withDefaults fills zero values and refuses impossible combinations.
func (o Options) withDefaults() (Options, error) {
	if !slices.Contains(Scenarios, o.Scenario) {
		return o, fmt.Errorf("--scenario must be one of %v", Scenarios)
	}
	if o.Devices <= 0 {
		return o, fmt.Errorf("--devices must be positive")
	}
	if o.Workers <= 0 {
		o.Workers = 8 * runtime.GOMAXPROCS(0)
	}
	if o.Pool <= 0 {
		o.Pool = o.Workers
	}
	if o.Iterations <= 0 {
		o.Iterations = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ServerURL != "" && o.Child {
		return o, fmt.Errorf("--child runs its own server: it cannot be combined with --server")
	}
	if o.ServerURL != "" && o.APIKey == "" {
		return o, fmt.Errorf("--server needs the admin API key (--api-key)")
	}
	if o.CADir != "" && o.ServerURL == "" {
		return o, fmt.Errorf("--ca-dir only applies with --server")
	}
	if o.CADir != "" && o.SCEP {
		return o, fmt.Errorf("--ca-dir and --scep are alternatives")
	}
	return o, nil
}
