package enforcement

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultCatalogURL is Apple's public Software Lookup Service.
const DefaultCatalogURL = "https://gdmf.apple.com/v2/pmv"

// fetchBackoff is the wait before the first retry; it doubles each time.
// A variable so tests can shorten it.
var fetchBackoff = time.Second

// FetchCatalog downloads the catalog body, retrying transport errors, 5xx
// and 429 answers up to retries more times with doubling backoff. The
// overall timeout comes from ctx. A 4xx answer is not retried; an empty
// body or one that does not look like a JSON object is refused, so the
// caller keeps its last good copy. The body is not parsed here: hand it to
// ParseCatalog.
func FetchCatalog(ctx context.Context, client *http.Client, url string, retries int) ([]byte, error) {
	if client == nil {
		return nil, errors.New("fetch release catalog: nil http client")
	}
	if retries < 0 {
		retries = 0
	}
	wait := fetchBackoff
	var lastErr error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, wait); err != nil {
				return nil, fmt.Errorf("fetch release catalog: %w (last error: %v)", err, lastErr)
			}
			wait *= 2
		}
		body, retry, err := fetchOnce(ctx, client, url)
		if err == nil {
			return body, nil
		}
		lastErr = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("fetch release catalog from %s: %w", url, lastErr)
}

// fetchOnce performs one GET; retry says whether another attempt may help.
func fetchOnce(ctx context.Context, client *http.Client, url string) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, true, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxCatalogBytes+1))
	if err != nil {
		return nil, true, fmt.Errorf("read body: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, true, fmt.Errorf("HTTP %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("HTTP %d", resp.StatusCode)
	case len(body) > maxCatalogBytes:
		return nil, false, fmt.Errorf("body larger than %d bytes", maxCatalogBytes)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, true, fmt.Errorf("%w (empty body)", ErrEmptyCatalog)
	}
	if trimmed[0] != '{' {
		return nil, false, errors.New("body is not a JSON object")
	}
	return body, false, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
