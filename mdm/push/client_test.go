package push

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

func TestPushSendsExactMDMRequest(t *testing.T) {
	f := newFakeAPNs(t, answer(200, "", "apns-id", "6D7F1A2B-0000-4C3D-9E8F-123456789ABC"))
	out := f.client(t).Push(context.Background(), []Target{testTarget("dev-1")})

	if len(out) != 1 || out[0].Kind != Delivered || out[0].Err != nil || out[0].Status != 200 {
		t.Fatalf("outcome = %+v, want delivered", out)
	}
	if out[0].APNsID != "6D7F1A2B-0000-4C3D-9E8F-123456789ABC" || out[0].DeviceID != "dev-1" || !out[0].At.Equal(testNow) {
		t.Errorf("outcome = %+v", out[0])
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	wantExpiry := strconv.FormatInt(testNow.Add(DefaultExpiration).Unix(), 10)
	checks := map[string]string{
		"method": r.Method, "proto": r.Proto, "path": r.Path, "body": r.Body,
		"apns-topic": r.Header.Get("apns-topic"), "apns-push-type": r.Header.Get("apns-push-type"),
		"apns-priority": r.Header.Get("apns-priority"), "apns-expiration": r.Header.Get("apns-expiration"),
	}
	want := map[string]string{
		"method": "POST", "proto": "HTTP/2.0", "path": "/3/device/" + strings.ToLower(testToken),
		"body": `{"mdm":"` + testMagic + `"}`, "apns-topic": testTopic, "apns-push-type": "mdm",
		"apns-priority": "10", "apns-expiration": wantExpiry,
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("%s = %q, want %q", k, checks[k], w)
		}
	}
	if r.ClientSerial != 1 {
		t.Errorf("client certificate serial = %d, want 1", r.ClientSerial)
	}
	golden.Assert(t, golden.Path(t, "push/mdm-request.txt"), r.dump())
}

func TestPushExpirationZeroMeansDoNotStore(t *testing.T) {
	f := newFakeAPNs(t, answer(200, ""))
	f.client(t, WithExpiration(0)).Push(context.Background(), []Target{testTarget("d")})
	if got := f.requests()[0].Header.Get("apns-expiration"); got != "0" {
		t.Errorf("apns-expiration = %q, want 0", got)
	}
}

// TestPushFailureMatrix checks the classification of every APNs answer.
func TestPushFailureMatrix(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	cases := []struct {
		name       string
		handler    http.HandlerFunc
		kind       Kind
		status     int
		reason     string
		retryAfter time.Duration
	}{
		{"200", answer(200, ""), Delivered, 200, "", 0},
		{"200 with a huge body", answer(200, huge), Delivered, 200, "", 0},
		{"400 BadDeviceToken", answer(400, `{"reason":"BadDeviceToken"}`), Dead, 400, "BadDeviceToken", 0},
		{"400 DeviceTokenNotForTopic", answer(400, `{"reason":"DeviceTokenNotForTopic"}`), Config, 400, "DeviceTokenNotForTopic", 0},
		{"400 TopicDisallowed", answer(400, `{"reason":"TopicDisallowed"}`), Config, 400, "TopicDisallowed", 0},
		{"400 BadTopic", answer(400, `{"reason":"BadTopic"}`), Config, 400, "BadTopic", 0},
		{"400 IdleTimeout", answer(400, `{"reason":"IdleTimeout"}`), Transient, 400, "IdleTimeout", 0},
		{"400 BadPriority", answer(400, `{"reason":"BadPriority"}`), Rejected, 400, "BadPriority", 0},
		{"400 garbage body", answer(400, "<html>oops</html>"), Rejected, 400, "", 0},
		{"400 reason with control chars", answer(400, `{"reason":"Bad\nThing"}`), Rejected, 400, "", 0},
		{"403 BadCertificate", answer(403, `{"reason":"BadCertificate"}`), Config, 403, "BadCertificate", 0},
		{"403 BadCertificateEnvironment", answer(403, `{"reason":"BadCertificateEnvironment"}`), Config, 403, "BadCertificateEnvironment", 0},
		{"403 ExpiredProviderToken", answer(403, `{"reason":"ExpiredProviderToken"}`), Config, 403, "ExpiredProviderToken", 0},
		{"404 BadPath", answer(404, `{"reason":"BadPath"}`), Config, 404, "BadPath", 0},
		{"405 MethodNotAllowed", answer(405, `{"reason":"MethodNotAllowed"}`), Config, 405, "MethodNotAllowed", 0},
		{"410 Unregistered", answer(410, `{"reason":"Unregistered","timestamp":1700000000000}`), Dead, 410, "Unregistered", 0},
		{"410 ExpiredToken", answer(410, `{"reason":"ExpiredToken"}`), Dead, 410, "ExpiredToken", 0},
		{"413 PayloadTooLarge", answer(413, `{"reason":"PayloadTooLarge"}`), Rejected, 413, "PayloadTooLarge", 0},
		{"429 TooManyRequests", answer(429, `{"reason":"TooManyRequests"}`), Transient, 429, "TooManyRequests", 0},
		{"429 with Retry-After", answer(429, `{"reason":"TooManyRequests"}`, "Retry-After", "30"), Transient, 429, "TooManyRequests", 30 * time.Second},
		{"429 with absurd Retry-After", answer(429, "", "Retry-After", "99999999999999999"), Transient, 429, "", maxRetryAfter},
		{"500 InternalServerError", answer(500, `{"reason":"InternalServerError"}`), Transient, 500, "InternalServerError", 0},
		{"502 from a proxy", answer(502, "<html>bad gateway</html>"), Transient, 502, "", 0},
		{"503 ServiceUnavailable", answer(503, `{"reason":"ServiceUnavailable"}`), Transient, 503, "ServiceUnavailable", 0},
		{"503 Shutdown with a huge body", answer(503, `{"reason":"Shutdown"}`+huge), Transient, 503, "", 0},
		{"302 redirect", answer(302, "", "Location", "https://example.invalid/"), Rejected, 302, "", 0},
		{"418 unknown", answer(418, `{"reason":"Teapot"}`), Rejected, 418, "Teapot", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPNs(t, tc.handler)
			out := f.client(t).Push(context.Background(), []Target{testTarget("dev")})
			checkOutcome(t, out, tc.kind, tc.status, tc.reason)
			if out[0].RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", out[0].RetryAfter, tc.retryAfter)
			}
			var apnsErr *APNsError
			if tc.kind != Delivered && (!errors.As(out[0].Err, &apnsErr) || apnsErr.Status != tc.status) {
				t.Errorf("Err = %v, want *APNsError with status %d", out[0].Err, tc.status)
			}
		})
	}
}

