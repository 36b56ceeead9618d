// Package demo runs Tidemark end to end on a simulated fleet: an
// in-process server on a temporary data directory, simulated Macs, iPhones
// and iPads enrolling over SCEP and speaking MDM and DDM, a policy to the
// catalog's latest release, and simulated time running to the deadline.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/testdata/catalog"
)

// Options configure a demo run.
type Options struct {
	Devices int // default 60
	// Keys is how many RSA keys the fleet shares (key generation would
	// dominate a one-minute demo; every device still gets its own
	// certificate through SCEP).
	Keys int
}

// Start is the simulated "now": the day the bundled catalog describes.
var Start = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// Deadline is the policy's base device-local deadline: the pilot ring's.
// The early ring follows a day later, everyone else two days later.
var Deadline = time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)

// lastDeadline is the broad ring's deadline.
var lastDeadline = Deadline.Add(48 * time.Hour)

// clock is the simulated time the server and devices share.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// env is a running demo server.
type env struct {
	srv   *server.Server
	api   *api.Client
	url   string
	clk   *clock
	out   io.Writer
	fleet []*member
}

// Run runs the demo and writes its story to out.
func Run(ctx context.Context, out io.Writer, o Options) error {
	if o.Devices <= 0 {
		o.Devices = 60
	}
	if o.Keys <= 0 {
		o.Keys = 4
	}
	dir, err := os.MkdirTemp("", "tidemark-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, stop, err := start(ctx, filepath.Join(dir, "data"), out)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(out, "Tidemark demo: a simulated fleet of %d devices against an in-process server (%s).\n", o.Devices, e.url)
	fmt.Fprintf(out, "Simulated time starts %s; the bundled release catalog describes that day.\n\n", Start.Format("Mon 2 Jan 2006 15:04"))
	if err := e.enroll(ctx, o); err != nil {
		return err
	}
	if err := e.setup(ctx); err != nil {
		return err
	}
	if err := e.run(ctx); err != nil {
		return err
	}
	return e.report(ctx)
}

// start runs the server on a loopback port with the simulated clock.
func start(ctx context.Context, dataDir string, out io.Writer) (*env, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	clk := &clock{}
	clk.set(Start)
	srv, err := server.New(server.Config{
		DataDir: dataDir, PublicURL: "http://" + ln.Addr().String(), StaticChallenge: "demo",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.now, ReconcileInterval: time.Hour,
	})
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(runCtx, ln)
	}()
	url := "http://" + ln.Addr().String()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	e := &env{srv: srv, api: api.NewClient(url, srv.APIKey(), hc), url: url, clk: clk, out: out}
	stop := func() {
		cancel()
		<-done
		srv.Close()
	}
	return e, stop, nil
}

// enroll builds the fleet and enrolls every device through SCEP.
func (e *env) enroll(ctx context.Context, o Options) error {
	profile, err := e.api.EnrollmentProfile(ctx, false)
	if err != nil {
		return err
	}
	keys := make([]*rsa.PrivateKey, o.Keys)
	for i := range keys {
		if keys[i], err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return err
		}
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	for i := range o.Devices {
		k := kinds[i%len(kinds)]
		a := attrs(i, k)
		story, offline, token, charge := storyFor(i, k)
		switch story {
		case "not supervised":
			a.Supervised = false
		case "low battery, plugged in on day 4", "low battery, never charged":
			a.BatteryLevel = 0.2
		}
		d, err := sim.New(a, sim.WithKey(keys[i%len(keys)]), sim.WithHTTPClient(hc))
		if err != nil {
			return err
		}
		m := &member{dev: d, story: story, offline: offline, token: token, charge: charge}
		if isLegacy(k) {
			cfg := sim.LegacyConfig{Catalog: legacyCatalog(k)}
			cfg.Faults.DownloadStuck = story == "download stalls at 0 %"
			m.legacy = d.EnableLegacyUpdates(cfg)
		} else {
			// Devices start downloading at different times before the deadline.
			m.ddm = sim.EnableDDM(d, sim.DDMOptions{Clock: Start, DownloadBefore: time.Duration(1+i%4) * 24 * time.Hour})
		}
		e.fleet = append(e.fleet, m)
	}
	err = e.each(func(m *member) error {
		if err := m.dev.Enroll(ctx, profile); err != nil {
			return err
		}
		if m.token {
			return m.dev.SetBootstrapToken(ctx, []byte("bootstrap-"+m.dev.UDID()))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enrolling: %w", err)
	}
	fmt.Fprintf(e.out, "Enrolled %d devices through SCEP and signed check-ins (Macs on 13/14/15/26, iPhones and iPads on 16/17/18/26).\n", len(e.fleet))
	return nil
}

func isLegacy(k kind) bool {
	return (k.platform == "macOS" && k.version < "14") || (k.platform != "macOS" && k.version < "17")
}

// each runs fn for every device, a few at a time.
func (e *env) each(fn func(m *member) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 8)
	for _, m := range e.fleet {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(m); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("%s: %w", m.dev.UDID(), err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// setup imports the catalog and creates the policy.
func (e *env) setup(ctx context.Context) error {
	svc, err := e.srv.PolicyService()
	if err != nil {
		return err
	}
	if _, err := svc.ImportCatalog(ctx, catalog.Fixture, "bundled demo catalog", "demo"); err != nil {
		return err
	}
	policy := fmt.Sprintf(`{"id":"latest","name":"Everyone on the latest release","scope":{"all":true},`+
		`"target":{"kind":"latest"},"deadline":{"local_date_time":%q},`+
		`"rings":[{"name":"pilot","percent":20},{"name":"early","percent":30,"deadline_offset_days":1},`+
		`{"name":"broad","percent":50,"deadline_offset_days":2}]}`, Deadline.Format("2006-01-02T15:04:05"))
	if err := e.api.Do(ctx, http.MethodPut, "/v1/policies/latest", rawJSON(policy), nil); err != nil {
		return fmt.Errorf("creating the policy: %w", err)
	}
	fmt.Fprintf(e.out, "Policy \"latest\": every device on the newest release Apple offers its model, in three rings:\n")
	fmt.Fprintf(e.out, "  pilot (20 %%) by %s, early (30 %%) a day later, broad (the rest) by %s, device-local;\n",
		Deadline.Format("Mon 2 Jan 15:04"), lastDeadline.Format("Mon 2 Jan 15:04"))
	fmt.Fprintf(e.out, "  a ring starts once 90 %% of the one before it is installed, or its deadline has passed.\n\n")
	return nil
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
