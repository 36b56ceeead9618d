package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/sim"
)

// device is one simulated device of the fleet.
type device struct {
	index int
	udid  string
	cert  *x509.Certificate
	key   *rsa.PrivateKey
}

// fleet is the simulated devices and where they talk to. devices carry
// what pre-signed requests need; sims are the same devices as sim.Device,
// which answer whatever the server queues on its own.
type fleet struct {
	devices            []device
	sims               []*sim.Device
	ddm                []*sim.DDM
	mdmURL, checkinURL string
	topic              string
}

// sharedKeyCount RSA keys are shared by the fleet: generating one per
// device would dominate set-up. Every device still has its own
// certificate, and the server binds certificates, not keys.
const sharedKeyCount = 4

func newFleet(n int, runID, baseURL, topic string) (*fleet, error) {
	keys := make([]*rsa.PrivateKey, sharedKeyCount)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	f := &fleet{devices: make([]device, n), sims: make([]*sim.Device, n), ddm: make([]*sim.DDM, n), mdmURL: baseURL + "/mdm", checkinURL: baseURL + "/mdm/checkin", topic: topic}
	for i := range f.devices {
		f.devices[i] = device{index: i, udid: fmt.Sprintf("BENCH-%s-%07d", runID, i), key: keys[i%len(keys)]}
	}
	return f, nil
}

// issueDirect gives device i a certificate straight from the CA.
func (f *fleet) issueDirect(ca *certs.CA, i int) error {
	d := &f.devices[i]
	cert, err := ca.IssueDirect(&d.key.PublicKey, d.udid, 30*24*time.Hour)
	if err != nil {
		return fmt.Errorf("issuing an identity for %s: %w", d.udid, err)
	}
	d.cert = cert
	return nil
}

// enrollSCEP gets device i its certificate through the SCEP endpoint.
func (f *fleet) enrollSCEP(ctx context.Context, hc *http.Client, scepURL string, challenge func(context.Context) (string, error), i int) error {
	d := &f.devices[i]
	ch, err := challenge(ctx)
	if err != nil {
		return fmt.Errorf("SCEP challenge for %s: %w", d.udid, err)
	}
	cert, err := sim.SCEPEnroll(ctx, hc, scepURL, ch, d.udid, d.key)
	if err != nil {
		return fmt.Errorf("SCEP for %s: %w", d.udid, err)
	}
	d.cert = cert
	return nil
}

// signedRequest is a device request signed ahead of time, so sending it
// costs the client only HTTP.
type signedRequest struct {
	url, sig string
	body     []byte
	checkin  bool
}

func (f *fleet) sign(d *device, checkin bool, body []byte) (signedRequest, error) {
	sig, err := certs.SignMdmBody(d.cert, d.key, body, false)
	if err != nil {
		return signedRequest{}, fmt.Errorf("signing for %s: %w", d.udid, err)
	}
	url := f.mdmURL
	if checkin {
		url = f.checkinURL
	}
	return signedRequest{url: url, sig: sig, body: body, checkin: checkin}, nil
}

// send delivers the request and returns the status and body.
func (r *signedRequest) send(ctx context.Context, hc *http.Client) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, r.url, bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Mdm-Signature", r.sig)
	if r.checkin {
		req.Header.Set("Content-Type", "application/x-apple-aspen-mdm-checkin")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, body, err
}

// expectOK sends and fails on any status but 200.
func (r *signedRequest) expectOK(ctx context.Context, hc *http.Client) ([]byte, error) {
	status, body, err := r.send(ctx, hc)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return body, fmt.Errorf("%s: HTTP %d: %s", r.url, status, bytes.TrimSpace(body))
	}
	return body, nil
}

// forEach calls fn for every i in [0, n) on workers goroutines. The first
// error stops the others and is returned.
func forEach(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}
