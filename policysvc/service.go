// Package policysvc runs what an admin states about OS updates: the release
// catalog (imported or fetched on a schedule, last good copy kept), update
// policies (validated with enforcement.Policy.Validate, versioned, every
// change recorded as a server event) and device groups. It persists through
// storage, serves the admin API routes, and tells the reconcile worker
// what changed through hooks.
package policysvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Store is the storage the service uses.
type Store interface {
	storage.EnforcementStore
	AddEvents(ctx context.Context, events ...storage.Event) error
	Device(ctx context.Context, id string) (*storage.Device, error)
}

// Config configures the service; zero values take the defaults below.
type Config struct {
	// CatalogURL is downloaded every CatalogInterval; empty turns the
	// scheduled download off (import only).
	CatalogURL      string
	CatalogInterval time.Duration
	// CatalogTimeout bounds one download including its retries; it stays
	// under the admin API's write timeout so "catalog fetch" can answer.
	CatalogTimeout time.Duration
	// CatalogRetries is how many more attempts a failed download gets;
	// 0 takes the default, a negative value means none.
	CatalogRetries int
	HTTPClient     *http.Client
	Logger         *slog.Logger
	Now            func() time.Time
}

// Defaults.
const (
	DefaultCatalogInterval = 6 * time.Hour
	DefaultCatalogTimeout  = 45 * time.Second
	DefaultCatalogRetries  = 3
	// MinCatalogInterval keeps a misconfigured server from hammering
	// Apple's service.
	MinCatalogInterval = 5 * time.Minute
)

func (c Config) withDefaults() (Config, error) {
	if c.CatalogInterval == 0 {
		c.CatalogInterval = DefaultCatalogInterval
	}
	if c.CatalogURL != "" && c.CatalogInterval < MinCatalogInterval {
		return c, fmt.Errorf("catalog interval %s is shorter than the minimum %s", c.CatalogInterval, MinCatalogInterval)
	}
	if c.CatalogTimeout <= 0 {
		c.CatalogTimeout = DefaultCatalogTimeout
	}
	switch {
	case c.CatalogRetries == 0:
		c.CatalogRetries = DefaultCatalogRetries
	case c.CatalogRetries < 0:
		c.CatalogRetries = 0
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Service is the catalog, policy and group service. Its methods are safe
// for concurrent use.
type Service struct {
	store Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	// catalog is the parsed current catalog, swapped whole on change.
	catalog atomic.Pointer[catalogState]
	// catalogMu serializes catalog imports; policyMu serializes policy
	// validation with the write it guards.
	catalogMu sync.Mutex
	policyMu  sync.Mutex

	fetchMu sync.Mutex
	fetch   FetchStatus

	hooksMu      sync.Mutex
	catalogHooks []func()
	policyHooks  []func(policyID string)
}

type catalogState struct {
	cat *enforcement.Catalog
	rec storage.CatalogRecord // Raw dropped: the parsed form is what is used
}

// New builds the service and loads the stored catalog. A stored catalog
// that no longer parses is logged and ignored: the next import or
// download replaces it.
func New(ctx context.Context, store Store, cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{store: store, cfg: cfg, log: cfg.Logger, now: cfg.Now}
	s.fetch = FetchStatus{URL: cfg.CatalogURL, Interval: cfg.CatalogInterval.String()}
	rec, err := store.StoredCatalog(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading the stored release catalog: %w", err)
	}
	cat, err := enforcement.ParseCatalog(rec.Raw)
	if err != nil {
		s.log.Warn("the stored release catalog no longer parses; waiting for a new one", logkeys.Err, err)
		return s, nil
	}
	rec.Raw = nil
	s.catalog.Store(&catalogState{cat: cat, rec: *rec})
	return s, nil
}

// OnCatalogChange registers f, called after every catalog change has been
// stored. Hooks run on the caller's goroutine and must not block.
func (s *Service) OnCatalogChange(f func()) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.catalogHooks = append(s.catalogHooks, f)
}

// OnPolicyChange registers f, called with the policy id after a policy was
// created, replaced, paused, resumed or deleted. Hooks must not block.
func (s *Service) OnPolicyChange(f func(policyID string)) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.policyHooks = append(s.policyHooks, f)
}

func (s *Service) catalogChanged() {
	s.hooksMu.Lock()
	hooks := append([]func(){}, s.catalogHooks...)
	s.hooksMu.Unlock()
	for _, f := range hooks {
		f()
	}
}

func (s *Service) policyChanged(id string) {
	s.hooksMu.Lock()
	hooks := append([]func(string){}, s.policyHooks...)
	s.hooksMu.Unlock()
	for _, f := range hooks {
		f(id)
	}
}
