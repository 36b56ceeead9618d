package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

// MaxRequestBytes bounds an admin request body.
const MaxRequestBytes = 4 << 20

// Store is the storage the API reads and writes.
type Store interface {
	Device(ctx context.Context, id string) (*storage.Device, error)
	Devices(ctx context.Context, f storage.DeviceFilter) ([]storage.Device, error)
	Enqueue(ctx context.Context, cmd storage.Command, ids []string) error
	Queue(ctx context.Context, id string) ([]storage.QueueEntry, error)
	Cancel(ctx context.Context, id, uuid string) error
	Command(ctx context.Context, uuid string) (*storage.Command, error)
	Results(ctx context.Context, id string, limit int) ([]storage.Result, error)
	Result(ctx context.Context, id, uuid string) (*storage.Result, error)
	Events(ctx context.Context, id string, limit int) ([]storage.Event, error)
	AddEvents(ctx context.Context, events ...storage.Event) error
	AddChallenge(ctx context.Context, challenge string, expires time.Time) error
}

// CommandBuilder turns a typed request into a command plist, and checks
// a command against a device before it is queued.
type CommandBuilder interface {
	Build(kind string, params map[string]any, uuid string) (raw []byte, requestType string, err error)
	Inspect(raw []byte) (uuid, requestType string, err error)
	CheckDevice(raw []byte, requestType string, d *storage.Device) error
	Decode(requestType string, raw []byte) (any, error)
}

// ProfileSource renders enrollment profiles.
type ProfileSource interface {
	EnrollmentProfile(ctx context.Context, oneTime bool) ([]byte, error)
}

// PushCerts manages the APNs certificate.
type PushCerts interface {
	PushCertInfo(ctx context.Context) (PushCertInfo, error)
	UploadPushCert(ctx context.Context, certPEM, keyPEM []byte, force bool) (PushCertInfo, error)
}

// Server is the admin API handler.
type Server struct {
	apiKey   []byte
	store    Store
	commands CommandBuilder
	profiles ProfileSource
	push     PushCerts
	log      *slog.Logger
	now      func() time.Time
	mux      *http.ServeMux
	extra    []func(mux *http.ServeMux, s *Server)
	// deviceExtras add sections (update state, DDM status…) to device show.
	deviceExtras []func(ctx context.Context, d *storage.Device, into map[string]any) error
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock injects time.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRoutes lets other services register admin routes behind the same
// authentication and error handling.
func WithRoutes(register func(mux *http.ServeMux, s *Server)) Option {
	return func(s *Server) { s.extra = append(s.extra, register) }
}

// WithDeviceExtras adds a section to every `device show` answer.
func WithDeviceExtras(f func(ctx context.Context, d *storage.Device, into map[string]any) error) Option {
	return func(s *Server) { s.deviceExtras = append(s.deviceExtras, f) }
}

// New builds the API handler.
func New(apiKey string, store Store, commands CommandBuilder, profiles ProfileSource, push PushCerts, opts ...Option) *Server {
	s := &Server{apiKey: []byte(apiKey), store: store, commands: commands, profiles: profiles, push: push,
		log: slog.Default(), now: time.Now, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	s.routes()
	for _, r := range s.extra {
		r(s.mux, s)
	}
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /v1/devices", s.listDevices)
	s.mux.HandleFunc("GET /v1/devices/{id}", s.showDevice)
	s.mux.HandleFunc("GET /v1/devices/{id}/queue", s.deviceQueue)
	s.mux.HandleFunc("DELETE /v1/devices/{id}/queue/{uuid}", s.cancelCommand)
	s.mux.HandleFunc("GET /v1/devices/{id}/results", s.deviceResults)
	s.mux.HandleFunc("GET /v1/devices/{id}/results/{uuid}", s.deviceResult)
	s.mux.HandleFunc("GET /v1/devices/{id}/events", s.deviceEvents)
	s.mux.HandleFunc("GET /v1/events", s.serverEvents)
	s.mux.HandleFunc("POST /v1/commands", s.enqueue)
	s.mux.HandleFunc("GET /v1/commands/{uuid}", s.showCommand)
	s.mux.HandleFunc("POST /v1/challenges", s.newChallenge)
	s.mux.HandleFunc("GET /v1/enrollment-profile", s.enrollmentProfile)
	s.mux.HandleFunc("GET /v1/push-cert", s.pushCertInfo)
	s.mux.HandleFunc("PUT /v1/push-cert", s.uploadPushCert)
}

// ServeHTTP authenticates with the bearer API key, compared in constant time.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), s.apiKey) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tidemark"`)
		WriteError(w, http.StatusUnauthorized, "missing or wrong API key")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	s.mux.ServeHTTP(w, r)
}

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// WriteError writes a JSON error body.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, Error{Error: msg})
}

// Fail maps an error to a status and logs server-side failures.
func (s *Server) Fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var full *storage.DiskFullError
	var bad *BadRequestError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &bad), errors.Is(err, storage.ErrInvalidID):
		status = http.StatusBadRequest
	case errors.As(err, &tooBig):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, storage.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, storage.ErrDuplicate):
		status = http.StatusConflict
	case errors.Is(err, storage.ErrNotEnrolled):
		status = http.StatusUnprocessableEntity
	case errors.As(err, &full), errors.Is(err, storage.ErrTooMany):
		status = http.StatusServiceUnavailable
	}
	msg := err.Error()
	if errors.As(err, &full) {
		s.log.Error("storage full: write refused", logkeys.Path, r.URL.Path, logkeys.Err, err)
	}
	if status == http.StatusInternalServerError {
		s.log.Error("admin request failed", logkeys.Path, r.URL.Path, logkeys.Err, err)
		msg = "internal error"
	}
	WriteError(w, status, msg)
}

// BadRequestError marks input the admin must correct.
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

// BadRequest builds a BadRequestError.
func BadRequest(msg string) error { return &BadRequestError{Msg: msg} }

// DecodeJSON reads a strict JSON body: unknown fields are refused so a
// typo does not silently do nothing.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return BadRequest("invalid JSON body: " + err.Error())
	}
	if dec.More() {
		return BadRequest("invalid JSON body: trailing data")
	}
	return nil
}
