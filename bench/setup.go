package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tidemark-mdm/tidemark/enrollprofile"
	"github.com/tidemark-mdm/tidemark/sim"
)

// prepareFleet builds the fleet: URLs, topic and shared keys.
func (e *env) prepareFleet(ctx context.Context) error {
	topic, err := e.topic(ctx)
	if err != nil {
		return err
	}
	f, err := newFleet(e.o.Devices, e.runID, e.t.url, topic)
	if err != nil {
		return err
	}
	e.fleet = f
	return nil
}

// topic is the push topic devices send, from the server's enrollment
// profile (a server without a static challenge only renders one-time ones).
func (e *env) topic(ctx context.Context) (string, error) {
	prof, err := e.api.EnrollmentProfile(ctx, false)
	if err != nil {
		if prof, err = e.api.EnrollmentProfile(ctx, true); err != nil {
			return "", fmt.Errorf("fetching the enrollment profile: %w", err)
		}
	}
	p, err := enrollprofile.ParseForSim(prof)
	if err != nil {
		return "", err
	}
	return p.Topic, nil
}

// directIdentities reports whether devices get certificates from the CA
// in this process rather than through SCEP.
func (e *env) directIdentities() bool { return e.t.ca != nil && !e.o.SCEP }

func (e *env) describeIdentities() {
	if e.directIdentities() {
		e.res.Identities = fmt.Sprintf("issued straight from the server's CA in this process, no SCEP "+
			"(client-side RSA work would dominate); %d shared RSA-2048 keys, one certificate per device", sharedKeyCount)
		return
	}
	e.res.Identities = fmt.Sprintf("enrolled through the server's /scep endpoint; %d shared RSA-2048 keys, "+
		"one certificate per device", sharedKeyCount)
}

// issueIdentities gives every device a certificate (set-up).
func (e *env) issueIdentities(ctx context.Context) error {
	e.describeIdentities()
	f, n := e.fleet, len(e.fleet.devices)
	start := time.Now()
	var err error
	if e.directIdentities() {
		e.logf("issuing %d identities from the CA", n)
		err = forEach(ctx, runtime.GOMAXPROCS(0), n, func(ctx context.Context, i int) error {
			return f.issueDirect(e.t.ca, i)
		})
	} else {
		e.logf("enrolling %d identities through SCEP", n)
		err = forEach(ctx, e.o.Workers, n, func(ctx context.Context, i int) error {
			return f.enrollSCEP(ctx, e.hc, e.t.url+"/scep", e.t.challenge, i)
		})
	}
	e.logf("identities ready in %s", time.Since(start).Round(time.Millisecond))
	return err
}

// enrollFleet enrolls every device as sim.Device: Authenticate and
// TokenUpdate, signed by the simulator.
func (e *env) enrollFleet(ctx context.Context) error {
	f, n := e.fleet, len(e.fleet.devices)
	start := time.Now()
	e.logf("enrolling %d devices (Authenticate, TokenUpdate)", n)
	err := forEach(ctx, e.o.Workers, n, func(ctx context.Context, i int) error {
		d := &f.devices[i]
		s, err := sim.New(attributesOf(d.udid, d.index), sim.WithKey(d.key), sim.WithHTTPClient(e.hc))
		if err != nil {
			return err
		}
		// Current OS versions speak DDM: the device syncs when the server
		// sends it a DeclarativeManagement command.
		f.ddm[i] = sim.EnableDDM(s, sim.DDMOptions{Clock: time.Now()})
		if err := s.EnrollWithIdentity(ctx, d.cert, f.mdmURL, f.checkinURL, f.topic); err != nil {
			return fmt.Errorf("enrolling %s: %w", d.udid, err)
		}
		f.sims[i] = s
		return nil
	})
	e.logf("fleet enrolled in %s", time.Since(start).Round(time.Millisecond))
	return err
}

// enrolledFleet is the common set-up: identities, then enrollment.
func (e *env) enrolledFleet(ctx context.Context) error {
	if err := e.prepareFleet(ctx); err != nil {
		return err
	}
	if err := e.issueIdentities(ctx); err != nil {
		return err
	}
	return e.enrollFleet(ctx)
}

// presign signs one body per device before the measured phase.
func (e *env) presign(ctx context.Context, checkin bool, body func(d *device) []byte) ([]signedRequest, error) {
	f := e.fleet
	out := make([]signedRequest, len(f.devices))
	err := forEach(ctx, runtime.GOMAXPROCS(0), len(out), func(ctx context.Context, i int) error {
		var err error
		out[i], err = f.sign(&f.devices[i], checkin, body(&f.devices[i]))
		return err
	})
	return out, err
}

// Settling bounds: rounds of Idle and the pause that lets the server's
// asynchronous workers (enforcement, DDM sync) queue their follow-ups.
const (
	maxSettleRounds   = 6
	settlePause       = time.Second
	maxServerCommands = 50
)

// settle sends every device's pre-signed Idle, unmeasured, until a whole
// round finds every queue empty. The server queues commands of its own
// after enrollment and after results (facts, DDM sync); the devices answer
// them as devices do. It also opens the connections and fills the
// server's certificate cache, as in steady state.
func (e *env) settle(ctx context.Context, idle []signedRequest) error {
	for round := 1; round <= maxSettleRounds; round++ {
		var answered atomic.Int64
		err := forEach(ctx, e.o.Workers, len(idle), func(ctx context.Context, i int) error {
			body, err := idle[i].expectOK(ctx, e.hc)
			if err != nil || len(body) == 0 {
				return err
			}
			n, err := e.fleet.sims[i].Connect(ctx, maxServerCommands)
			answered.Add(int64(n))
			return err
		})
		if err != nil {
			return fmt.Errorf("settling the fleet: %w", err)
		}
		e.logf("settle round %d: devices answered %d commands the server queued itself", round, answered.Load())
		if answered.Load() == 0 {
			return nil
		}
		e.res.Notes = appendOnce(e.res.Notes, "before the measured phase the devices answered the commands the "+
			"server queued on its own after enrollment (unmeasured)")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(settlePause):
		}
	}
	return fmt.Errorf("the server still queued commands after %d rounds of Idle", maxSettleRounds)
}

// answerServerCommands lets device i answer, as a device would, commands
// the server queued on its own during the measured phase; they are signed
// as they come and counted apart.
func (e *env) answerServerCommands(ctx context.Context, i int) {
	n, err := e.fleet.sims[i].Connect(ctx, maxServerCommands)
	e.serverCommands.Add(int64(n))
	if err != nil {
		e.rec.fail(fmt.Errorf("%s answering the server's own commands: %w", e.fleet.devices[i].udid, err))
	}
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// clientSignsWhileMeasured says, when the bench shares the process with
// the server, that the client's signing is inside the CPU figures.
func (e *env) clientSignsWhileMeasured(why string) {
	if e.o.ServerURL == "" && !e.o.Child {
		e.res.CPUSource = "getrusage of the bench process: server and bench client together, including the " +
			"client's signing in the measured phase (" + why + "); use --child for the server alone"
	}
}
