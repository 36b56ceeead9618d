package policysvc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// appleStub serves whatever the test sets, counting requests.
type appleStub struct {
	mu     sync.Mutex
	status int
	body   []byte
	hits   int
}

func (a *appleStub) set(status int, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.body = status, body
}

func (a *appleStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hits++
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

func fetchEnv(t *testing.T) (*testEnv, *appleStub, string) {
	t.Helper()
	stub := &appleStub{status: http.StatusOK, body: fixtureRaw(t)}
	ts := httptest.NewServer(stub)
	t.Cleanup(ts.Close)
	e := newEnv(t, func(c *Config) {
		c.CatalogURL, c.CatalogRetries, c.HTTPClient = ts.URL+"/v2/pmv", -1, ts.Client()
	})
	return e, stub, ts.URL + "/v2/pmv"
}

func TestRefreshCatalog(t *testing.T) {
	ctx := context.Background()
	e, stub, url := fetchEnv(t)
	change, err := e.svc.RefreshCatalog(ctx)
	if err != nil || !change.Changed || change.Source != url {
		t.Fatalf("first download: %+v %v", change, err)
	}
	good, _ := e.svc.Catalog(ctx)

	failures := []struct {
		status int
		body   string
	}{
		{http.StatusServiceUnavailable, "busy"},
		{http.StatusOK, ""},
		{http.StatusOK, `{"PublicAssetSets":{}}`},
		{http.StatusNotFound, "gone"},
	}
	for _, f := range failures {
		e.clock.Add(time.Hour)
		stub.set(f.status, []byte(f.body))
		var fe *FetchError
		if _, err := e.svc.RefreshCatalog(ctx); !errors.As(err, &fe) {
			t.Fatalf("HTTP %d %q: %v, want a FetchError", f.status, f.body, err)
		}
		if cur, _ := e.svc.Catalog(ctx); cur != good {
			t.Fatalf("HTTP %d %q replaced the last good catalog", f.status, f.body)
		}
	}
	st := e.svc.CatalogSummary("").Fetch
	if st == nil || st.LastError == "" || !st.LastSuccess.Equal(fixtureNow) || !st.LastAttempt.Equal(fixtureNow.Add(4*time.Hour)) {
		t.Fatalf("fetch status: %+v", st)
	}
	stub.set(http.StatusOK, fixtureRaw(t))
	if change, err := e.svc.RefreshCatalog(ctx); err != nil || change.Changed {
		t.Fatalf("recovery with the same content: %+v %v", change, err)
	}
	// Four failures in a row, one event: only transitions are recorded.
	want := []string{"catalog_fetch_recovered", "catalog_fetch_failed", "catalog_changed"}
	if got := kinds(e.serverEvents(t)); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestFetchDisabled(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.RefreshCatalog(context.Background()); !errors.Is(err, ErrFetchDisabled) {
		t.Fatalf("refresh without a URL: %v", err)
	}
	done := make(chan struct{})
	go func() { e.svc.RunCatalogFetcher(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the fetcher runs without a URL")
	}
	if _, err := New(context.Background(), e.store, Config{CatalogURL: "https://x", CatalogInterval: time.Minute}); err == nil {
		t.Fatal("a one-minute interval was accepted")
	}
}

func TestNextFetchDelay(t *testing.T) {
	ctx := context.Background()
	e, stub, _ := fetchEnv(t)
	interval := DefaultCatalogInterval
	if d := e.svc.nextFetchDelay(); d != 0 {
		t.Errorf("without a catalog: %s, want at once", d)
	}
	if _, err := e.svc.RefreshCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	if d := e.svc.nextFetchDelay(); d != interval-time.Hour {
		t.Errorf("an hour after a download: %s", d)
	}
	// A restarted server counts from the stored confirmation.
	restarted := e.service(t, func(c *Config) { c.CatalogURL = "https://example.invalid/pmv" })
	if d := restarted.nextFetchDelay(); d != interval-time.Hour {
		t.Errorf("after a restart: %s", d)
	}
	stub.set(http.StatusBadGateway, nil)
	_, _ = e.svc.RefreshCatalog(ctx)
	e.clock.Add(10 * time.Minute)
	if d := e.svc.nextFetchDelay(); d != fetchFailedRetry-10*time.Minute {
		t.Errorf("after a failure: %s", d)
	}
	e.clock.Add(24 * time.Hour)
	if d := e.svc.nextFetchDelay(); d != 0 {
		t.Errorf("long overdue: %s", d)
	}
}

// TestCatalogFetcherLoop: with no catalog the loop downloads at once,
// calls the change hook, and stops with its context.
func TestCatalogFetcherLoop(t *testing.T) {
	e, stub, _ := fetchEnv(t)
	changed := make(chan struct{}, 1)
	e.svc.OnCatalogChange(func() { changed <- struct{}{} })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.RunCatalogFetcher(ctx); close(done) }()
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no download")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the fetcher ignored its context")
	}
	if _, err := e.svc.Catalog(context.Background()); err != nil {
		t.Fatal(err)
	}
	stub.mu.Lock()
	defer stub.mu.Unlock()
	if stub.hits != 1 {
		t.Errorf("%d downloads, want 1 (the next is an interval away)", stub.hits)
	}
}
