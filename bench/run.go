package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/server"
)

// UnavailableError says this build cannot run a scenario (its service is
// not part of the server yet).
type UnavailableError struct{ Scenario, Reason string }

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("scenario %s is not available in this build: %s", e.Scenario, e.Reason)
}

// scenario is one workload: set-up (not measured), the measured phase,
// and checks of what the server stored (not measured).
type scenario struct {
	setup   func(ctx context.Context, e *env) error
	measure func(ctx context.Context, e *env) error
	verify  func(ctx context.Context, e *env) error
}

var scenarios = map[string]scenario{
	ScenarioEnroll:   enrollScenario,
	ScenarioIdle:     idleScenario,
	ScenarioFanout:   fanoutScenario,
	ScenarioDDM:      ddmScenario,
	ScenarioCampaign: campaignScenario,
}

// env is what a scenario works with.
type env struct {
	o     Options
	t     *target
	hc    *http.Client // device traffic, timed while the recorder is on
	api   *api.Client  // admin traffic, never mixed into device latencies
	rec   *recorder
	fleet *fleet
	pre   presigned
	runID string
	res   *Result
	// serverCommands counts commands the server queued on its own that
	// devices answered in the measured phase.
	serverCommands atomic.Int64
}

// presigned holds device requests signed during set-up, one per device
// (acks: one slice per fan-out iteration; ddm: each device's sync sequence).
type presigned struct {
	auth, token, idle []signedRequest
	acks, ddm         [][]signedRequest
}

func (e *env) logf(format string, a ...any) {
	fmt.Fprintf(e.o.Progress, "bench: "+format+"\n", a...)
}

// Run runs one scenario and reports what it measured. A scenario this
// build cannot run comes back as a Result with Available false and an
// *UnavailableError.
func Run(ctx context.Context, o Options) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	res := &Result{Scenario: o.Scenario, Available: true, Devices: o.Devices, Workers: o.Workers,
		Pool: o.Pool, Iterations: o.Iterations, Extra: map[string]any{}}
	rec := &recorder{}
	plain := &http.Client{Timeout: 5 * time.Minute}
	t, err := openTarget(ctx, o, plain)
	if err != nil {
		return nil, err
	}
	e := &env{o: o, t: t, hc: newHTTPClient(o.Pool, rec), api: api.NewClient(t.url, t.apiKey, plain),
		rec: rec, runID: randomToken()[:8], res: res}
	res.Server, res.CPUSource = t.where, t.cpuSource
	err = runPhases(ctx, e, scenarios[o.Scenario])
	if closeErr := t.close(); closeErr != nil && err == nil {
		err = fmt.Errorf("stopping the server: %w", closeErr)
	}
	var unavailable *UnavailableError
	if errors.As(err, &unavailable) {
		return &Result{Scenario: o.Scenario, Reason: unavailable.Reason}, err
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func runPhases(ctx context.Context, e *env, sc scenario) error {
	start := time.Now()
	if err := sc.setup(ctx, e); err != nil {
		return err
	}
	e.res.SetupSeconds = time.Since(start).Seconds()
	before, usageErr := e.t.usage(ctx)
	e.logf("measured phase starts")
	e.rec.start()
	start = time.Now()
	err := sc.measure(ctx, e)
	wall := time.Since(start)
	e.rec.stop()
	after, usageErr2 := e.t.usage(ctx)
	if err != nil {
		return err
	}
	e.logf("measured phase took %s", wall.Round(time.Millisecond))
	fillMeasurements(e, wall, before, after, errors.Join(usageErr, usageErr2))
	if n := e.serverCommands.Load(); n > 0 {
		e.res.Extra["server_queued_commands_answered"] = n
		e.res.Notes = append(e.res.Notes, "the server queued commands of its own during the measured phase; "+
			"devices answered them (signed as they came) and those requests are counted")
	}
	if sc.verify != nil {
		if err := sc.verify(ctx, e); err != nil {
			e.res.Errors++
			e.res.ErrorSamples = append(e.res.ErrorSamples, "verification: "+err.Error())
		}
	}
	return nil
}

func fillMeasurements(e *env, wall time.Duration, before, after server.Metrics, usageErr error) {
	r := e.res
	r.Requests, r.Errors = e.rec.requests.Load(), e.rec.errors.Load()
	r.ErrorSamples = append(r.ErrorSamples, e.rec.errSeen...)
	r.WallSeconds = wall.Seconds()
	if wall > 0 {
		r.Throughput = float64(r.Requests) / wall.Seconds()
	}
	r.Latency = Summarize(e.rec.samples)
	if usageErr != nil {
		r.Notes = append(r.Notes, "server accounting unavailable: "+usageErr.Error())
		return
	}
	r.CPUAvailable = true
	r.ServerCPU, r.ServerCPUTotal = after.CPUSeconds-before.CPUSeconds, after.CPUSeconds
	if r.Requests > 0 {
		r.CPUPerRequest = r.ServerCPU * 1000 / float64(r.Requests)
	}
	r.RSSBytes, r.PeakRSSBytes, r.RSSAnonBytes = after.RSSBytes, after.PeakRSSBytes, after.RSSAnonBytes
	r.DBSizeBytes = after.DBSizeBytes
}
