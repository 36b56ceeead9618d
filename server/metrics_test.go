package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/server"
)

func TestMetricsReportProcessAccounting(t *testing.T) {
	srv, err := server.New(quietConfig(filepath.Join(t.TempDir(), "data")))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	before := srv.Metrics()
	burn := 0
	for i := range 20_000_000 {
		burn += i % 7
	}
	after := srv.Metrics()
	if after.CPUSeconds <= before.CPUSeconds || after.CPUSeconds != after.CPUUserSeconds+after.CPUSystemSeconds {
		t.Errorf("CPU did not advance with work (%d): %+v → %+v", burn, before, after)
	}
	if after.RSSBytes <= 0 || after.RSSAnonBytes <= 0 || after.RSSAnonBytes+after.RSSFileBytes > after.RSSBytes+4096 || after.PeakRSSBytes < after.RSSBytes || after.DBSizeBytes <= 0 || after.Goroutines <= 0 || after.GoHeapBytes == 0 {
		t.Errorf("metrics missing: %+v", after)
	}
}

func TestMetricsHandlerServesJSONBehindTheAPIKey(t *testing.T) {
	srv, err := server.New(quietConfig(filepath.Join(t.TempDir(), "data")))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	admin := api.New(srv.APIKey(), srv.Store(), nil, nil, nil, api.WithRoutes(srv.MetricsRoute))
	get := func(method, key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/v1/metrics", nil)
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, r)
		return w
	}
	if w := get(http.MethodGet, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("without the key: %d", w.Code)
	}
	if w := get(http.MethodPost, srv.APIKey()); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	w := get(http.MethodGet, srv.APIKey())
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); w.Code != http.StatusOK || err != nil {
		t.Fatalf("%d %v %s", w.Code, err, w.Body)
	}
	for _, k := range []string{"cpu_user_seconds", "cpu_system_seconds", "cpu_seconds", "rss_bytes", "peak_rss_bytes",
		"goroutines", "db_size_bytes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metrics lack %q", k)
		}
	}
}
