package bench

import (
	"context"
	"fmt"
	"net/http"
)

// step sends a pre-signed request in the measured phase. It returns false
// when the device's flow must stop; failed requests are already counted
// by the timing transport.
func (e *env) step(ctx context.Context, r *signedRequest) ([]byte, bool) {
	status, body, err := r.send(ctx, e.hc)
	if err != nil || status != http.StatusOK {
		return nil, false
	}
	return body, true
}

// enroll: Authenticate + TokenUpdate per device (and SCEP with --scep).
var enrollScenario = scenario{
	setup: func(ctx context.Context, e *env) error {
		if err := e.prepareFleet(ctx); err != nil {
			return err
		}
		if !e.directIdentities() {
			e.describeIdentities()
			e.res.Notes = append(e.res.Notes, "SCEP is part of the measured phase; the device side "+
				"(CSR, CMS envelope, request signing) runs then too")
			e.clientSignsWhileMeasured("nothing can be signed ahead of SCEP")
			return nil
		}
		if err := e.issueIdentities(ctx); err != nil {
			return err
		}
		f := e.fleet
		var err error
		if e.pre.auth, err = e.presign(ctx, true, func(d *device) []byte { return authenticateBody(d.udid, f.topic, d.index) }); err != nil {
			return err
		}
		e.pre.token, err = e.presign(ctx, true, func(d *device) []byte { return tokenUpdateBody(d.udid, f.topic) })
		return err
	},
	measure: func(ctx context.Context, e *env) error {
		f := e.fleet
		return forEach(ctx, e.o.Workers, len(f.devices), func(ctx context.Context, i int) error {
			auth, token, err := e.enrollRequests(ctx, i)
			if err != nil {
				e.rec.fail(err)
				return ctx.Err()
			}
			if _, ok := e.step(ctx, &auth); ok {
				e.step(ctx, &token)
			}
			return ctx.Err()
		})
	},
	verify: verifyEnrolled,
}

// enrollRequests returns device i's signed Authenticate and TokenUpdate,
// getting it a certificate through SCEP first when identities are not
// issued directly.
func (e *env) enrollRequests(ctx context.Context, i int) (signedRequest, signedRequest, error) {
	if e.directIdentities() {
		return e.pre.auth[i], e.pre.token[i], nil
	}
	f := e.fleet
	if err := f.enrollSCEP(ctx, e.hc, e.t.url+"/scep", e.t.challenge, i); err != nil {
		return signedRequest{}, signedRequest{}, err
	}
	d := &f.devices[i]
	auth, err := f.sign(d, true, authenticateBody(d.udid, f.topic, d.index))
	if err != nil {
		return auth, auth, err
	}
	token, err := f.sign(d, true, tokenUpdateBody(d.udid, f.topic))
	return auth, token, err
}

// verifyEnrolled checks through the admin API that every device is
// enrolled.
func verifyEnrolled(ctx context.Context, e *env) error {
	f := e.fleet
	err := forEach(ctx, e.o.Workers, len(f.devices), func(ctx context.Context, i int) error {
		d, err := e.api.Device(ctx, f.devices[i].udid)
		if err != nil {
			return fmt.Errorf("device %s: %w", f.devices[i].udid, err)
		}
		if !d.Enrolled {
			return fmt.Errorf("device %s is not enrolled", d.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.res.Extra["devices_verified_enrolled"] = len(f.devices)
	return nil
}
