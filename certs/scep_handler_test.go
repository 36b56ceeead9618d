package certs

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/scep"
)

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

func TestSCEPGetCACaps(t *testing.T) {
	f := newSCEPFixture(t, nil)
	resp, body := get(t, f.srv.URL+"/scep?operation=GetCACaps")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	caps := strings.Fields(string(body))
	for _, want := range []string{"POSTPKIOperation", "SHA-256", "AES", "SCEPStandard"} {
		if !contains(caps, want) {
			t.Errorf("caps %q lack %s", caps, want)
		}
	}
	// Renewal and GetNextCACert are not implemented, so never promised.
	for _, never := range []string{"Renewal", "GetNextCACert", "Update"} {
		if contains(caps, never) {
			t.Errorf("caps advertise %s", never)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSCEPGetCACert(t *testing.T) {
	f := newSCEPFixture(t, nil)
	resp, body := get(t, f.srv.URL+"/scep?operation=GetCACert&message=anything")
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-x509-ca-cert" {
		t.Fatalf("Content-Type %q, want exactly application/x-x509-ca-cert", ct)
	}
	if !bytes.Equal(body, testCA.Cert().Raw) {
		t.Fatal("GetCACert is not the CA certificate DER")
	}
}

// Each transport variant must enroll: clients put the message in the body,
// the query, or both.
func TestSCEPEnrollTransports(t *testing.T) {
	type send func(t *testing.T, base string, raw []byte) *http.Response
	post := func(t *testing.T, base string, body []byte, query string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+"/scep?operation=PKIOperation"+query, bytes.NewReader(body))
		req.Header.Set("Content-Type", ContentTypePKIMessage)
		return do(t, req)
	}
	getWith := func(t *testing.T, base string, body []byte, query string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, base+"/scep?operation=PKIOperation"+query, bytes.NewReader(body))
		return do(t, req)
	}
	escaped := func(raw []byte) string { return "&message=" + url.QueryEscape(base64.StdEncoding.EncodeToString(raw)) }
	cases := map[string]send{
		"POST body": func(t *testing.T, b string, raw []byte) *http.Response { return post(t, b, raw, "") },
		"GET query": func(t *testing.T, b string, raw []byte) *http.Response { return getWith(t, b, nil, escaped(raw)) },
		"GET query with unescaped plus": func(t *testing.T, b string, raw []byte) *http.Response {
			return getWith(t, b, nil, "&message="+base64.StdEncoding.EncodeToString(raw))
		},
		"GET query, URL-safe base64": func(t *testing.T, b string, raw []byte) *http.Response {
			return getWith(t, b, nil, "&message="+base64.RawURLEncoding.EncodeToString(raw))
		},
		"POST body and query": func(t *testing.T, b string, raw []byte) *http.Response { return post(t, b, raw, escaped(raw)) },
		"GET body and query":  func(t *testing.T, b string, raw []byte) *http.Response { return getWith(t, b, raw, escaped(raw)) },
		"garbage body, good query": func(t *testing.T, b string, raw []byte) *http.Response {
			return post(t, b, []byte("garbage"), escaped(raw))
		},
		"good body, garbage query": func(t *testing.T, b string, raw []byte) *http.Response {
			return post(t, b, raw, "&message=bm90IGEgbWVzc2FnZQ==")
		},
	}
	for name, sendFn := range cases {
		t.Run(name, func(t *testing.T) {
			f := newSCEPFixture(t, map[string]time.Duration{"otc-1": time.Hour})
			req := newSCEPRequest(t, testCA.Cert(), deviceKeys[0], "DEVICE-UUID-1", "otc-1")
			rep := readCertRep(t, sendFn(t, f.srv.URL, req.raw), req)
			if rep.status != scep.SUCCESS || rep.cert == nil {
				t.Fatalf("status %q failInfo %q", rep.status, rep.failInfo)
			}
			checkIssued(t, rep.cert, "DEVICE-UUID-1", &deviceKeys[0].PublicKey)
			if len(f.issued) != 1 || !f.issued[0].Equal(rep.cert) {
				t.Errorf("OnIssued saw %d certificates", len(f.issued))
			}
		})
	}
}

