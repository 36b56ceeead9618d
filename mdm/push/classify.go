package push

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// classifyStatus maps an APNs answer to a Kind. Apple's guidance: never
// resend for BadDeviceToken, DeviceTokenNotForTopic, Forbidden,
// ExpiredToken, Unregistered or PayloadTooLarge; resend later for
// TooManyRequests and 5xx.
func classifyStatus(status int, reason string) Kind {
	switch status {
	case http.StatusOK:
		return Delivered
	case http.StatusGone: // Unregistered, ExpiredToken
		return Dead
	case http.StatusBadRequest:
		return classifyBadRequest(reason)
	case http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
		// Certificate, environment or endpoint problems: an admin must fix them.
		return Config
	case http.StatusTooManyRequests:
		return Transient
	}
	if status >= 500 && status <= 599 {
		return Transient
	}
	return Rejected
}

func classifyBadRequest(reason string) Kind {
	switch reason {
	case "BadDeviceToken":
		// A malformed token, or a sandbox token sent to production: either
		// way this token will never work here.
		return Dead
	case "DeviceTokenNotForTopic", "TopicDisallowed", "BadTopic", "MissingTopic":
		return Config
	case "IdleTimeout":
		// APNs closed an idle connection; a fresh request goes through.
		return Transient
	}
	return Rejected
}

// configReasons are APNs reasons that, when they arrive in a GOAWAY frame,
// mean our certificate or topic is wrong rather than a passing failure.
var configReasons = map[string]bool{
	"BadCertificate": true, "BadCertificateEnvironment": true, "Forbidden": true,
	"ExpiredProviderToken": true, "InvalidProviderToken": true, "MissingProviderToken": true,
	"DeviceTokenNotForTopic": true, "TopicDisallowed": true, "BadTopic": true, "MissingTopic": true,
}

// classifyError sorts a failure that produced no HTTP answer. Most are
// transient (timeouts, resets, GOAWAY); the ones that show our TLS setup is
// wrong are Config, so nobody hammers APNs with a bad certificate.
func classifyError(err error) (Kind, string) {
	if reason := goAwayReason(err); reason != "" {
		if configReasons[reason] {
			return Config, reason
		}
		return Transient, reason
	}
	var verifyErr *tls.CertificateVerificationError
	if errors.As(err, &verifyErr) {
		return Config, "APNs server certificate not trusted"
	}
	if alert, ok := remoteTLSAlert(err); ok && certificateAlerts[alert] {
		return Config, "APNs refused the push certificate"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Transient, "timeout"
	}
	return Transient, ""
}

// certificateAlerts are TLS alert codes a server sends when it refuses the
// client certificate: bad_certificate, unsupported_certificate,
// certificate_revoked, certificate_expired, certificate_unknown, unknown_ca,
// access_denied, certificate_required.
var certificateAlerts = map[uint8]bool{42: true, 43: true, 44: true, 45: true, 46: true, 48: true, 49: true, 116: true}

// remoteTLSAlert finds an alert the server sent. crypto/tls reports it as a
// net.OpError with Op "remote error" around an unexported uint8 type.
func remoteTLSAlert(err error) (uint8, bool) {
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "remote error" || opErr.Err == nil {
		return 0, false
	}
	v := reflect.ValueOf(opErr.Err)
	if v.Kind() != reflect.Uint8 {
		return 0, false
	}
	return uint8(v.Uint()), true
}

// goAwayReason digs the APNs reason out of a GOAWAY frame's debug data.
// net/http keeps the GOAWAY error type unexported, so it is found by its
// exported DebugData field anywhere in the chain.
func goAwayReason(err error) string {
	for depth := 0; err != nil && depth < 16; depth++ {
		v := reflect.ValueOf(err)
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Struct && strings.Contains(v.Type().Name(), "GoAwayError") {
			if f := v.FieldByName("DebugData"); f.IsValid() && f.Kind() == reflect.String {
				return parseReason([]byte(f.String()))
			}
		}
		err = errors.Unwrap(err)
	}
	return ""
}

// maxReasonBody bounds how much of an error body we read: APNs sends a few
// dozen bytes, anything longer is not APNs.
const maxReasonBody = 4 << 10

// parseReason returns the "reason" of an APNs JSON error body, or "" when
// the body is not such JSON. Only printable ASCII up to 128 bytes is kept,
// since the text ends up in logs and the admin UI.
func parseReason(body []byte) string {
	var v struct {
		Reason string `json:"reason"`
	}
	if len(body) > maxReasonBody || json.Unmarshal(body, &v) != nil {
		return ""
	}
	reason := v.Reason
	if len(reason) > 128 {
		reason = reason[:128]
	}
	for i := 0; i < len(reason); i++ {
		if reason[i] < 0x20 || reason[i] > 0x7e {
			return ""
		}
	}
	return reason
}

// parseRetryAfter reads a Retry-After header in seconds (APNs itself does
// not send one, but proxies in front of it may). Dates and junk yield 0.
func parseRetryAfter(h string, limit time.Duration) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || secs <= 0 {
		return 0
	}
	if int64(secs) > int64(limit/time.Second) {
		return limit
	}
	return time.Duration(secs) * time.Second
}
