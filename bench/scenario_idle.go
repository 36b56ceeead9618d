package bench

import (
	"context"
	"fmt"
	"time"
)

// lastSeenGap outlasts the server's last-seen resolution (one minute in
// mdm/httpmdm): after it, a device's next connect records when it was
// seen, as every check-in of a device that connects a few times a day
// does. Connects within the minute skip that write.
// A variable so the package's tests need not wait a minute.
var lastSeenGap = 61 * time.Second

// idle: signed Idle connects with an empty queue. The first round comes
// after lastSeenGap (each connect writes last-seen); further iterations
// follow at once (no write). Each is also reported on its own.
var idleScenario = scenario{
	setup: func(ctx context.Context, e *env) error {
		if err := e.enrolledFleet(ctx); err != nil {
			return err
		}
		var err error
		if e.pre.idle, err = e.presign(ctx, false, func(d *device) []byte { return idleBody(d.udid) }); err != nil {
			return err
		}
		if err := e.settle(ctx, e.pre.idle); err != nil {
			return err
		}
		e.logf("waiting %s so each device's first measured connect records last-seen", lastSeenGap)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(lastSeenGap):
			return nil
		}
	},
	measure: func(ctx context.Context, e *env) error {
		n := len(e.pre.idle)
		connect := func(ctx context.Context, j int) {
			if body, ok := e.step(ctx, &e.pre.idle[j%n]); ok && len(body) != 0 {
				e.answerServerCommands(ctx, j%n)
			}
		}
		if err := e.subPhase(ctx, "idle_first", n, connect); err != nil {
			return err
		}
		if e.o.Iterations > 1 {
			return e.subPhase(ctx, "idle_repeat", n*(e.o.Iterations-1), connect)
		}
		return nil
	},
}

// subPhase runs fn for j in [0, count) inside the measured phase and
// reports that part's requests and server CPU per request in Extra under
// name_requests and name_cpu_ms_per_request.
func (e *env) subPhase(ctx context.Context, name string, count int, fn func(ctx context.Context, j int)) error {
	u0, err0 := e.t.usage(ctx)
	r0 := e.rec.requests.Load()
	err := forEach(ctx, e.o.Workers, count, func(ctx context.Context, j int) error {
		fn(ctx, j)
		return ctx.Err()
	})
	u1, err1 := e.t.usage(ctx)
	reqs := e.rec.requests.Load() - r0
	e.res.Extra[name+"_requests"] = reqs
	if err0 == nil && err1 == nil && reqs > 0 {
		e.res.Extra[name+"_cpu_ms_per_request"] = (u1.CPUSeconds - u0.CPUSeconds) * 1000 / float64(reqs)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
