package push

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// APNs endpoints. MDM pushes always go to production; the sandbox is
// listed for completeness and test rigs.
const (
	ProductionURL  = "https://api.push.apple.com"
	DevelopmentURL = "https://api.sandbox.push.apple.com"
)

// Defaults, each changeable with an Option.
const (
	DefaultTimeout     = 20 * time.Second
	DefaultConcurrency = 16
	// DefaultExpiration: an MDM push only says "check in", so a late one
	// costs one extra check-in while a dropped one leaves queued commands
	// waiting. Let APNs hold it for a device that is off for a weekend.
	DefaultExpiration = 7 * 24 * time.Hour
)

// Client sends MDM pushes to APNs over HTTP/2 with the push certificate
// as TLS client certificate. It is safe for concurrent use.
type Client struct {
	endpoint    string
	timeout     time.Duration
	concurrency int
	expiration  time.Duration
	now         func() time.Time
	base        *http.Client

	certMu sync.Mutex // serialises SetCertificate
	http   atomic.Pointer[http.Client]
}

// Option configures a Client.
type Option func(*Client)

// WithEndpoint sets the APNs base URL (default ProductionURL).
func WithEndpoint(url string) Option {
	return func(c *Client) { c.endpoint = strings.TrimRight(url, "/") }
}

// WithHTTPClient bases requests on hc. When its Transport is an
// *http.Transport (or nil) it is cloned and the push certificate and HTTP/2
// are set on the clone, keeping hc's other settings (RootCAs, proxy, dial).
// Any other RoundTripper is used as it is: it must then present the
// certificate itself, and SetCertificate cannot reach it.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.base = hc }
}

// WithTimeout bounds each push request (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithConcurrency bounds the requests in flight in one Push call
// (default DefaultConcurrency).
func WithConcurrency(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.concurrency = n
		}
	}
}

// WithClock sets the time source for apns-expiration and Outcome.At.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithExpiration sets how long APNs keeps a push for an unreachable device
// (default DefaultExpiration). Zero asks APNs to try once and not store it.
func WithExpiration(d time.Duration) Option {
	return func(c *Client) {
		if d >= 0 {
			c.expiration = d
		}
	}
}

// New returns a Client that authenticates with cert.
func New(cert tls.Certificate, opts ...Option) *Client {
	c := &Client{
		endpoint:    ProductionURL,
		timeout:     DefaultTimeout,
		concurrency: DefaultConcurrency,
		expiration:  DefaultExpiration,
		now:         time.Now,
	}
	for _, opt := range opts {
		opt(c)
	}
	c.http.Store(c.buildHTTPClient(cert))
	return c
}

// SetCertificate switches to a renewed push certificate. Pushes that are
// already in flight finish on their connection; every later push dials a
// fresh connection that presents the new certificate.
func (c *Client) SetCertificate(cert tls.Certificate) {
	c.certMu.Lock()
	defer c.certMu.Unlock()
	next := c.buildHTTPClient(cert)
	old := c.http.Swap(next)
	if old != nil && old != next {
		// Busy connections of the old transport close once idle, via
		// its IdleConnTimeout; idle ones go now.
		old.CloseIdleConnections()
	}
}

// CloseIdleConnections releases idle APNs connections, e.g. at shutdown.
func (c *Client) CloseIdleConnections() {
	c.http.Load().CloseIdleConnections()
}

// buildHTTPClient makes a client whose transport presents cert. Each
// certificate gets its own transport so connections never mix them.
func (c *Client) buildHTTPClient(cert tls.Certificate) *http.Client {
	var transport *http.Transport
	var clientTimeout time.Duration
	if c.base != nil {
		clientTimeout = c.base.Timeout
		switch rt := c.base.Transport.(type) {
		case nil:
			transport = newTransport()
		case *http.Transport:
			transport = rt.Clone()
		default:
			return c.base
		}
	} else {
		transport = newTransport()
	}
	tlsConfig := &tls.Config{}
	if transport.TLSClientConfig != nil {
		tlsConfig = transport.TLSClientConfig.Clone()
	}
	if tlsConfig.MinVersion < tls.VersionTLS12 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	presented := cert
	tlsConfig.Certificates = nil
	// Always present the push certificate, whatever CAs the server names.
	tlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &presented, nil
	}
	transport.TLSClientConfig = tlsConfig
	transport.ForceAttemptHTTP2 = true
	protocols := new(http.Protocols)
	protocols.SetHTTP2(true) // APNs speaks HTTP/2 only
	transport.Protocols = protocols
	return &http.Client{
		Transport: transport,
		Timeout:   clientTimeout,
		// APNs never redirects; a redirect means a wrong endpoint.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     5 * time.Minute,
		MaxIdleConnsPerHost: 2,
	}
}
