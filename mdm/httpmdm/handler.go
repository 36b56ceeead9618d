// Package httpmdm serves the device side of MDM over HTTP: check-ins and
// command reports, with device identity verified on every request. It
// never answers 401: Apple devices may unenroll on it.
package httpmdm

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

// MaxBodyBytes bounds a device request body.
const MaxBodyBytes = 1 << 20

// Verifier checks device identities.
type Verifier interface {
	VerifyMdmSignature(header string, body []byte, now time.Time) (*x509.Certificate, error)
	VerifyCert(cert *x509.Certificate, now time.Time) error
}

// Sealer encrypts secrets at rest, bound to additional data.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(ciphertext, additionalData []byte) ([]byte, error)
}

// Store is the storage the handler needs.
type Store interface {
	storage.DeviceStore
	NextCommand(ctx context.Context, deviceID string, idle bool, at time.Time) (*storage.Command, error)
	StoreReport(ctx context.Context, r storage.Result, fx storage.ResultEffects) (storage.ReportOutcome, error)
	Command(ctx context.Context, uuid string) (*storage.Command, error)
}

// Declarative handles the DeclarativeManagement check-in.
type Declarative interface {
	HandleDeclarativeManagement(ctx context.Context, deviceID, endpoint string, data []byte) (body []byte, contentType string, err error)
}

// ResultInterpreter turns a typed command result into the changes stored
// with it (device facts, update state).
type ResultInterpreter interface {
	Effects(ctx context.Context, deviceID, requestType, status string, raw []byte, at time.Time) (storage.ResultEffects, error)
}

// Hooks are notified after a message was stored (re-planning, DDM sync).
type Hooks interface {
	Enrolled(ctx context.Context, deviceID string, first bool)
	ReportStored(ctx context.Context, deviceID, requestType, status string)
}

// Handler serves /mdm and /mdm/checkin.
type Handler struct {
	store       Store
	verifier    Verifier
	sealer      Sealer
	log         *slog.Logger
	now         func() time.Time
	ddm         Declarative
	results     ResultInterpreter
	hooks       Hooks
	proxyHeader string
	seen        *lastSeen
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithClock injects time.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithDeclarative routes DeclarativeManagement check-ins.
func WithDeclarative(d Declarative) Option { return func(h *Handler) { h.ddm = d } }

// WithResultInterpreter interprets typed command results.
func WithResultInterpreter(r ResultInterpreter) Option { return func(h *Handler) { h.results = r } }

// WithHooks sets post-store notifications.
func WithHooks(k Hooks) Option { return func(h *Handler) { h.hooks = k } }

// WithTrustedProxyHeader accepts a URL-escaped PEM client certificate in
// the named header, for TLS terminated by a trusted proxy. Off by default:
// anyone could send the header otherwise.
func WithTrustedProxyHeader(name string) Option { return func(h *Handler) { h.proxyHeader = name } }

// New builds a Handler.
func New(store Store, verifier Verifier, sealer Sealer, opts ...Option) *Handler {
	h := &Handler{store: store, verifier: verifier, sealer: sealer, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(h)
	}
	h.seen = &lastSeen{stamps: make(map[string]time.Time)}
	return h
}

// request is one device request after identity verification.
type request struct {
	body     []byte
	cert     *x509.Certificate
	certHash string
	at       time.Time
	log      *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		w.Header().Set("Allow", "PUT, POST")
		h.fail(w, r, h.log, &httpError{status: http.StatusMethodNotAllowed, msg: "use PUT"})
		return
	}
	log := h.log.With(logkeys.RequestID, requestID(r))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, log, &httpError{status: http.StatusRequestEntityTooLarge, msg: "body exceeds 1 MiB"})
			return
		}
		h.fail(w, r, log, &httpError{status: http.StatusBadRequest, msg: "reading body failed", err: err})
		return
	}
	req := &request{body: body, at: h.now(), log: log}
	if err := h.identify(r, req); err != nil {
		h.fail(w, r, log, err)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-apple-aspen-mdm-checkin") {
		err = h.checkin(w, r.Context(), req)
	} else {
		err = h.connect(w, r.Context(), req)
	}
	if err != nil {
		h.fail(w, r, req.log, err)
	}
}

// identify finds and verifies the device certificate: Mdm-Signature first,
// then the TLS client certificate, then a trusted proxy header.
func (h *Handler) identify(r *http.Request, req *request) error {
	var cert *x509.Certificate
	var err error
	switch sig := r.Header.Get("Mdm-Signature"); {
	case sig != "":
		cert, err = h.verifier.VerifyMdmSignature(sig, req.body, req.at)
	case r.TLS != nil && len(r.TLS.PeerCertificates) > 0:
		cert = r.TLS.PeerCertificates[0]
		err = h.verifier.VerifyCert(cert, req.at)
	case h.proxyHeader != "" && r.Header.Get(h.proxyHeader) != "":
		cert, err = certFromProxyHeader(r.Header.Get(h.proxyHeader))
		if err == nil {
			err = h.verifier.VerifyCert(cert, req.at)
		}
	default:
		return &httpError{status: http.StatusBadRequest, msg: "no device identity: Mdm-Signature header or client certificate required"}
	}
	if err != nil {
		return &httpError{status: http.StatusForbidden, msg: "device identity rejected", err: err}
	}
	sum := sha256.Sum256(cert.Raw)
	req.cert, req.certHash = cert, hex.EncodeToString(sum[:])
	return nil
}

// lastSeen throttles last-seen writes: the timestamp is only useful to the
// minute, and writing it on every request would double the write load.
type lastSeen struct {
	mu     sync.Mutex
	stamps map[string]time.Time
}

const lastSeenResolution = time.Minute

func (l *lastSeen) due(id string, at time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.stamps[id]; ok && at.Sub(prev) < lastSeenResolution {
		return false
	}
	if len(l.stamps) > 1_000_000 {
		clear(l.stamps)
	}
	l.stamps[id] = at
	return true
}

func (h *Handler) touch(ctx context.Context, req *request, id string) {
	if !h.seen.due(id, req.at) {
		return
	}
	if err := h.store.TouchLastSeen(ctx, id, req.at); err != nil && !errors.Is(err, storage.ErrNotFound) {
		req.log.Warn("recording last seen failed", logkeys.DeviceID, id, logkeys.Err, err)
	}
}
