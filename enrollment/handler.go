package enrollment

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

// MaxBodyBytes bounds a MachineInfo request: the plist is a few hundred
// bytes, the CMS envelope adds a certificate chain of a few KB.
const MaxBodyBytes = 64 << 10

// ProfileContentType is the media type of an enrollment profile.
const ProfileContentType = "application/x-apple-aspen-config"

// Store is the storage the handler needs.
type Store interface {
	SettingsStore
	AddEvents(ctx context.Context, events ...storage.Event) error
	Device(ctx context.Context, id string) (*storage.Device, error)
}

// CatalogSource gives the current release catalog
// (enforcement.ErrNoCatalog before one is loaded).
type CatalogSource interface {
	Catalog(ctx context.Context) (*enforcement.Catalog, error)
}

// ProfileSource renders the enrollment profile a device receives.
type ProfileSource interface {
	EnrollmentProfile(ctx context.Context, oneTime bool) ([]byte, error)
}

// Handler serves POST /enroll: MachineInfo in, enrollment profile or a
// softwareupdate.required 403 out.
type Handler struct {
	store    Store
	catalog  CatalogSource
	profiles ProfileSource
	log      *slog.Logger
	now      func() time.Time
	roots    *x509.CertPool
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithClock injects time.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithTrustRoots sets the roots a MachineInfo signer is checked against;
// the outcome is recorded with every decision, it never refuses a device.
func WithTrustRoots(roots *x509.CertPool) Option { return func(h *Handler) { h.roots = roots } }

// NewHandler builds the enrollment endpoint.
func NewHandler(store Store, catalog CatalogSource, profiles ProfileSource, opts ...Option) *Handler {
	h := &Handler{store: store, catalog: catalog, profiles: profiles, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// ServeHTTP reads MachineInfo, decides, records the decision and answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, r, &httpError{status: http.StatusMethodNotAllowed, msg: "MachineInfo must be POSTed"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	settings, err := LoadSettings(ctx, h.store)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.now()
	mi, sig, err := ReadMachineInfo(body, settings.AllowUnsigned, h.roots, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cat, err := h.catalog.Catalog(ctx)
	if err != nil && !errors.Is(err, enforcement.ErrNoCatalog) {
		h.fail(w, r, err)
		return
	}
	d := Decide(*mi, settings.Rules, cat, now)
	h.record(ctx, decisionEvent(ctx, h.store, mi, sig, d, now))
	if !d.Allow {
		h.writeRequired(w, r, d)
		return
	}
	h.writeProfile(w, r)
}

// writeProfile answers with the profile. oneTime is false: the profile
// source then uses the static challenge when one is configured and a
// fresh one-time challenge otherwise.
func (h *Handler) writeProfile(w http.ResponseWriter, r *http.Request) {
	profile, err := h.profiles.EnrollmentProfile(r.Context(), false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ProfileContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(profile)
}

// record stores the decision event. A failed write is logged, not
// answered: the device's enrollment must not depend on our history.
func (h *Handler) record(ctx context.Context, ev storage.Event) {
	if err := h.store.AddEvents(ctx, ev); err != nil {
		h.log.Error("recording enrollment decision failed", logkeys.Err, err)
	}
}
