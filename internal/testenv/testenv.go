// Package testenv starts a real Tidemark server in-process on a loopback
// listener and enrolls simulated devices against it, for end-to-end tests.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
)

// StaticChallenge is the SCEP challenge test servers accept.
const StaticChallenge = "test-challenge"

// Env is one running server.
type Env struct {
	Server  *server.Server
	URL     string
	API     *api.Client
	HTTP    *http.Client
	Profile []byte
	DataDir string
	cancel  context.CancelFunc
	ts      *httptest.Server
}

// Start runs a server for the test; it stops when the test ends.
func Start(t testing.TB, mutate ...func(*server.Config)) *Env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{
		DataDir: dir, PublicURL: "http://" + ln.Addr().String(), StaticChallenge: StaticChallenge,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Most tests count the commands a device gets; DDM tests that want
		// enrollment-time sync turn this off.
		DDMSyncOnlyAssigned: true,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv.StartWorkers(ctx)
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	e := &Env{Server: srv, URL: ts.URL, HTTP: hc, DataDir: dir, cancel: cancel, ts: ts,
		API: api.NewClient(ts.URL, srv.APIKey(), hc)}
	t.Cleanup(e.Close)
	if e.Profile, err = e.API.EnrollmentProfile(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	return e
}

// Close stops the server (idempotent).
func (e *Env) Close() {
	if e.ts == nil {
		return
	}
	e.ts.Close()
	e.cancel()
	e.Server.Close()
	e.ts = nil
}

var (
	keyOnce sync.Once
	keys    []*rsa.PrivateKey
)

// Key returns one of a few shared RSA-2048 keys: real devices each make
// their own, but generating hundreds would dominate test time. Every
// device still gets its own certificate.
func Key(i int) *rsa.PrivateKey {
	keyOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys = append(keys, k)
		}
	})
	return keys[i%len(keys)]
}

// NewDevice builds a simulated device talking to this server.
func (e *Env) NewDevice(t testing.TB, a sim.Attributes, i int) *sim.Device {
	t.Helper()
	d, err := sim.New(a, sim.WithKey(Key(i)), sim.WithHTTPClient(e.HTTP))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Enroll builds a device and enrolls it through SCEP, Authenticate and
// TokenUpdate.
func (e *Env) Enroll(t testing.TB, a sim.Attributes, i int) *sim.Device {
	t.Helper()
	d := e.NewDevice(t, a, i)
	if err := d.Enroll(context.Background(), e.Profile); err != nil {
		t.Fatalf("enroll %s: %v", a.UDID, err)
	}
	return d
}

// Mac returns attributes of a supervised Apple-silicon Mac.
func Mac(i int, osVersion, build string) sim.Attributes {
	return sim.Attributes{
		UDID: fmt.Sprintf("0000FE00-0000-4000-8000-%012d", i), SerialNumber: fmt.Sprintf("C02SIM%06d", i),
		Platform: "macOS", OSVersion: osVersion, BuildVersion: build, ProductName: "Mac14,2",
		ModelName: "MacBook Air", DeviceName: fmt.Sprintf("Mac %d", i), Supervised: true, AppleSilicon: true,
		BootstrapRequired: true, BatteryLevel: 0.8, FreeGB: 120, CapacityGB: 494.38, SoftwareUpdateDeviceID: "J413AP",
	}
}

// IPhone returns attributes of a supervised iPhone.
func IPhone(i int, osVersion, build string) sim.Attributes {
	return sim.Attributes{
		UDID: fmt.Sprintf("00008110-%016d", i), SerialNumber: fmt.Sprintf("F2LSIM%06d", i),
		Platform: "iOS", OSVersion: osVersion, BuildVersion: build, ProductName: "iPhone15,2",
		ModelName: "iPhone", DeviceName: fmt.Sprintf("iPhone %d", i), Supervised: true,
		BatteryLevel: 0.65, FreeGB: 40.5, CapacityGB: 119.1, SoftwareUpdateDeviceID: "D73AP",
	}
}
