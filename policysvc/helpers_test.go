package policysvc

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/storage"
	"github.com/tidemark-mdm/tidemark/storage/bolt"
)

// fixtureNow is "today" in the catalog fixture's world.
var fixtureNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testEnv struct {
	svc   *Service
	store *bolt.Store
	path  string
	clock *clock
}

func openStore(t *testing.T, path string) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newEnv(t *testing.T, mutate ...func(*Config)) *testEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tidemark.db")
	e := &testEnv{store: openStore(t, path), path: path, clock: &clock{t: fixtureNow}}
	e.svc = e.service(t, mutate...)
	return e
}

// service builds a service over the env's store (again, for reload tests).
func (e *testEnv) service(t *testing.T, mutate ...func(*Config)) *Service {
	t.Helper()
	cfg := Config{Now: e.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := New(context.Background(), e.store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func fixtureRaw(t testing.TB) []byte {
	t.Helper()
	return golden.Read(t, golden.Path(t, "catalog/fixture.json"))
}

func (e *testEnv) importFixture(t *testing.T) {
	t.Helper()
	if _, err := e.svc.ImportCatalog(context.Background(), fixtureRaw(t), "fixture", "test"); err != nil {
		t.Fatal(err)
	}
}

func (e *testEnv) serverEvents(t *testing.T) []storage.Event {
	t.Helper()
	ev, err := e.store.Events(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func kinds(events []storage.Event) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		out = append(out, e.Kind)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// macPolicy enforces a macOS version on every Mac by a fixed deadline.
func macPolicy(id, version, deadline string) enforcement.Policy {
	return enforcement.Policy{
		ID: id, Name: "Macs to " + version,
		Scope:    enforcement.Scope{All: true, Platforms: []string{"macOS"}},
		Target:   enforcement.Target{Kind: enforcement.TargetVersion, OSVersion: version},
		Deadline: enforcement.Deadline{LocalDateTime: deadline},
	}
}