func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func checkIssued(t *testing.T, cert *x509.Certificate, cn string, pub *rsa.PublicKey) {
	t.Helper()
	if cert.Subject.CommonName != cn {
		t.Errorf("CN %q, want %q", cert.Subject.CommonName, cn)
	}
	if !pub.Equal(cert.PublicKey) {
		t.Error("certificate is not for the device key")
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d != 90*24*time.Hour+clockSkewAllowance {
		t.Errorf("validity %s, want the configured 90 days", d)
	}
	if err := NewVerifier(testCA).VerifyCert(cert, time.Now()); err != nil {
		t.Errorf("issued certificate is not a valid identity: %v", err)
	}
}

func postPKI(t *testing.T, f *scepFixture, raw []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/scep?operation=PKIOperation", bytes.NewReader(raw))
	return do(t, req)
}

func TestSCEPChallengeRefusals(t *testing.T) {
	f := newSCEPFixture(t, map[string]time.Duration{"once": time.Hour, "stale": -time.Minute})
	first := newSCEPRequest(t, testCA.Cert(), deviceKeys[0], "A", "once")
	if rep := readCertRep(t, postPKI(t, f, first.raw), first); rep.status != scep.SUCCESS {
		t.Fatalf("first use of the challenge failed: %q", rep.failInfo)
	}
	for name, challenge := range map[string]string{"wrong": "nope", "reused": "once", "expired": "stale", "empty": ""} {
		t.Run(name, func(t *testing.T) {
			req := newSCEPRequest(t, testCA.Cert(), deviceKeys[1], "B", challenge)
			rep := readCertRep(t, postPKI(t, f, req.raw), req)
			if rep.status != scep.FAILURE || rep.failInfo != scep.BadRequest {
				t.Fatalf("status %q failInfo %q, want FAILURE badRequest", rep.status, rep.failInfo)
			}
			if rep.cert != nil || rep.certs != 1 {
				t.Fatalf("failure carries %d certificates, want only the CA's", rep.certs)
			}
		})
	}
	if len(f.issued) != 1 {
		t.Errorf("%d certificates issued, want 1", len(f.issued))
	}
}

// A request we would refuse anyway must not consume a one-time challenge.
func TestSCEPBadCSRKeepsChallenge(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	f := newSCEPFixture(t, map[string]time.Duration{"otc": time.Hour})
	weak := newSCEPRequest(t, testCA.Cert(), small, "weak", "otc")
	if rep := readCertRep(t, postPKI(t, f, weak.raw), weak); rep.status != scep.FAILURE || rep.failInfo != scep.BadRequest {
		t.Fatalf("1024-bit key: status %q failInfo %q", rep.status, rep.failInfo)
	}
	if f.ch.calls != 0 {
		t.Fatalf("challenge checked %d times for a refused CSR", f.ch.calls)
	}
	good := newSCEPRequest(t, testCA.Cert(), deviceKeys[2], "good", "otc")
	if rep := readCertRep(t, postPKI(t, f, good.raw), good); rep.status != scep.SUCCESS {
		t.Fatalf("challenge no longer usable: %q", rep.failInfo)
	}
}

func TestSCEPRequestForAnotherCA(t *testing.T) {
	f := newSCEPFixture(t, map[string]time.Duration{"otc": time.Hour})
	req := newSCEPRequest(t, otherCA.Cert(), deviceKeys[0], "A", "otc")
	rep := readCertRep(t, postPKI(t, f, req.raw), req)
	if rep.status != scep.FAILURE || rep.failInfo != scep.BadMessageCheck {
		t.Fatalf("status %q failInfo %q, want FAILURE badMessageCheck", rep.status, rep.failInfo)
	}
	if f.ch.calls != 0 {
		t.Error("challenge consumed by an undecryptable request")
	}
}

func TestSCEPHTTPErrors(t *testing.T) {
	valid := newSCEPRequest(t, testCA.Cert(), deviceKeys[0], "A", "x").raw
	cases := []struct {
		name, method, query string
		body                []byte
		want                int
	}{
		{"garbage body", "POST", "operation=PKIOperation", []byte("garbage"), 400},
		{"truncated message", "POST", "operation=PKIOperation", valid[:len(valid)/2], 400},
		{"empty body", "POST", "operation=PKIOperation", nil, 400},
		{"query not base64", "GET", "operation=PKIOperation&message=%25%25%25", nil, 400},
		{"query base64 garbage", "GET", "operation=PKIOperation&message=Z2FyYmFnZQ==", nil, 400},
		{"body too large", "POST", "operation=PKIOperation", make([]byte, DefaultMaxSCEPMessageBytes+1), 413},
		{"query too large", "GET", "operation=PKIOperation&message=" + strings.Repeat("A", DefaultMaxSCEPMessageBytes*2), nil, 413},
		{"unknown operation", "GET", "operation=GetNextCACert", nil, 400},
		{"no operation", "GET", "", nil, 400},
		{"wrong method", "POST", "operation=GetCACert", nil, 405},
		{"PUT PKIOperation", "PUT", "operation=PKIOperation", valid, 405},
	}
	f := newSCEPFixture(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, f.srv.URL+"/scep?"+tc.query, bytes.NewReader(tc.body))
			resp := do(t, req)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.want, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || len(body) == 0 {
				t.Errorf("error reply Content-Type %q body %q, want a text explanation", ct, body)
			}
		})
	}
}

func FuzzSCEPPKIOperation(f *testing.F) {
	setupFixtures()
	valid := newSCEPRequest(f, testCA.Cert(), deviceKeys[0], "A", "fuzz").raw
	f.Add(valid)
	f.Add(valid[:100])
	f.Add([]byte{0x30, 0x80, 0x06, 0x09})
	f.Add([]byte("garbage"))
	h := NewSCEPHandler(testCA, ChallengeFunc(func(_ context.Context, c string) error {
		if c == "fuzz" {
			return nil
		}
		return errWrong
	}))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/scep?operation=PKIOperation", bytes.NewReader(body))
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %d-byte body: %s", rec.Code, len(body), rec.Body)
		}
	})
}

var errWrong = errors.New("wrong challenge")
