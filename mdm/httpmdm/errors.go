package httpmdm

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// httpError carries the status a device gets and the reason we log.
type httpError struct {
	status int
	msg    string
	err    error
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *httpError) Unwrap() error { return e.err }

// statusFor maps every error the handler can meet to one HTTP status.
// 401 is never used: devices may unenroll on it.
func statusFor(err error) (int, string) {
	var he *httpError
	var de *mdm.DecodeError
	var full *storage.DiskFullError
	var coded interface{ HTTPStatus() int }
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &coded) && coded.HTTPStatus() >= 400 && coded.HTTPStatus() < 500 && coded.HTTPStatus() != http.StatusUnauthorized:
		// Services behind the device endpoint (DDM) say which 4xx fits.
		return coded.HTTPStatus(), err.Error()
	case errors.As(err, &de):
		return http.StatusBadRequest, de.Error()
	case errors.Is(err, storage.ErrInvalidID):
		return http.StatusBadRequest, "invalid device id"
	case errors.Is(err, storage.ErrCertBoundToPeer), errors.Is(err, storage.ErrCertMismatch):
		return http.StatusForbidden, "certificate does not belong to this device"
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusForbidden, "unknown device: enroll first"
	case errors.As(err, &full):
		return http.StatusServiceUnavailable, "server storage is full"
	}
	return http.StatusInternalServerError, "internal error"
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, msg := statusFor(err)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	} else if status == http.StatusForbidden {
		level = slog.LevelWarn
	}
	log.Log(r.Context(), level, "device request refused", logkeys.HTTPStatus, status,
		logkeys.Path, r.URL.Path, logkeys.Err, err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "60")
	}
	http.Error(w, msg, status)
}

// requestID reuses a proxy's id when present so logs can be joined.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func certFromProxyHeader(v string) (*x509.Certificate, error) {
	unescaped, err := url.QueryUnescape(v)
	if err != nil {
		return nil, fmt.Errorf("proxy certificate header: %w", err)
	}
	block, _ := pem.Decode([]byte(unescaped))
	if block == nil {
		return nil, errors.New("proxy certificate header: no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
