package enrollment

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// macFixture is the MachineInfo of a Mac on 15.1 (J413AP).
func macFixture(t testing.TB) []byte {
	return golden.Read(t, golden.Path(t, "enrollment/machineinfo-macos.plist"))
}

type rig struct {
	store   *fakeStore
	handler *Handler
	device  identity
}

// newRig serves a handler with one rule (macOS 15.4 or later) and the
// test catalog; opts adjust the handler.
func newRig(t *testing.T, opts ...Option) *rig {
	t.Helper()
	st := newFakeStore()
	if _, err := SaveSettings(context.Background(), st, Settings{Rules: []MinOSRule{minimum("macOS", "15.4")}}, "test", now); err != nil {
		t.Fatal(err)
	}
	base := []Option{WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	h := NewHandler(st, fakeCatalog{cat: testCatalog(t)}, fakeProfiles{}, append(base, opts...)...)
	return &rig{store: st, handler: h, device: newIdentity(t, "device", nil, false)}
}

func (r *rig) post(t *testing.T, body []byte, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/enroll", bytes.NewReader(body))
	req.Header.Set("Content-Type", mdm.MachineInfoContentType)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	return rec
}

func TestHandlerUpdateRequired(t *testing.T) {
	r := newRig(t)
	body := sign(t, r.device, macFixture(t))
	mi, _ := mdm.DecodeMachineInfo(macFixture(t))
	want := Decide(*mi, []MinOSRule{minimum("macOS", "15.4")}, testCatalog(t), now).Required
	wantJSON, _ := want.JSON()
	wantXML, _ := want.PlistXML()
	for _, tc := range []struct {
		accept, contentType string
		body                []byte
	}{
		{"", "application/json", wantJSON},
		{"*/*", "application/json", wantJSON},
		{"application/json", "application/json", wantJSON},
		{"application/xml", "application/xml", wantXML},
		{"text/xml", "text/xml", wantXML},
		{"application/json;q=0.5, application/xml", "application/xml", wantXML},
		{"application/xml;q=0.4, application/json;q=0.9", "application/json", wantJSON},
		{"image/png", "application/json", wantJSON},
	} {
		rec := r.post(t, body, tc.accept)
		if rec.Code != http.StatusForbidden || rec.Header().Get("Content-Type") != tc.contentType ||
			!bytes.Equal(rec.Body.Bytes(), tc.body) {
			t.Errorf("Accept %q: %d %s\n%s", tc.accept, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
	if !strings.Contains(string(wantJSON), `"OSVersion": "15.7.2"`) {
		t.Errorf("body: %s", wantJSON)
	}
}

func TestHandlerServesProfile(t *testing.T) {
	r := newRig(t)
	up := bytes.Replace(macFixture(t), []byte("<string>15.1</string>"), []byte("<string>15.7.2</string>"), 1)
	cannot := bytes.Replace(macFixture(t), []byte("<true/>"), []byte("<false/>"), 1)
	for name, plist := range map[string][]byte{"up to date": up, "cannot request": cannot} {
		rec := r.post(t, sign(t, r.device, plist), "")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ProfileContentType || !bytes.Equal(rec.Body.Bytes(), testProfile) {
			t.Errorf("%s: %d %s %s", name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

func TestHandlerUnsignedOnlyWhenAllowed(t *testing.T) {
	r := newRig(t)
	if rec := r.post(t, macFixture(t), ""); rec.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("plain body with unsigned off: %d %s", rec.Code, rec.Body)
	}
	if n := len(r.store.allEvents()); n != 0 {
		t.Fatalf("a refused body recorded %d events", n)
	}
	ctx := context.Background()
	s, _ := LoadSettings(ctx, r.store)
	s.AllowUnsigned = true
	if _, err := SaveSettings(ctx, r.store, s, "test", now); err != nil {
		t.Fatal(err)
	}
	rec := r.post(t, macFixture(t), "")
	if rec.Code != http.StatusForbidden {
		t.Fatalf("plain body with unsigned on: %d %s", rec.Code, rec.Body)
	}
	ev := r.store.allEvents()
	if len(ev) != 1 || ev[0].Data["signed"] != "false" {
		t.Fatalf("events: %+v", ev)
	}
}

func TestHandlerRefusesBadBodies(t *testing.T) {
	r := newRig(t)
	fixture := macFixture(t)
	signed := sign(t, r.device, fixture)
	tampered := bytes.Replace(signed, []byte("<string>15.1</string>"), []byte("<string>15.9</string>"), 1)
	if bytes.Equal(tampered, signed) {
		t.Fatal("content not found in the envelope")
	}
	noProduct := bytes.Replace(fixture, []byte("<key>PRODUCT</key>"), []byte("<key>PRODUKT</key>"), 1)
	for name, body := range map[string][]byte{
		"tampered content":       tampered,
		"garbage DER":            {0x30, 0x03, 0x02, 0x01, 0x05},
		"truncated envelope":     signed[:len(signed)/2],
		"signed non-plist":       sign(t, r.device, []byte("not a plist")),
		"signed binary plist":    sign(t, r.device, []byte("bplist00\xd1\x01\x02")),
		"signed without PRODUCT": sign(t, r.device, noProduct),
		"text":                   []byte("hello"),
		"empty":                  nil,
	} {
		if rec := r.post(t, body, ""); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	big := make([]byte, MaxBodyBytes+1)
	big[0] = 0x30
	if rec := r.post(t, big, ""); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/enroll", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d", rec.Code)
	}
	if n := len(r.store.allEvents()); n != 0 {
		t.Errorf("refused requests recorded %d events", n)
	}
}

func TestHandlerEvents(t *testing.T) {
	ca := newIdentity(t, "Device CA", nil, true)
	issued := newIdentity(t, "trusted device", &ca, false)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	const udid = "0000FE00-0000-4000-8000-000000000001"

	r := newRig(t, WithTrustRoots(roots))
	// Unknown device, untrusted signer: a server event naming the UDID.
	r.post(t, sign(t, r.device, macFixture(t)), "")
	// Unknown device, signer chains to the roots: the device's history.
	r.post(t, sign(t, issued, macFixture(t)), "")
	// Known device, untrusted signer, allowed: the device's history.
	r.store.devices[udid] = true
	up := bytes.Replace(macFixture(t), []byte("<string>15.1</string>"), []byte("<string>26.1</string>"), 1)
	r.post(t, sign(t, r.device, up), "")
	// An invalid UDID never names a history.
	odd := bytes.Replace(macFixture(t), []byte(udid), []byte("../../etc"), 1)
	r.post(t, sign(t, issued, odd), "")

	ev := r.store.allEvents()
	if len(ev) != 4 {
		t.Fatalf("want 4 events, got %+v", ev)
	}
	for i, want := range []struct{ device, kind, chain, required string }{
		{"", EventUpdateRequired, "false", "15.7.2"},
		{udid, EventUpdateRequired, "true", "15.7.2"},
		{udid, EventAllowed, "false", ""},
		{"", EventUpdateRequired, "true", "15.7.2"},
	} {
		e := ev[i]
		if e.DeviceID != want.device || e.Kind != want.kind || e.Data["chain_verified"] != want.chain ||
			e.Data["required_os_version"] != want.required || e.Data["signed"] != "true" || !e.At.Equal(now) {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	if ev[0].Data["udid"] != udid || ev[0].Data["chain_error"] == "" || ev[0].Data["signer_hash"] == "" ||
		ev[0].Data["code"] != CodeUpdateRequired || !strings.Contains(ev[0].Message, "15.7.2") {
		t.Errorf("server event data: %+v", ev[0])
	}
}

func TestHandlerDependencies(t *testing.T) {
	body := func(r *rig) []byte { return sign(t, r.device, macFixture(t)) }
	t.Run("no catalog yet: enrolled", func(t *testing.T) {
		r := newRig(t)
		r.handler.catalog = fakeCatalog{}
		if rec := r.post(t, body(r), ""); rec.Code != http.StatusOK {
			t.Fatalf("%d", rec.Code)
		}
		if ev := r.store.allEvents(); len(ev) != 1 || ev[0].Data["code"] != CodeNoCatalog {
			t.Fatalf("%+v", ev)
		}
	})
	t.Run("event store failing: still answered", func(t *testing.T) {
		r := newRig(t)
		r.store.failEvent = errors.New("disk trouble")
		if rec := r.post(t, body(r), ""); rec.Code != http.StatusForbidden {
			t.Fatalf("%d", rec.Code)
		}
	})
	for name, mutate := range map[string]func(*rig){
		"settings unreadable": func(r *rig) { r.store.failMeta = errors.New("io error") },
		"catalog failing":     func(r *rig) { r.handler.catalog = fakeCatalog{err: errors.New("boom")} },
		"profile failing": func(r *rig) {
			r.handler.profiles = fakeProfiles{err: errors.New("no topic")}
			r.store.meta[MetaKey] = []byte(`{"rules":[]}`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			mutate(r)
			if rec := r.post(t, body(r), ""); rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "boom") {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	for accept, want := range map[string]string{
		"":                                  ContentTypeJSON,
		"application/xml":                   ContentTypeXML,
		"TEXT/XML":                          ContentTypeTextXML,
		"text/*":                            ContentTypeTextXML,
		"application/*":                     ContentTypeJSON, // tie: JSON
		"application/xml, text/xml":         ContentTypeXML,
		"text/xml, application/xml;q=0.5":   ContentTypeTextXML,
		"application/xml;q=0, */*":          ContentTypeJSON,
		"application/xml;q=bogus":           ContentTypeXML,
		"application/json;q=0.1, */*;q=0.5": ContentTypeXML, // anything, XML included, beats JSON
		",,;;":                              ContentTypeJSON,
	} {
		if got, _ := negotiate(accept); got != want {
			t.Errorf("Accept %q: %s, want %s", accept, got, want)
		}
	}
}
