// Package server assembles a running Tidemark process from a Config:
// storage, identity, device and admin HTTP handlers, background workers.
package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement/legacy"
)

// Config is everything serve needs; zero values take the defaults below.
type Config struct {
	DataDir            string
	Listen             string
	PublicURL          string
	TLSCert, TLSKey    string
	StaticChallenge    string
	CertValidity       time.Duration
	TrustedProxyHeader string
	MaxResults         int
	MaxEvents          int
	APNsEndpoint       string
	// APNsHTTPClient overrides the APNs HTTP client (its TLS trust, proxy);
	// tests point it at a local HTTP/2 server.
	APNsHTTPClient *http.Client
	LockTimeout    time.Duration
	// DDMSyncOnlyAssigned: tell a newly enrolled device to sync only when
	// it holds declarations besides the built-ins. Off by default: every
	// DDM-capable device gets its status subscription at enrollment, so
	// status reports flow from the start.
	DDMSyncOnlyAssigned bool
	// DDMStatusHistory bounds the status reports kept per device (default 50).
	DDMStatusHistory int
	// ReconcileInterval is how often every device is re-evaluated
	// (default 5 min); events trigger devices in between.
	ReconcileInterval time.Duration
	Logger            *slog.Logger
	// Now injects time (tests, demo); defaults to time.Now.
	Now func() time.Time
	// CAKeyBits is the RSA size of a newly created CA (>= 2048).
	CAKeyBits int
	// CatalogURL is Apple's release catalog, downloaded every
	// CatalogInterval (default 6h); empty turns the download off (the
	// zero value, so tests and the demo never reach the network).
	CatalogURL      string
	CatalogInterval time.Duration
	// CatalogHTTPClient overrides the catalog download client.
	CatalogHTTPClient *http.Client
	// LegacyDriver tunes the legacy OS-update path (scan and poll
	// cadences, failure thresholds, fallback); zero fields take the
	// defaults documented on legacy.Config.
	LegacyDriver legacy.Config
}

// Defaults.
const (
	DefaultDataDir      = "./tidemark-data"
	DefaultListen       = "127.0.0.1:9000"
	DefaultCertValidity = 365 * 24 * time.Hour
	DefaultLockTimeout  = 3 * time.Second
)

// withDefaults fills zero values and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.PublicURL == "" {
		c.PublicURL = derivePublicURL(c.Listen, c.TLSCert != "")
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("public URL %q must be an absolute http(s) URL", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.CertValidity == 0 {
		c.CertValidity = DefaultCertValidity
	}
	if c.CertValidity < time.Hour {
		return c, fmt.Errorf("certificate validity %s is too short", c.CertValidity)
	}
	if c.MaxResults == 0 {
		c.MaxResults = 100
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = 200
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// derivePublicURL turns a listen address into a URL devices could use;
// an unspecified host becomes localhost.
func derivePublicURL(listen string, tls bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = listen, ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if port == "" {
		return scheme + "://" + host
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
