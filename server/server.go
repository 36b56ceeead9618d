package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm/httpmdm"
	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/storage"
	"github.com/tidemark-mdm/tidemark/storage/bolt"
)

// File names inside the data directory.
const (
	DBFile      = "tidemark.db"
	APIKeyFile  = "api.key"
	SealKeyFile = "seal.key"
)

// Server is one running Tidemark.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    *bolt.Store
	ca       *certs.CA
	sealer   *certs.Sealer
	verifier *certs.Verifier
	apiKey   string
	// APIKeyCreated is true when this start generated the admin key.
	APIKeyCreated bool
	handler       http.Handler
	push          *pushService
	ddm           *ddmsvc.Service
	policy        *policysvc.Service
	reconciler    *reconcile.Worker
	workers       sync.WaitGroup
}

// New prepares the data directory and assembles the server.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if err := s.prepareDataDir(); err != nil {
		return nil, err
	}
	if err := s.loadSecrets(); err != nil {
		return nil, err
	}
	s.store, err = bolt.Open(filepath.Join(cfg.DataDir, DBFile), cfg.LockTimeout,
		bolt.WithMaxResults(cfg.MaxResults), bolt.WithMaxEvents(cfg.MaxEvents))
	if err != nil {
		return nil, err
	}
	if err := s.assemble(); err != nil {
		s.store.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) prepareDataDir() error {
	dir := s.cfg.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("data directory %s has mode %04o: it must not be accessible by group or others (run: chmod 700 %s)",
			dir, info.Mode().Perm(), dir)
	}
	db := filepath.Join(dir, DBFile)
	if info, err := os.Stat(db); err == nil && info.Mode().Perm()&0o077 != 0 {
		return &certs.PermissionError{Path: db, Mode: info.Mode()}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Server) loadSecrets() error {
	var err error
	// The CA follows the configured clock, so a simulated clock (tests, the
	// demo) issues certificates valid in simulated time.
	opts := []certs.CAOption{certs.WithCAClock(s.cfg.Now)}
	if s.cfg.CAKeyBits != 0 {
		opts = append(opts, certs.WithCAKeyBits(s.cfg.CAKeyBits))
	}
	if s.ca, err = certs.LoadOrCreateCA(s.cfg.DataDir, opts...); err != nil {
		return err
	}
	if s.sealer, err = certs.LoadOrCreateSealKey(filepath.Join(s.cfg.DataDir, SealKeyFile)); err != nil {
		return err
	}
	key, created, err := certs.LoadOrCreateSecretFile(filepath.Join(s.cfg.DataDir, APIKeyFile), newAPIKey)
	if err != nil {
		return err
	}
	s.apiKey, s.APIKeyCreated = string(trimNewline(key)), created
	s.verifier = certs.NewVerifier(s.ca)
	return nil
}

func newAPIKey() ([]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return []byte(base64.RawURLEncoding.EncodeToString(b[:]) + "\n"), nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// assemble wires the handlers.
func (s *Server) assemble() error {
	var err error
	if s.push, err = newPushService(s); err != nil {
		return err
	}
	s.ddm = s.newDDM()
	if s.policy, err = s.newPolicyService(); err != nil {
		return err
	}
	s.reconciler = s.newReconciler()
	mdmOpts := []httpmdm.Option{httpmdm.WithLogger(s.log.With(logkeys.Component, "mdm")),
		httpmdm.WithClock(s.cfg.Now), httpmdm.WithResultInterpreter(commands.NewInterpreter()),
		httpmdm.WithDeclarative(s.ddm), httpmdm.WithHooks(deviceHooks{ddm: s.ddm, rec: s.reconciler})}
	if s.cfg.TrustedProxyHeader != "" {
		mdmOpts = append(mdmOpts, httpmdm.WithTrustedProxyHeader(s.cfg.TrustedProxyHeader))
	}
	mdmHandler := httpmdm.New(s.store, s.verifier, s.sealer, mdmOpts...)
	scep := certs.NewSCEPHandler(s.ca, certs.ChallengeFunc(s.checkChallenge),
		certs.WithCertValidity(s.cfg.CertValidity), certs.WithSCEPLogger(s.log.With(logkeys.Component, "scep")))
	adminOpts := []api.Option{api.WithLogger(s.log.With(logkeys.Component, "api")), api.WithClock(s.cfg.Now),
		api.WithDeviceExtras(s.updateStateExtra),
		api.WithRoutes(s.ddm.Routes), api.WithDeviceExtras(s.ddm.DeviceExtra)}
	adminOpts = append(adminOpts, s.policy.APIOptions()...)
	adminOpts = append(adminOpts, api.WithRoutes(s.reconciler.Routes(s.store)), api.WithDeviceExtras(s.enforcementExtra))
	adminOpts = append(adminOpts, s.enrollmentOptions()...)
	adminOpts = append(adminOpts, api.WithRoutes(s.MetricsRoute))
	admin := api.New(s.apiKey, notifyingStore{Store: s.store, enqueued: s.push.nudge}, commands.New(), s, s.push, adminOpts...)

	mux := http.NewServeMux()
	mux.Handle("/mdm", mdmHandler)
	mux.Handle("/mdm/checkin", mdmHandler)
	enroll := s.enrollmentHandler()
	mux.Handle("POST /enroll", enroll)
	mux.Handle("POST /mdm/enroll", enroll)
	mux.Handle("/scep", scep)
	mux.Handle("/v1/", admin)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.handler = recoverer(s.log, mux)
	return nil
}

// checkChallenge accepts the static challenge (constant time) or consumes
// a one-time challenge.
func (s *Server) checkChallenge(ctx context.Context, challenge string) error {
	if challenge == "" {
		return errors.New("empty challenge")
	}
	if st := s.cfg.StaticChallenge; st != "" && subtle.ConstantTimeCompare([]byte(st), []byte(challenge)) == 1 {
		return nil
	}
	return s.store.ConsumeChallenge(ctx, challenge, s.cfg.Now())
}

// Handler is the whole HTTP surface (devices, SCEP, admin API).
func (s *Server) Handler() http.Handler { return s.handler }

// Store exposes storage to in-process tools (tests, demo, bench).
func (s *Server) Store() *bolt.Store { return s.store }

// CA exposes the device CA to in-process tools.
func (s *Server) CA() *certs.CA { return s.ca }

// APIKey is the admin bearer key.
func (s *Server) APIKey() string { return s.apiKey }

// Config is the effective configuration.
func (s *Server) Config() Config { return s.cfg }

// StartWorkers runs the background workers until ctx ends.
func (s *Server) StartWorkers(ctx context.Context) {
	s.startPolicyWorkers(ctx)
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		s.reconciler.Run(ctx)
	}()
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		s.push.run(ctx)
	}()
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		s.ddm.Run(ctx)
	}()
}

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.StartWorkers(ctx)
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	s.workers.Wait()
	return err
}

// Close releases the database.
func (s *Server) Close() error { return s.store.Close() }

func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panicked", logkeys.Path, r.URL.Path, logkeys.Err, fmt.Sprint(v))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

var _ storage.Store = (*bolt.Store)(nil)

// AddressFile holds the admin URL of the running server, so the CLI on the
// same machine finds it without flags.
const AddressFile = "admin.url"

// WriteAddressFile records the address the server listens on.
func (s *Server) WriteAddressFile(addr net.Addr) error {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	u := scheme + "://" + net.JoinHostPort(host, port) + "\n"
	return os.WriteFile(filepath.Join(s.cfg.DataDir, AddressFile), []byte(u), 0o600)
}
