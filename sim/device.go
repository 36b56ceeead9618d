// Package sim simulates Apple devices that enroll through SCEP and speak
// MDM and DDM over real HTTP, signing every request like a device does.
// Tests, the demo and benchmarks drive fleets of them.
package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/tidemark-mdm/tidemark/certs"
)

// Attributes describe the simulated hardware and software.
type Attributes struct {
	UDID         string
	SerialNumber string
	Platform     string // macOS, iOS, iPadOS
	OSVersion    string
	BuildVersion string
	ProductName  string // e.g. MacBookPro18,1 or iPhone15,2
	ModelName    string
	DeviceName   string
	Supervised   bool
	AppleSilicon bool
	// BootstrapRequired mirrors SecurityInfo's
	// BootstrapTokenRequiredForSoftwareUpdate.
	BootstrapRequired      bool
	BatteryLevel           float64 // 0..1; macOS desktops report -1 (no battery)
	OnPower                bool
	FreeGB                 float64
	CapacityGB             float64
	SoftwareUpdateDeviceID string
	SupplementalBuild      string
	SupplementalExtra      string
}

// Device is one simulated device. Methods are safe for concurrent use, but
// a device speaks one request at a time like a real one.
type Device struct {
	mu    sync.Mutex
	attrs Attributes
	key   *rsa.PrivateKey
	cert  *x509.Certificate
	hc    *http.Client

	serverURL, checkinURL, topic string
	pushMagic                    string
	pushToken                    []byte
	bootstrap                    []byte

	responders map[string]Responder
	notNow     map[string]bool
	received   []ReceivedCommand
}

// ReceivedCommand records a command the device was given and its answer.
type ReceivedCommand struct {
	UUID, RequestType, Status string
}

// Option configures a Device.
type Option func(*Device)

// WithKey reuses an RSA key (tests share a few keys to stay fast; each
// device still gets its own certificate).
func WithKey(k *rsa.PrivateKey) Option { return func(d *Device) { d.key = k } }

// WithHTTPClient sets the HTTP client (keep-alive pools, TLS trust).
func WithHTTPClient(hc *http.Client) Option { return func(d *Device) { d.hc = hc } }

// New builds a device; the default key is a fresh RSA-2048 key as a real
// device generates for SCEP.
func New(a Attributes, opts ...Option) (*Device, error) {
	d := &Device{attrs: a, hc: http.DefaultClient, responders: map[string]Responder{}, notNow: map[string]bool{}}
	for _, o := range opts {
		o(d)
	}
	if d.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		d.key = k
	}
	if d.attrs.UDID == "" {
		return nil, fmt.Errorf("sim: device needs a UDID")
	}
	d.pushToken = []byte("sim-token-" + a.UDID)
	d.pushMagic = "magic-" + a.UDID
	d.installDefaultResponders()
	return d, nil
}

// Attributes returns a copy of the current attributes.
func (d *Device) Attributes() Attributes {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attrs
}

// Update changes attributes (battery charged, OS updated…).
func (d *Device) Update(f func(a *Attributes)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.attrs)
}

// UDID is the device's id.
func (d *Device) UDID() string { return d.attrs.UDID }

// Identity returns the device certificate and key.
func (d *Device) Identity() (*x509.Certificate, *rsa.PrivateKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cert, d.key
}

// SetIdentity replaces the identity (tests: another device's certificate).
func (d *Device) SetIdentity(cert *x509.Certificate, key *rsa.PrivateKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cert, d.key = cert, key
}

// Received lists the commands answered so far.
func (d *Device) Received() []ReceivedCommand {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]ReceivedCommand(nil), d.received...)
}

// Enroll reads the enrollment profile, gets a certificate through SCEP and
// sends Authenticate then TokenUpdate.
func (d *Device) Enroll(ctx context.Context, profile []byte) error {
	p, err := parseProfile(profile)
	if err != nil {
		return err
	}
	cert, err := SCEPEnroll(ctx, d.hc, p.SCEPURL, p.Challenge, d.attrs.UDID, d.key)
	if err != nil {
		return fmt.Errorf("sim %s: SCEP: %w", d.attrs.UDID, err)
	}
	d.mu.Lock()
	d.cert, d.serverURL, d.checkinURL, d.topic = cert, p.ServerURL, p.CheckInURL, p.Topic
	d.mu.Unlock()
	return d.EnrollWithIdentity(ctx, cert, p.ServerURL, p.CheckInURL, p.Topic)
}

// EnrollWithIdentity skips SCEP: benchmarks issue identities straight from
// the CA because client-side key generation would dominate.
func (d *Device) EnrollWithIdentity(ctx context.Context, cert *x509.Certificate, serverURL, checkinURL, topic string) error {
	d.mu.Lock()
	d.cert, d.serverURL, d.checkinURL, d.topic = cert, serverURL, checkinURL, topic
	d.mu.Unlock()
	if err := d.Authenticate(ctx); err != nil {
		return err
	}
	return d.TokenUpdate(ctx)
}

// Response is a server answer.
type Response struct {
	Status      int
	Body        []byte
	ContentType string
}

// SignOptions make a request misbehave on purpose.
type SignOptions struct {
	// TamperAfterSign changes the body after the signature was made.
	TamperAfterSign bool
	// Signature replaces the Mdm-Signature header ("-" sends none).
	Signature string
	// SHA256 signs with SHA-256 instead of the SHA-1 devices use today.
	SHA256 bool
}

// Do sends a signed request to the check-in (checkin=true) or server URL.
func (d *Device) Do(ctx context.Context, checkin bool, body []byte, so SignOptions) (*Response, error) {
	d.mu.Lock()
	cert, key := d.cert, d.key
	url, ctype := d.serverURL, ""
	if checkin {
		url, ctype = d.checkinURL, "application/x-apple-aspen-mdm-checkin"
	}
	d.mu.Unlock()
	if url == "" {
		return nil, fmt.Errorf("sim %s: not enrolled (no server URL)", d.attrs.UDID)
	}
	sig := so.Signature
	if sig == "" {
		var err error
		if sig, err = certs.SignMdmBody(cert, key, body, so.SHA256); err != nil {
			return nil, err
		}
	}
	if so.TamperAfterSign {
		body = bytes.Replace(append([]byte(nil), body...), []byte("</dict>"), []byte("<key>X</key><string>y</string></dict>"), 1)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if sig != "-" {
		req.Header.Set("Mdm-Signature", sig)
	}
	req.Header.Set("User-Agent", "MDM/1.0 tidemark-sim")
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Body: data, ContentType: resp.Header.Get("Content-Type")}, nil
}

// StatusError is a non-200 answer to a device request.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("server answered %d: %s", e.Status, strings.TrimSpace(e.Body))
}

func (d *Device) expectOK(ctx context.Context, checkin bool, body []byte) (*Response, error) {
	resp, err := d.Do(ctx, checkin, body, SignOptions{})
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return resp, &StatusError{Status: resp.Status, Body: string(resp.Body)}
	}
	return resp, nil
}
