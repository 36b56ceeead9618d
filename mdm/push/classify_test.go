package push

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestClassifyStatus(t *testing.T) {
	cases := []struct {
		status int
		reason string
		want   Kind
	}{
		{200, "", Delivered},
		{400, "BadDeviceToken", Dead},
		{400, "DeviceTokenNotForTopic", Config},
		{400, "TopicDisallowed", Config},
		{400, "MissingTopic", Config},
		{400, "IdleTimeout", Transient},
		{400, "BadExpirationDate", Rejected},
		{400, "", Rejected},
		{403, "", Config},
		{403, "InvalidProviderToken", Config},
		{404, "BadPath", Config},
		{405, "", Config},
		{410, "", Dead},
		{410, "ExpiredToken", Dead},
		{413, "PayloadTooLarge", Rejected},
		{429, "TooManyProviderTokenUpdates", Transient},
		{500, "", Transient},
		{503, "Shutdown", Transient},
		{504, "", Transient},
		{599, "", Transient},
		{600, "", Rejected},
		{0, "", Rejected},
		{-1, "", Rejected},
		{301, "", Rejected},
	}
	for _, tc := range cases {
		if got := classifyStatus(tc.status, tc.reason); got != tc.want {
			t.Errorf("classifyStatus(%d, %q) = %v, want %v", tc.status, tc.reason, got, tc.want)
		}
	}
}

func TestClassifyErrorPlainFailures(t *testing.T) {
	cases := []struct {
		err    error
		kind   Kind
		reason string
	}{
		{context.DeadlineExceeded, Transient, "timeout"},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), Transient, "timeout"},
		{context.Canceled, Transient, ""},
		{errors.New("connection reset by peer"), Transient, ""},
	}
	for _, tc := range cases {
		kind, reason := classifyError(tc.err)
		if kind != tc.kind || reason != tc.reason {
			t.Errorf("classifyError(%v) = %v %q, want %v %q", tc.err, kind, reason, tc.kind, tc.reason)
		}
	}
}

func TestParseReason(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"reason":"BadDeviceToken"}`, "BadDeviceToken"},
		{`{"reason":"Unregistered","timestamp":1700000000000}`, "Unregistered"},
		{`{"timestamp":1}`, ""},
		{`{"reason":42}`, ""},
		{`not json`, ""},
		{``, ""},
		{`{"reason":"a\u0000b"}`, ""},
		{`{"reason":"` + strings.Repeat("x", 300) + `"}`, strings.Repeat("x", 128)},
		{`{"reason":"Shutdown"}` + strings.Repeat(" ", maxReasonBody), ""},
	}
	for _, tc := range cases {
		if got := parseReason([]byte(tc.body)); got != tc.want {
			t.Errorf("parseReason(%.40q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"", 0}, {"30", 30 * time.Second}, {" 5 ", 5 * time.Second}, {"0", 0}, {"-4", 0},
		{"Wed, 21 Oct 2026 07:28:00 GMT", 0}, {"601", maxRetryAfter}, {"9223372036854775807", maxRetryAfter},
	}
	for _, tc := range cases {
		if got := parseRetryAfter(tc.header, maxRetryAfter); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestKindString(t *testing.T) {
	if Dead.String() != "dead-token" || Kind(99).String() != "Kind(99)" || Kind(-1).String() != "Kind(-1)" {
		t.Errorf("Kind strings: %v %v %v", Dead, Kind(99), Kind(-1))
	}
}

// FuzzParseReason: APNs bodies are untrusted input that ends up in logs.
func FuzzParseReason(f *testing.F) {
	f.Add([]byte(`{"reason":"BadDeviceToken"}`))
	f.Add([]byte(`{"reason":"\u00e9\n"}`))
	f.Add([]byte(`[{"reason":1}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		reason := parseReason(body)
		if len(reason) > 128 {
			t.Fatalf("reason of %d bytes", len(reason))
		}
		for _, c := range []byte(reason) {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("unprintable byte %#x in reason", c)
			}
		}
	})
}
