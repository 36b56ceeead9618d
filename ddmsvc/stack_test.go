package ddmsvc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/mdm/httpmdm"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage/bolt"
)

// t0 is the stack's clock: CA, certificates, handler and service all read
// it, so every stored time and served timestamp is reproducible.
var t0 = time.Date(2026, time.November, 2, 8, 30, 15, 0, time.UTC)

// fakeClock is a settable clock shared by the whole stack.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// stack is the device HTTP handler over a real store and CA, with the DDM
// service plugged in as the server assembles it.
type stack struct {
	clock *fakeClock
	store *bolt.Store
	ca    *certs.CA
	svc   *ddmsvc.Service
	url   string
}

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func sharedKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func newStack(t testing.TB, opts ...ddmsvc.Option) *stack {
	t.Helper()
	dir := t.TempDir()
	clk := &fakeClock{t: t0}
	store, err := bolt.Open(filepath.Join(dir, "tidemark.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ca, err := certs.LoadOrCreateCA(dir, certs.WithCAClock(clk.now), certs.WithCAKeyBits(2048))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := certs.LoadOrCreateSealKey(filepath.Join(dir, "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	svc := ddmsvc.New(store, append([]ddmsvc.Option{ddmsvc.WithClock(clk.now)}, opts...)...)
	h := httpmdm.New(store, certs.NewVerifier(ca), sealer, httpmdm.WithClock(clk.now),
		httpmdm.WithDeclarative(svc), httpmdm.WithHooks(svc))
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &stack{clock: clk, store: store, ca: ca, svc: svc, url: ts.URL}
}

// enroll makes a device with an identity issued straight from the CA and
// sends Authenticate and TokenUpdate through the handler.
func (s *stack) enroll(t testing.TB, a sim.Attributes) *sim.Device {
	t.Helper()
	d, err := sim.New(a, sim.WithKey(sharedKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	// Long-lived: the signature carries the real signing time, which must
	// fall inside the validity as well as the stack clock.
	cert, err := s.ca.IssueDirect(&sharedKey(t).PublicKey, a.UDID, 9*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.EnrollWithIdentity(context.Background(), cert, s.url, s.url, "com.apple.mgmt.External.test"); err != nil {
		t.Fatal(err)
	}
	return d
}

func mac(i int, version string) sim.Attributes {
	return sim.Attributes{
		UDID: "0000FE00-0000-4000-8000-00000000000" + string(rune('0'+i)), SerialNumber: "C02TEST0000" + string(rune('0'+i)),
		Platform: "macOS", OSVersion: version, BuildVersion: "24G231", ProductName: "Mac14,2", ModelName: "MacBook Air",
		SoftwareUpdateDeviceID: "J413AP", Supervised: true, AppleSilicon: true,
	}
}

func iphone(i int, version string) sim.Attributes {
	a := mac(i, version)
	a.Platform, a.ProductName, a.ModelName, a.BuildVersion = "iOS", "iPhone15,2", "iPhone", "22G86"
	return a
}
