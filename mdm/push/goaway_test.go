package push

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// HTTP/2 frame types and error codes used by the raw server (RFC 9113).
const (
	frameHeaders   = 0x1
	frameRSTStream = 0x3
	frameSettings  = 0x4
	frameGoAway    = 0x7
	flagAck        = 0x1
	codeNoError    = 0x0
	codeInternal   = 0x2
)

// rawH2 is a TLS server speaking just enough HTTP/2 by hand to misbehave
// in ways net/http's server never would: GOAWAY with APNs debug data,
// stream resets, garbage frames. onRequest runs when the client's first
// HEADERS frame arrives; the connection is closed after it returns.
type rawH2 struct {
	url    string
	client *http.Client
}

func newRawH2(t *testing.T, onRequest func(w io.Writer)) *rawH2 {
	t.Helper()
	serverCert, pool := testServerCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsLn := tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		NextProtos:   []string{"h2"},
		ClientAuth:   tls.RequestClientCert,
	})
	var wg sync.WaitGroup
	t.Cleanup(func() { tlsLn.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := tlsLn.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveRawH2(conn, onRequest) })
		}
	})
	return &rawH2{
		url:    "https://" + ln.Addr().String(),
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
}

func serveRawH2(conn net.Conn, onRequest func(w io.Writer)) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := io.ReadFull(r, make([]byte, 24)); err != nil { // client preface
		return
	}
	writeFrame(conn, frameSettings, 0, 0, nil)
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		if _, err := io.CopyN(io.Discard, r, int64(length)); err != nil {
			return
		}
		switch {
		case hdr[3] == frameSettings && hdr[4]&flagAck == 0:
			writeFrame(conn, frameSettings, flagAck, 0, nil)
		case hdr[3] == frameHeaders:
			onRequest(conn)
			return
		}
	}
}

func writeFrame(w io.Writer, typ, flags byte, stream uint32, payload []byte) {
	hdr := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[5:], stream)
	w.Write(append(hdr, payload...))
}

func goAway(lastStream, code uint32, debug string) func(io.Writer) {
	return func(w io.Writer) {
		p := binary.BigEndian.AppendUint32(nil, lastStream)
		p = binary.BigEndian.AppendUint32(p, code)
		writeFrame(w, frameGoAway, 0, 0, append(p, debug...))
	}
}

func TestPushConnectionLevelFailures(t *testing.T) {
	cases := []struct {
		name      string
		onRequest func(io.Writer)
		kind      Kind
		reason    string
	}{
		{"GOAWAY Shutdown then close", goAway(1, codeNoError, `{"reason":"Shutdown"}`), Transient, "Shutdown"},
		{"GOAWAY BadCertificate then close", goAway(1, codeNoError, `{"reason":"BadCertificate"}`), Config, "BadCertificate"},
		{"GOAWAY with garbage debug data", goAway(1, codeInternal, "\x00\xff not json"), Transient, ""},
		{"GOAWAY refusing the first stream", goAway(0, codeInternal, `{"reason":"InternalServerError"}`), Transient, ""},
		{"stream reset", func(w io.Writer) {
			writeFrame(w, frameRSTStream, 0, 1, binary.BigEndian.AppendUint32(nil, codeInternal))
		}, Transient, ""},
		{"garbage instead of frames", func(w io.Writer) { w.Write([]byte("HTTP/1.1 200 OK\r\n\r\nhello")) }, Transient, ""},
		{"connection closed mid-request", func(io.Writer) {}, Transient, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawH2(t, tc.onRequest)
			c := New(testClientCert(t, 1), WithEndpoint(srv.url), WithHTTPClient(srv.client), WithTimeout(3*time.Second))
			defer c.CloseIdleConnections()
			out := c.Push(context.Background(), []Target{testTarget("dev")})
			checkOutcome(t, out, tc.kind, 0, tc.reason)
			t.Logf("err: %v", out[0].Err)
		})
	}
}

func TestPushRefusedClientCertificateIsConfig(t *testing.T) {
	srv := httptest.NewUnstartedServer(answer(200, ""))
	srv.EnableHTTP2 = true
	quietServer(srv)
	// The server trusts no client CA, as APNs does not trust a revoked
	// or foreign certificate. TLS 1.2 makes the refusal part of the
	// handshake; under TLS 1.3 it arrives after it, and net/http's HTTP/2
	// client sometimes reports only "client conn could not be
	// established", which stays Transient until a later try sees the alert.
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: x509.NewCertPool(),
		MaxVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	c := New(testClientCert(t, 1), WithEndpoint(srv.URL), WithHTTPClient(srv.Client()))
	defer c.CloseIdleConnections()
	out := c.Push(context.Background(), []Target{testTarget("dev")})
	checkOutcome(t, out, Config, 0, "APNs refused the push certificate")
}

func TestPushUntrustedServerIsConfig(t *testing.T) {
	f := newFakeAPNs(t, answer(200, ""))
	c := New(testClientCert(t, 1), WithEndpoint(f.srv.URL)) // system roots only
	defer c.CloseIdleConnections()
	out := c.Push(context.Background(), []Target{testTarget("dev")})
	checkOutcome(t, out, Config, 0, "APNs server certificate not trusted")
}

// testServerCert returns a certificate for 127.0.0.1 and a pool trusting it.
func testServerCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(99),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
