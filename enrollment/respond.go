package enrollment

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// httpError carries a status chosen by the handler itself.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// statusFor maps every error the handler meets to one status. 403 is kept
// for softwareupdate.required: a device reads a 403 body as that error.
func statusFor(err error) (int, string) {
	var he *httpError
	var tooBig *http.MaxBytesError
	var decode *mdm.DecodeError
	var full *storage.DiskFullError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "MachineInfo too large"
	case errors.Is(err, ErrUnsigned):
		return http.StatusUnsupportedMediaType, ErrUnsigned.Error()
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrNotMachineInfo), errors.As(err, &decode):
		return http.StatusBadRequest, err.Error()
	case errors.As(err, &full):
		return http.StatusServiceUnavailable, "server storage is full"
	}
	return http.StatusInternalServerError, "internal error"
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusFor(err)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "enrollment request refused", logkeys.HTTPStatus, status,
		logkeys.Path, r.URL.Path, logkeys.Err, err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "60")
	}
	http.Error(w, msg, status)
}

// writeRequired answers 403 with the softwareupdate.required body, as an
// XML plist when the client prefers XML and as JSON otherwise.
func (h *Handler) writeRequired(w http.ResponseWriter, r *http.Request, d Decision) {
	contentType, xml := negotiate(r.Header.Get("Accept"))
	var body []byte
	var err error
	if xml {
		body, err = d.Required.PlistXML()
	} else {
		body, err = d.Required.JSON()
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(body)
}

// Media types of the 403 body.
const (
	ContentTypeJSON    = "application/json"
	ContentTypeXML     = "application/xml"
	ContentTypeTextXML = "text/xml"
)

// negotiate picks the 403 body's media type from Accept: XML only when an
// XML type is preferred over JSON, JSON otherwise (also when nothing we
// offer is acceptable: a device gets an answer it can read rather than a
// 406 that would stop its setup).
func negotiate(accept string) (contentType string, xml bool) {
	q := parseAccept(accept)
	jsonQ := q.of(ContentTypeJSON)
	appQ, textQ := q.of(ContentTypeXML), q.of(ContentTypeTextXML)
	switch {
	case appQ > jsonQ && appQ >= textQ:
		return ContentTypeXML, true
	case textQ > jsonQ:
		return ContentTypeTextXML, true
	}
	return ContentTypeJSON, false
}

// acceptQ maps media ranges to their quality.
type acceptQ map[string]float64

func parseAccept(header string) acceptQ {
	q := acceptQ{}
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		if mt == "" {
			continue
		}
		weight := 1.0
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					weight = f
				}
			}
		}
		if old, ok := q[mt]; !ok || weight > old {
			q[mt] = weight
		}
	}
	return q
}

// of gives the quality of a concrete media type: the most specific range
// that names it wins, as HTTP says.
func (q acceptQ) of(mediaType string) float64 {
	if v, ok := q[mediaType]; ok {
		return v
	}
	major, _, _ := strings.Cut(mediaType, "/")
	if v, ok := q[major+"/*"]; ok {
		return v
	}
	return q["*/*"]
}
