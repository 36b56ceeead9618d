package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/testdata/catalog"
)

// campaign: with the bundled release catalog imported, one policy takes
// the whole fleet to the newest release by a deadline. Rounds of
// reconcile, device sessions (DeclarativeManagement sync, the simulated
// install, status reports) and compliance reads run until every device is
// compliant. It reports the wall time to full compliance and each device's
// time from the policy's creation to reporting the target OS.
var campaignScenario = scenario{
	setup: func(ctx context.Context, e *env) error {
		if e.o.ServerURL != "" {
			return errors.New("the campaign scenario imports a catalog and creates a policy for every device: " +
				"it runs only on a server it starts (in-process or --child), never with --server")
		}
		if err := e.probeCampaign(ctx); err != nil {
			return err
		}
		e.clientSignsWhileMeasured("the simulated devices sync declarations whose content is not known in advance")
		if err := e.enrolledFleet(ctx); err != nil {
			return err
		}
		err := e.api.Do(ctx, http.MethodPost, "/v1/catalog?source=bench", json.RawMessage(catalog.Fixture), nil)
		if err != nil {
			return fmt.Errorf("importing the bundled catalog: %w", err)
		}
		if e.pre.idle, err = e.presign(ctx, false, func(d *device) []byte { return idleBody(d.udid) }); err != nil {
			return err
		}
		return e.settle(ctx, e.pre.idle)
	},
	measure: measureCampaign,
}

// probeCampaign checks this build has policies, on-demand reconcile and a
// compliance view.
func (e *env) probeCampaign(ctx context.Context) error {
	for _, path := range []string{"/v1/policies", "/v1/status"} {
		err := e.api.Do(ctx, http.MethodGet, path, nil, nil)
		var status *api.StatusError
		if errors.As(err, &status) && status.Status == http.StatusNotFound {
			return &UnavailableError{Scenario: ScenarioCampaign, Reason: "this server has no " + path + " (policy enforcement is not part of it)"}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

const (
	campaignPolicyID  = "bench-campaign"
	maxCampaignRounds = 8
)

func measureCampaign(ctx context.Context, e *env) error {
	deadline := time.Now().Add(2 * time.Hour).Truncate(time.Minute)
	policy := fmt.Sprintf(`{"id":%q,"name":"bench campaign","scope":{"all":true},"target":{"kind":"latest"},`+
		`"deadline":{"local_date_time":%q}}`, campaignPolicyID, deadline.Format("2006-01-02T15:04:05"))
	start := time.Now()
	if err := e.api.Do(ctx, http.MethodPut, "/v1/policies/"+campaignPolicyID, json.RawMessage(policy), nil); err != nil {
		return fmt.Errorf("creating the campaign policy: %w", err)
	}
	c := &campaign{e: e, start: start, deadline: deadline, reached: make([]time.Duration, len(e.fleet.devices))}
	for i := range e.fleet.sims {
		c.initial = append(c.initial, e.fleet.sims[i].Attributes().OSVersion)
	}
	for c.rounds = 1; c.rounds <= maxCampaignRounds; c.rounds++ {
		done, err := c.checkCompliance(ctx)
		if err != nil || done {
			return errors.Join(err, c.report())
		}
		c.sessions(ctx)
	}
	c.rounds--
	e.rec.fail(fmt.Errorf("%d of %d devices compliant after %d rounds", c.compliant, len(c.reached), c.rounds))
	return c.report()
}

type campaign struct {
	e         *env
	start     time.Time
	deadline  time.Time
	initial   []string
	reached   []time.Duration // per device: policy created → target OS reported
	reconcile []float64       // ms per reconcile pass
	// reconcileCPU is the server's CPU seconds during each pass.
	reconcileCPU []float64
	rounds       int
	compliant    int
	wall         time.Duration
}

// checkCompliance runs a reconcile pass and reads the policy's summary.
func (c *campaign) checkCompliance(ctx context.Context) (bool, error) {
	t := time.Now()
	u0, err0 := c.e.t.usage(ctx)
	if err := c.e.api.Do(ctx, http.MethodPost, "/v1/reconcile", nil, nil); err != nil {
		return false, fmt.Errorf("reconcile: %w", err)
	}
	c.reconcile = append(c.reconcile, ms(time.Since(t)))
	if u1, err1 := c.e.t.usage(ctx); err0 == nil && err1 == nil {
		c.reconcileCPU = append(c.reconcileCPU, u1.CPUSeconds-u0.CPUSeconds)
	}
	var st []reconcile.PolicyStatus
	if err := c.e.api.Do(ctx, http.MethodGet, "/v1/status?policy="+url.QueryEscape(campaignPolicyID), nil, &st); err != nil {
		return false, fmt.Errorf("compliance: %w", err)
	}
	if len(st) != 1 {
		return false, fmt.Errorf("compliance: %d policies in the answer", len(st))
	}
	c.compliant = st[0].Summary.Compliant
	if c.compliant < len(c.reached) {
		return false, nil
	}
	c.wall = time.Since(c.start)
	return true, nil
}

// sessions lets every device not on the target yet connect, sync, move
// its simulated clock past the deadline (the install) and report.
func (c *campaign) sessions(ctx context.Context) {
	e := c.e
	_ = forEach(ctx, e.o.Workers, len(c.reached), func(ctx context.Context, i int) error {
		if c.reached[i] != 0 {
			return nil
		}
		if _, err := e.fleet.sims[i].Connect(ctx, maxServerCommands); err != nil {
			e.rec.fail(fmt.Errorf("%s: %w", e.fleet.devices[i].udid, err))
			return ctx.Err()
		}
		if err := e.fleet.ddm[i].AdvanceTo(ctx, c.deadline.Add(time.Minute)); err != nil {
			e.rec.fail(fmt.Errorf("%s status report: %w", e.fleet.devices[i].udid, err))
		}
		if e.fleet.sims[i].Attributes().OSVersion != c.initial[i] {
			c.reached[i] = time.Since(c.start)
		}
		return ctx.Err()
	})
}

func (c *campaign) report() error {
	var reached []time.Duration
	for _, d := range c.reached {
		if d != 0 {
			reached = append(reached, d)
		}
	}
	x := c.e.res.Extra
	x["campaign_rounds"] = c.rounds
	x["campaign_compliant"] = c.compliant
	x["campaign_reconcile_ms"] = c.reconcile
	x["campaign_reconcile_cpu_seconds"] = c.reconcileCPU
	x["device_time_to_target_ms"] = Summarize(reached)
	x["devices_on_target"] = len(reached)
	if c.wall > 0 {
		x["time_to_full_compliance_seconds"] = c.wall.Seconds()
	}
	c.e.res.Notes = append(c.e.res.Notes, "server CPU includes the reconcile passes and compliance reads; "+
		"requests counts device requests only")
	return nil
}
