package push

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testTopic = "com.apple.mgmt.External.0b7f3c9e-6a2d-4f1e-9a53-2c8d1e4b7a60"
	testToken = "7C1F0A9D2B3E4F5061728394A5B6C7D8E9F00112233445566778899AABBCCDDE"
	testMagic = "5A3B9C1D-2E4F-4A6B-8C7D-9E0F1A2B3C4D"
)

func testTarget(id string) Target {
	return Target{DeviceID: id, Token: testToken, PushMagic: testMagic, Topic: testTopic}
}

// testClientCert makes a throwaway client certificate with serial as its
// serial number, so the server side can tell certificates apart.
func testClientCert(t testing.TB, serial int64) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "test push"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// seenRequest is what the fake APNs received.
type seenRequest struct {
	Method, Path, Proto string
	Header              http.Header
	Body                string
	ClientSerial        int64 // serial of the client certificate, -1 if none
}

// dump renders the parts of a request APNs cares about, for golden files.
func (r seenRequest) dump() []byte {
	var b strings.Builder
	b.WriteString(r.Method + " " + r.Path + " " + r.Proto + "\n")
	var names []string
	for name := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "apns-") || strings.EqualFold(name, "Content-Type") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		b.WriteString(strings.ToLower(name) + ": " + strings.Join(r.Header.Values(name), ",") + "\n")
	}
	b.WriteString("\n" + r.Body + "\n")
	return []byte(b.String())
}

// fakeAPNs is an HTTP/2 TLS server that records requests and answers
// with respond.
type fakeAPNs struct {
	srv *httptest.Server

	mu   sync.Mutex
	seen []seenRequest
}

func newFakeAPNs(t *testing.T, respond http.HandlerFunc) *fakeAPNs {
	t.Helper()
	f := &fakeAPNs{}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		seen := seenRequest{Method: r.Method, Path: r.URL.Path, Proto: r.Proto, Header: r.Header.Clone(),
			Body: string(body), ClientSerial: -1}
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			seen.ClientSerial = r.TLS.PeerCertificates[0].SerialNumber.Int64()
		}
		f.mu.Lock()
		f.seen = append(f.seen, seen)
		f.mu.Unlock()
		respond(w, r)
	}))
	f.srv.EnableHTTP2 = true
	quietServer(f.srv)
	f.srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPNs) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

// client returns a Client that trusts the fake server and uses a fixed clock.
func (f *fakeAPNs) client(t testing.TB, opts ...Option) *Client {
	base := []Option{
		WithEndpoint(f.srv.URL),
		WithHTTPClient(f.srv.Client()),
		WithClock(func() time.Time { return testNow }),
		WithTimeout(5 * time.Second),
	}
	c := New(testClientCert(t, 1), append(base, opts...)...)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// answer returns a handler that replies with status, optional headers and body.
func answer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// quietServer drops the server's log of handshake failures the tests
// provoke on purpose.
func quietServer(srv *httptest.Server) {
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
}
