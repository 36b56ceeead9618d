package enrollment

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
)

const adminKey = "test-key"

func adminServer(t *testing.T, st *fakeStore, cat CatalogSource) http.Handler {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := NewAdmin(st, cat, func() time.Time { return now }, quiet)
	return api.New(adminKey, nil, nil, nil, nil, append(a.APIOptions(), api.WithLogger(quiet))...)
}

func adminDo(t *testing.T, h http.Handler, method, body string, headers ...string) (int, SettingsView, string) {
	t.Helper()
	req := httptest.NewRequest(method, "/v1/enrollment/min-os", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var v SettingsView
	_ = json.Unmarshal(rec.Body.Bytes(), &v)
	return rec.Code, v, rec.Body.String()
}

func TestAdminMinOS(t *testing.T) {
	st := newFakeStore()
	h := adminServer(t, st, fakeCatalog{cat: testCatalog(t)})

	code, v, raw := adminDo(t, h, http.MethodGet, "")
	if code != http.StatusOK || v.Rules == nil || len(v.Rules) != 0 || !strings.Contains(raw, `"rules": []`) {
		t.Fatalf("empty GET: %d %s", code, raw)
	}
	put := `{"rules":[{"name":"fleet","platform":"macOS","mode":"minimum","min_version":"15.4"},
		{"platform":"iOS","mode":"minimum","min_version":"30.0"}]}`
	code, v, raw = adminDo(t, h, http.MethodPut, put, "X-Tidemark-Actor", "ana\x07")
	if code != http.StatusOK || len(v.Rules) != 2 || v.UpdatedBy != "ana" || !v.UpdatedAt.Equal(now) {
		t.Fatalf("PUT: %d %s", code, raw)
	}
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "30.0") {
		t.Errorf("want a warning about the unreachable iOS minimum: %v", v.Warnings)
	}
	stored, err := LoadSettings(t.Context(), st)
	if err != nil || len(stored.Rules) != 2 || stored.Rules[0].Name != "fleet" {
		t.Fatalf("stored %+v %v", stored, err)
	}
	ev := st.allEvents()
	if len(ev) != 1 || ev[0].Kind != EventSettingsSaved || ev[0].DeviceID != "" || ev[0].Data["actor"] != "ana" {
		t.Fatalf("events %+v", ev)
	}
	if _, v, _ = adminDo(t, h, http.MethodGet, ""); len(v.Rules) != 2 {
		t.Errorf("GET after PUT: %+v", v)
	}
}

func TestAdminMinOSRefusals(t *testing.T) {
	st := newFakeStore()
	h := adminServer(t, st, fakeCatalog{})
	for name, body := range map[string]string{
		"invalid rule":  `{"rules":[{"platform":"tvOS","mode":"minimum","min_version":"x"}]}`,
		"unknown field": `{"rules":[],"allow_unsigned":true}`,
		"not json":      `rules: []`,
	} {
		code, _, raw := adminDo(t, h, http.MethodPut, body)
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, code, raw)
		}
	}
	code, _, raw := adminDo(t, h, http.MethodPut, `{"rules":[{"platform":"tvOS","mode":"minimum","min_version":"x"}]}`)
	var vf ValidationFailure
	if err := json.Unmarshal([]byte(raw), &vf); err != nil || len(vf.Problems) != 2 || !strings.Contains(vf.Error, "tvOS") {
		t.Errorf("problems listed: %d %s", code, raw)
	}
	if _, ok := st.meta[MetaKey]; ok || len(st.allEvents()) != 0 {
		t.Error("a refused PUT stored something")
	}
	code, v, _ := adminDo(t, h, http.MethodPut, `{"rules":[{"platform":"macOS","mode":"latest"}],"allow_unsigned_machine_info":true}`)
	if code != http.StatusOK || len(v.Warnings) != 2 {
		t.Errorf("no catalog and unsigned on should both warn: %d %v", code, v.Warnings)
	}
	req := httptest.NewRequest(http.MethodGet, "/v1/enrollment/min-os", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without the API key: %d", rec.Code)
	}
}