func checkOutcome(t *testing.T, out []Outcome, kind Kind, status int, reason string) {
	t.Helper()
	if len(out) != 1 {
		t.Fatalf("%d outcomes, want 1", len(out))
	}
	o := out[0]
	if o.Kind != kind || o.Status != status || o.Reason != reason {
		t.Errorf("outcome kind=%v status=%d reason=%q, want %v %d %q (err %v)", o.Kind, o.Status, o.Reason, kind, status, reason, o.Err)
	}
	if o.TokenDead != (kind == Dead) || o.Retry != (kind == Transient) {
		t.Errorf("flags TokenDead=%v Retry=%v disagree with kind %v", o.TokenDead, o.Retry, kind)
	}
	if (o.Err == nil) != (kind == Delivered) {
		t.Errorf("Err = %v for kind %v", o.Err, kind)
	}
}

func TestPushTimeoutIsTransient(t *testing.T) {
	release := make(chan struct{})
	f := newFakeAPNs(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	out := f.client(t, WithTimeout(150*time.Millisecond)).Push(context.Background(), []Target{testTarget("dev")})
	checkOutcome(t, out, Transient, 0, "timeout")
	if !errors.Is(out[0].Err, context.DeadlineExceeded) {
		t.Errorf("Err = %v, want a deadline error", out[0].Err)
	}
}

func TestPushCancelledContextSendsNothing(t *testing.T) {
	f := newFakeAPNs(t, answer(200, ""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := f.client(t).Push(ctx, []Target{testTarget("a"), testTarget("b")})
	if len(out) != 2 || out[0].Kind != Transient || out[1].Kind != Transient || !errors.Is(out[0].Err, context.Canceled) {
		t.Fatalf("outcomes = %+v, want two transient cancellations", out)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server saw %d requests after cancel", n)
	}
}

func TestPushRefusesInvalidTargetsLocally(t *testing.T) {
	f := newFakeAPNs(t, answer(200, ""))
	bad := []Target{
		{DeviceID: "not-hex", Token: "zz", PushMagic: testMagic, Topic: testTopic},
		{DeviceID: "empty-token", Token: "", PushMagic: testMagic, Topic: testTopic},
		{DeviceID: "odd-hex", Token: "abc", PushMagic: testMagic, Topic: testTopic},
		{DeviceID: "huge-token", Token: strings.Repeat("ab", maxTokenBytes+1), PushMagic: testMagic, Topic: testTopic},
		{DeviceID: "no-magic", Token: testToken, Topic: testTopic},
		{DeviceID: "no-topic", Token: testToken, PushMagic: testMagic},
		{DeviceID: "header-injection", Token: testToken, PushMagic: testMagic, Topic: "a\r\nx-evil: 1"},
	}
	out := f.client(t).Push(context.Background(), bad)
	for i, o := range out {
		if o.DeviceID != bad[i].DeviceID || o.Kind != Rejected || !errors.Is(o.Err, ErrInvalidTarget) {
			t.Errorf("%s: outcome %+v, want Rejected ErrInvalidTarget", bad[i].DeviceID, o)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server saw %d requests for invalid targets", n)
	}
}

func TestPushConnectionRefusedIsTransient(t *testing.T) {
	f := newFakeAPNs(t, answer(200, ""))
	c := f.client(t)
	f.srv.Close() // nothing listens on the port any more
	out := c.Push(context.Background(), []Target{testTarget("dev")})
	checkOutcome(t, out, Transient, 0, "")
}

func TestPushBadEndpointIsConfig(t *testing.T) {
	c := New(testClientCert(t, 1), WithEndpoint("ht tp://bad url"))
	out := c.Push(context.Background(), []Target{testTarget("dev")})
	checkOutcome(t, out, Config, 0, "bad APNs endpoint")
}

func TestPushEmptyBatch(t *testing.T) {
	c := New(testClientCert(t, 1))
	if out := c.Push(context.Background(), nil); len(out) != 0 {
		t.Errorf("Push(nil) = %v", out)
	}
}
