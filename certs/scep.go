package certs

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"
)

func init() {
	// pkcs7 keeps its algorithm choices in package variables. We set them
	// once, before any request can run, instead of per call (which would race):
	// AES-128-CBC is what the "AES" capability promises (RFC 8894 3.5.2), and
	// SHA-256 signs our CertRep replies as "SHA-256" promises.
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES128CBC
	if err := pkcs7.SetDefaultDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256); err != nil {
		panic("certs: pkcs7 refuses SHA-256: " + err.Error())
	}
}

// SCEP media types (RFC 8894 4.2, 4.3).
const (
	ContentTypeCACert     = "application/x-x509-ca-cert"
	ContentTypePKIMessage = "application/x-pki-message"
)

// DefaultMaxSCEPMessageBytes bounds a PKIOperation message. A PKCSReq
// carrying a 4096-bit CSR and a transient certificate stays under 8 KiB.
const DefaultMaxSCEPMessageBytes = 64 << 10

// scepCaps lists only what this server does. No "Renewal": we answer
// PKCSReq only, and a device gets a new identity by enrolling again.
const scepCaps = "POSTPKIOperation\nSHA-256\nAES\nSCEPStandard\n"

// ChallengeChecker decides whether a SCEP challenge password is acceptable.
// One-time challenges must be consumed by a successful check.
type ChallengeChecker interface {
	CheckChallenge(ctx context.Context, challenge string) error
}

// ChallengeFunc adapts a function to ChallengeChecker.
type ChallengeFunc func(ctx context.Context, challenge string) error

// CheckChallenge calls f.
func (f ChallengeFunc) CheckChallenge(ctx context.Context, challenge string) error {
	return f(ctx, challenge)
}

// SCEPOption adjusts NewSCEPHandler.
type SCEPOption func(*scepHandler)

// WithCertValidity sets the validity of issued device certificates.
func WithCertValidity(d time.Duration) SCEPOption { return func(h *scepHandler) { h.validity = d } }

// WithOnIssued registers a hook called after each certificate is issued.
func WithOnIssued(fn func(*x509.Certificate)) SCEPOption {
	return func(h *scepHandler) { h.onIssued = fn }
}

// WithSCEPLogger sets the logger; by default nothing is logged.
func WithSCEPLogger(l *slog.Logger) SCEPOption { return func(h *scepHandler) { h.log = l } }

// WithMaxMessageBytes overrides DefaultMaxSCEPMessageBytes.
func WithMaxMessageBytes(n int64) SCEPOption { return func(h *scepHandler) { h.maxBytes = n } }

type scepHandler struct {
	ca         *CA
	challenges ChallengeChecker
	validity   time.Duration
	onIssued   func(*x509.Certificate)
	log        *slog.Logger
	maxBytes   int64
}

// NewSCEPHandler serves SCEP at any path, dispatching on ?operation=.
// Challenge, CSR and decryption problems are answered with a signed CertRep
// FAILURE (HTTP 200) as SCEP clients expect; only an unreadable message gets
// an HTTP 4xx.
func NewSCEPHandler(ca *CA, challenges ChallengeChecker, opts ...SCEPOption) http.Handler {
	h := &scepHandler{
		ca:         ca,
		challenges: challenges,
		validity:   DefaultDeviceCertValidity,
		log:        slog.New(slog.DiscardHandler),
		maxBytes:   DefaultMaxSCEPMessageBytes,
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

func (h *scepHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.URL.Query().Get("operation")
	switch op {
	case "GetCACaps":
		if allowMethods(w, r, http.MethodGet, http.MethodHead) {
			writeBody(w, "text/plain", []byte(scepCaps))
		}
	case "GetCACert":
		if allowMethods(w, r, http.MethodGet, http.MethodHead) {
			writeBody(w, ContentTypeCACert, h.ca.cert.Raw)
		}
	case "PKIOperation":
		if allowMethods(w, r, http.MethodGet, http.MethodPost) {
			h.pkiOperation(w, r)
		}
	default:
		http.Error(w, "unknown SCEP operation "+strconv.Quote(op), http.StatusBadRequest)
	}
}

func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func writeBody(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (h *scepHandler) pkiOperation(w http.ResponseWriter, r *http.Request) {
	msg, err := readPKIMessage(r, h.maxBytes)
	if err != nil {
		var tooBig *messageTooLargeError
		if errors.As(err, &tooBig) {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reply, err := h.answer(r.Context(), msg)
	if err != nil {
		h.log.ErrorContext(r.Context(), "scep: cannot build CertRep", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeBody(w, ContentTypePKIMessage, reply)
}

// answer turns a parsed request into the raw CertRep to send back.
func (h *scepHandler) answer(ctx context.Context, msg *scep.PKIMessage) ([]byte, error) {
	if msg.MessageType != scep.PKCSReq {
		return h.fail(ctx, msg, scep.BadRequest, "unsupported message type "+string(msg.MessageType), nil)
	}
	if err := decryptRequest(msg, h.ca); err != nil {
		return h.fail(ctx, msg, scep.BadMessageCheck, "cannot decrypt request", err)
	}
	// Check the CSR before the challenge so a bad request never burns a
	// one-time challenge.
	if err := CheckCSR(msg.CSR); err != nil {
		return h.fail(ctx, msg, scep.BadRequest, "certificate request refused", err)
	}
	if err := h.challenges.CheckChallenge(ctx, msg.ChallengePassword); err != nil {
		return h.fail(ctx, msg, scep.BadRequest, "challenge refused", err)
	}
	cert, err := h.ca.Issue(msg.CSR, h.validity)
	if err != nil {
		return nil, err
	}
	rep, err := msg.Success(h.ca.cert, h.ca.key, cert)
	if err != nil {
		return nil, err
	}
	h.log.InfoContext(ctx, "scep: issued device certificate",
		"cn", cert.Subject.CommonName, "serial", cert.SerialNumber.Text(16), "cert_hash", CertHash(cert))
	if h.onIssued != nil {
		h.onIssued(cert)
	}
	return rep.Raw, nil
}

func (h *scepHandler) fail(ctx context.Context, msg *scep.PKIMessage, info scep.FailInfo, reason string, cause error) ([]byte, error) {
	// The challenge itself is a secret and is never logged.
	h.log.WarnContext(ctx, "scep: request refused", "reason", reason, "err", cause,
		"fail_info", FailInfoName(info), "transaction_id", string(msg.TransactionID))
	rep, err := msg.Fail(h.ca.cert, h.ca.key, info)
	if err != nil {
		return nil, err
	}
	return rep.Raw, nil
}

// FailInfoName names a SCEP failInfo. scep.FailInfo.String panics
// on values it does not know, and device replies are untrusted.
func FailInfoName(info scep.FailInfo) string {
	switch info {
	case scep.BadAlg:
		return "badAlg"
	case scep.BadMessageCheck:
		return "badMessageCheck"
	case scep.BadRequest:
		return "badRequest"
	case scep.BadTime:
		return "badTime"
	case scep.BadCertID:
		return "badCertID"
	}
	return "failInfo(" + strconv.Quote(string(info)) + ")"
}
