package enforcement

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serveSequence answers the i-th request with statuses[i] (the last one
// repeats) and body for 200s.
func serveSequence(t *testing.T, body string, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(calls.Add(1)) - 1
		status := statuses[min(i, len(statuses)-1)]
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = w.Write([]byte(body))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestFetchCatalog(t *testing.T) {
	old := fetchBackoff
	fetchBackoff = time.Millisecond
	t.Cleanup(func() { fetchBackoff = old })
	const good = `{"AssetSets":{}}`
	tests := []struct {
		name      string
		body      string
		statuses  []int
		retries   int
		wantCalls int32
		wantErr   string
	}{
		{"first try", good, []int{200}, 3, 1, ""},
		{"retries server errors", good, []int{503, 500, 200}, 3, 3, ""},
		{"retries rate limiting", good, []int{429, 200}, 1, 2, ""},
		{"gives up after retries", good, []int{503}, 2, 3, "HTTP 503"},
		{"no retry on 404", good, []int{404}, 3, 1, "HTTP 404"},
		{"empty body refused", "  \n", []int{200}, 1, 2, "empty body"},
		{"html refused", "<html>maintenance</html>", []int{200}, 3, 1, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := serveSequence(t, tt.body, tt.statuses...)
			body, err := FetchCatalog(context.Background(), srv.Client(), srv.URL, tt.retries)
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == "" {
				if err != nil || string(body) != tt.body {
					t.Errorf("body %q err %v", body, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFetchCatalogHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := FetchCatalog(ctx, srv.Client(), srv.URL, 5)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want deadline exceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("fetch ignored the context's deadline")
	}
	if _, err := FetchCatalog(context.Background(), nil, srv.URL, 0); err == nil {
		t.Error("nil client accepted")
	}
}
