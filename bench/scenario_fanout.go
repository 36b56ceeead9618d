package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// fanoutQueries are what the fan-out's DeviceInformation asks for.
var fanoutQueries = []string{"OSVersion", "BuildVersion", "ProductName", "ModelName", "SerialNumber"}

func (e *env) fanoutUUID(iteration int) string {
	return fmt.Sprintf("BENCH-FAN-%s-%d", e.runID, iteration)
}

// fanout: one DeviceInformation enqueued to the whole fleet through the
// admin API, then every device connects, receives it and acknowledges
// with its facts. Results are verified afterwards.
var fanoutScenario = scenario{
	setup: func(ctx context.Context, e *env) error {
		if err := e.enrolledFleet(ctx); err != nil {
			return err
		}
		var err error
		if e.pre.idle, err = e.presign(ctx, false, func(d *device) []byte { return idleBody(d.udid) }); err != nil {
			return err
		}
		for it := range e.o.Iterations {
			uuid := e.fanoutUUID(it)
			acks, err := e.presign(ctx, false, func(d *device) []byte { return deviceInfoAck(d.udid, uuid, d.index) })
			if err != nil {
				return err
			}
			e.pre.acks = append(e.pre.acks, acks)
		}
		return e.settle(ctx, e.pre.idle)
	},
	measure: func(ctx context.Context, e *env) error {
		var enqueue, drain []float64
		for it := range e.o.Iterations {
			enq, dr, err := e.fanoutOnce(ctx, it)
			if err != nil {
				return err
			}
			enqueue, drain = append(enqueue, ms(enq)), append(drain, dr.Seconds())
		}
		e.res.Extra["enqueue_ms"] = enqueue
		e.res.Extra["drain_seconds"] = drain
		e.res.Notes = append(e.res.Notes, "server CPU includes the enqueue call; requests counts device requests only "+
			"(Idle→command and Acknowledged→empty per device)")
		return nil
	},
	verify: verifyFanoutResults,
}

// fanoutOnce enqueues iteration it's command and drains it.
func (e *env) fanoutOnce(ctx context.Context, it int) (enqueue, drain time.Duration, err error) {
	uuid := e.fanoutUUID(it)
	req := api.EnqueueRequest{Type: mdm.RequestDeviceInformation, UUID: uuid,
		Params: map[string]any{"queries": fanoutQueries}}
	if e.o.ServerURL == "" {
		req.All = true // a fresh server holds only this fleet
	} else {
		for _, d := range e.fleet.devices {
			req.Devices = append(req.Devices, d.udid)
		}
	}
	start := time.Now()
	resp, err := e.api.Enqueue(ctx, req)
	enqueue = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("enqueue: %w", err)
	}
	if len(resp.Devices) != len(e.fleet.devices) {
		return 0, 0, fmt.Errorf("enqueue reached %d devices, the fleet has %d", len(resp.Devices), len(e.fleet.devices))
	}
	want, acks := []byte(uuid), e.pre.acks[it]
	err = forEach(ctx, e.o.Workers, len(e.fleet.devices), func(ctx context.Context, i int) error {
		body, ok := e.step(ctx, &e.pre.idle[i])
		switch {
		case !ok:
		case len(body) == 0:
			e.rec.fail(fmt.Errorf("%s: Idle found an empty queue, %s was enqueued to it", e.fleet.devices[i].udid, uuid))
		case !bytes.Contains(body, want):
			// The server put a command of its own first: the device answers
			// everything, ours included, as a device would.
			e.answerServerCommands(ctx, i)
		default:
			if body, ok = e.step(ctx, &acks[i]); ok && len(body) != 0 {
				e.answerServerCommands(ctx, i)
			}
		}
		return ctx.Err()
	})
	return enqueue, time.Since(start) - enqueue, err
}

// verifyFanoutResults reads every device's result of every iteration back
// through the admin API.
func verifyFanoutResults(ctx context.Context, e *env) error {
	f := e.fleet
	n := len(f.devices)
	err := forEach(ctx, e.o.Workers, n*e.o.Iterations, func(ctx context.Context, j int) error {
		d, uuid := f.devices[j%n], e.fanoutUUID(j/n)
		var res api.Result
		path := "/v1/devices/" + url.PathEscape(d.udid) + "/results/" + url.PathEscape(uuid)
		if err := e.api.Do(ctx, http.MethodGet, path, nil, &res); err != nil {
			return fmt.Errorf("result of %s on %s: %w", uuid, d.udid, err)
		}
		if res.Status != mdm.StatusAcknowledged {
			return fmt.Errorf("result of %s on %s is %q", uuid, d.udid, res.Status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.res.Extra["results_verified"] = n * e.o.Iterations
	return nil
}
