package policysvc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

// FetchStatus describes the scheduled catalog download.
type FetchStatus struct {
	URL         string     `json:"url"`
	Interval    string     `json:"interval"`
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// ErrFetchDisabled is returned by RefreshCatalog without a catalog URL.
var ErrFetchDisabled = errors.New("the server downloads no release catalog (start it with --catalog-url)")

// fetchFailedRetry is the wait after a failed download (each already
// retried a few times) before the next one, when the interval is longer.
var fetchFailedRetry = 30 * time.Minute

// RefreshCatalog downloads the catalog from the configured URL now and
// imports it. A failed or refused download keeps the current catalog.
func (s *Service) RefreshCatalog(ctx context.Context) (CatalogChange, error) {
	if s.cfg.CatalogURL == "" {
		return CatalogChange{}, ErrFetchDisabled
	}
	fctx, cancel := context.WithTimeout(ctx, s.cfg.CatalogTimeout)
	defer cancel()
	attempt := s.now()
	raw, err := enforcement.FetchCatalog(fctx, s.cfg.HTTPClient, s.cfg.CatalogURL, s.cfg.CatalogRetries)
	var change CatalogChange
	if err == nil {
		change, err = s.ImportCatalog(ctx, raw, s.cfg.CatalogURL, "scheduled download")
	}
	s.recordFetch(ctx, attempt, err)
	if err != nil {
		return CatalogChange{}, &FetchError{Err: err}
	}
	return change, nil
}

// FetchError is a download that failed; the current catalog was kept.
type FetchError struct{ Err error }

func (e *FetchError) Error() string {
	return "downloading the release catalog failed, the current one is kept: " + e.Err.Error()
}

func (e *FetchError) Unwrap() error { return e.Err }

// recordFetch keeps the download status. Only a change between working
// and failing becomes a server event: a long outage must not push the
// policy history out of the bounded event log.
func (s *Service) recordFetch(ctx context.Context, at time.Time, err error) {
	s.fetchMu.Lock()
	wasFailing := s.fetch.LastError != ""
	s.fetch.LastAttempt = &at
	if err == nil {
		s.fetch.LastSuccess, s.fetch.LastError = &at, ""
	} else {
		s.fetch.LastError = err.Error()
	}
	s.fetchMu.Unlock()
	var ev *storage.Event
	switch {
	case err != nil && !wasFailing:
		s.log.Warn("release catalog download failed; keeping the current catalog", logkeys.Endpoint, s.cfg.CatalogURL, logkeys.Err, err)
		ev = &storage.Event{At: at, Kind: "catalog_fetch_failed",
			Message: fmt.Sprintf("downloading the release catalog from %s failed (the current catalog is kept): %v", s.cfg.CatalogURL, err),
			Data:    map[string]string{"url": s.cfg.CatalogURL, "error": err.Error()}}
	case err != nil:
		s.log.Warn("release catalog download still failing", logkeys.Endpoint, s.cfg.CatalogURL, logkeys.Err, err)
	case wasFailing:
		ev = &storage.Event{At: at, Kind: "catalog_fetch_recovered",
			Message: "downloading the release catalog from " + s.cfg.CatalogURL + " works again",
			Data:    map[string]string{"url": s.cfg.CatalogURL}}
	}
	if ev != nil {
		if err := s.store.AddEvents(ctx, *ev); err != nil {
			s.log.Warn("recording a catalog download event failed", logkeys.Err, err)
		}
	}
}

func (s *Service) fetchStatus() FetchStatus {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	return s.fetch
}

// RunCatalogFetcher downloads the catalog every interval until ctx ends;
// it returns at once when no URL is configured. The first download is
// due one interval after the stored catalog was last confirmed, so a
// restart does not download again.
func (s *Service) RunCatalogFetcher(ctx context.Context) {
	if s.cfg.CatalogURL == "" {
		return
	}
	for {
		t := time.NewTimer(s.nextFetchDelay())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		_, _ = s.RefreshCatalog(ctx) // recordFetch logged any failure
	}
}

// nextFetchDelay: soon after a failure, one interval after the last
// confirmation otherwise, at once without any catalog.
func (s *Service) nextFetchDelay() time.Duration {
	now := s.now()
	st := s.fetchStatus()
	if st.LastError != "" && st.LastAttempt != nil {
		return max(0, st.LastAttempt.Add(min(fetchFailedRetry, s.cfg.CatalogInterval)).Sub(now))
	}
	last := time.Time{}
	if cur := s.catalog.Load(); cur != nil {
		last = cur.rec.CheckedAt
	}
	if st.LastAttempt != nil && st.LastAttempt.After(last) {
		last = *st.LastAttempt
	}
	if last.IsZero() {
		return 0
	}
	return max(0, last.Add(s.cfg.CatalogInterval).Sub(now))
}
