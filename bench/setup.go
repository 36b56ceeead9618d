package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/tidemark-mdm/tidemark/enrollprofile"
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

// enrollFleet sends Authenticate and TokenUpdate for every device.
func (e *env) enrollFleet(ctx context.Context) error {
	f, n := e.fleet, len(e.fleet.devices)
	start := time.Now()
	e.logf("enrolling %d devices (Authenticate, TokenUpdate)", n)
	err := forEach(ctx, e.o.Workers, n, func(ctx context.Context, i int) error {
		d := &f.devices[i]
		for _, body := range [][]byte{authenticateBody(d.udid, f.topic, d.index), tokenUpdateBody(d.udid, f.topic)} {
			r, err := f.sign(d, true, body)
			if err != nil {
				return err
			}
			if _, err := r.expectOK(ctx, e.hc); err != nil {
				return fmt.Errorf("enrolling %s: %w", d.udid, err)
			}
		}
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

// warmUp sends every request once, unmeasured, so connections are open
// and the server's certificate cache is filled as in steady state.
func (e *env) warmUp(ctx context.Context, reqs []signedRequest) error {
	e.logf("warm-up: %d requests, not measured", len(reqs))
	return forEach(ctx, e.o.Workers, len(reqs), func(ctx context.Context, i int) error {
		_, err := reqs[i].expectOK(ctx, e.hc)
		return err
	})
}
