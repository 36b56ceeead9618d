package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
)

// Result is what one scenario run measured. JSON field names are part of
// the contract: BENCHMARKS.md and scripts read them.
type Result struct {
	Scenario string `json:"scenario"`
	// Available is false when this build cannot run the scenario; Reason
	// then says why and nothing else is filled in.
	Available  bool   `json:"available"`
	Reason     string `json:"reason,omitempty"`
	Devices    int    `json:"devices"`
	Workers    int    `json:"workers"`
	Pool       int    `json:"pool"`
	Iterations int    `json:"iterations"`
	// Server says where the server ran; Identities how devices got theirs;
	// CPUSource what the CPU figures include.
	Server     string `json:"server"`
	Identities string `json:"identities"`
	CPUSource  string `json:"cpu_source"`

	Requests      int64        `json:"requests"`
	Errors        int64        `json:"errors"`
	ErrorSamples  []string     `json:"error_samples,omitempty"`
	WallSeconds   float64      `json:"wall_seconds"`
	Throughput    float64      `json:"throughput_rps"`
	Latency       LatencyStats `json:"latency_ms"`
	SetupSeconds  float64      `json:"setup_seconds"`
	ServerCPU     float64      `json:"server_cpu_seconds"`
	CPUPerRequest float64      `json:"server_cpu_ms_per_request"`
	// CPUAvailable is false when the server's accounting could not be read
	// (a running server without the metrics endpoint).
	CPUAvailable bool `json:"server_cpu_available"`
	// ServerCPUTotal is the server process's CPU since it started, read at
	// the end of the measured phase (set-up included): compare it with
	// /usr/bin/time of the server.
	ServerCPUTotal float64 `json:"server_cpu_total_seconds"`
	RSSBytes       int64   `json:"rss_bytes"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	// RSSAnonBytes is the part of RSSBytes that is the server's own memory;
	// the rest is pages of the mapped database file.
	RSSAnonBytes int64 `json:"rss_anon_bytes"`
	DBSizeBytes  int64 `json:"db_size_bytes"`
	// Extra holds scenario figures (enqueue time, results verified…).
	Extra map[string]any `json:"extra,omitempty"`
	Notes []string       `json:"notes,omitempty"`
}

// WriteJSON prints r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText prints r for a person.
func (r *Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	p("scenario", "%s", r.Scenario)
	if !r.Available {
		p("result", "not available in this build: %s", r.Reason)
		return tw.Flush()
	}
	p("devices / workers / pool", "%d / %d / %d", r.Devices, r.Workers, r.Pool)
	p("iterations", "%d", r.Iterations)
	p("server", "%s", r.Server)
	p("identities", "%s", r.Identities)
	p("setup", "%.2f s (not measured)", r.SetupSeconds)
	p("requests", "%d in %.3f s (%.0f req/s)", r.Requests, r.WallSeconds, r.Throughput)
	p("errors", "%d", r.Errors)
	l := r.Latency
	p("latency ms", "p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f", l.P50, l.P90, l.P99, l.Max, l.Mean)
	if r.CPUAvailable {
		p("server CPU", "%.3f s, %.4f ms per request (%.2f s since the server started)", r.ServerCPU, r.CPUPerRequest, r.ServerCPUTotal)
	} else {
		p("server CPU", "unavailable")
	}
	p("CPU measured as", "%s", r.CPUSource)
	p("RSS / peak RSS", "%s / %s (anonymous %s, the rest mapped database pages)", mib(r.RSSBytes), mib(r.PeakRSSBytes), mib(r.RSSAnonBytes))
	p("database size", "%s", mib(r.DBSizeBytes))
	for _, k := range slices.Sorted(maps.Keys(r.Extra)) {
		if l, ok := r.Extra[k].(LatencyStats); ok {
			p(k, "p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f", l.P50, l.P90, l.P99, l.Max, l.Mean)
			continue
		}
		p(k, "%v", r.Extra[k])
	}
	for _, s := range r.ErrorSamples {
		p("error", "%s", s)
	}
	for _, n := range r.Notes {
		p("note", "%s", n)
	}
	return tw.Flush()
}

func mib(b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
