package certs

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"
	"github.com/smallstep/scep/x509util"
)

// oneTimeChallenges mimics the lead's checker: single use, with expiry.
type oneTimeChallenges struct {
	mu      sync.Mutex
	expires map[string]time.Time
	now     time.Time
	calls   int
}

func newChallenges(now time.Time, valid map[string]time.Duration) *oneTimeChallenges {
	c := &oneTimeChallenges{expires: map[string]time.Time{}, now: now}
	for k, ttl := range valid {
		c.expires[k] = now.Add(ttl)
	}
	return c
}

func (c *oneTimeChallenges) CheckChallenge(_ context.Context, challenge string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	exp, ok := c.expires[challenge]
	if !ok {
		return errors.New("unknown or used challenge")
	}
	delete(c.expires, challenge)
	if c.now.After(exp) {
		return errors.New("challenge expired")
	}
	return nil
}

type scepFixture struct {
	srv    *httptest.Server
	ch     *oneTimeChallenges
	mu     sync.Mutex
	issued []*x509.Certificate
}

func newSCEPFixture(t *testing.T, valid map[string]time.Duration) *scepFixture {
	t.Helper()
	f := &scepFixture{ch: newChallenges(testNow, valid)}
	h := NewSCEPHandler(testCA, f.ch, WithCertValidity(90*24*time.Hour), WithOnIssued(func(c *x509.Certificate) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.issued = append(f.issued, c)
	}))
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// scepRequest is a device-side PKCSReq with what is needed to read the reply.
type scepRequest struct {
	raw       []byte
	key       *rsa.PrivateKey
	transient *x509.Certificate
}

func newSCEPRequest(t testing.TB, recipient *x509.Certificate, key *rsa.PrivateKey, cn, challenge string) *scepRequest {
	t.Helper()
	tmpl := &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}},
		ChallengePassword:  challenge,
	}
	der, err := x509util.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	transient := selfSigned(t, key, cn)
	msg, err := scep.NewCSRRequest(csr, &scep.PKIMessage{
		MessageType: scep.PKCSReq,
		Recipients:  []*x509.Certificate{recipient},
		SignerKey:   key,
		SignerCert:  transient,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &scepRequest{raw: msg.Raw, key: key, transient: transient}
}

func selfSigned(t testing.TB, key *rsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: bigOne(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// certRep is what a device learns from the reply.
type certRep struct {
	status   scep.PKIStatus
	failInfo scep.FailInfo
	cert     *x509.Certificate
	certs    int // certificates carried in the signed reply
}

func readCertRep(t *testing.T, resp *http.Response, req *scepRequest) certRep {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != ContentTypePKIMessage {
		t.Fatalf("Content-Type %q", ct)
	}
	msg, err := scep.ParsePKIMessage(body, scep.WithCACerts([]*x509.Certificate{testCA.Cert()}))
	if err != nil {
		t.Fatalf("reply is not a CertRep signed by our CA: %v", err)
	}
	p7, err := pkcs7.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	rep := certRep{status: msg.PKIStatus, failInfo: msg.FailInfo, certs: len(p7.Certificates)}
	if msg.PKIStatus == scep.SUCCESS {
		if err := msg.DecryptPKIEnvelope(req.transient, req.key); err != nil {
			t.Fatal(err)
		}
		rep.cert = msg.Certificate
	}
	return rep
}

func bigOne() *big.Int { return big.NewInt(1) }
