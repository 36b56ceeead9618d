package sim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/scep"
	"github.com/tidemark-mdm/tidemark/certs"
)

// scepTestServer serves SCEP for ca, letting a test replace either operation.
func scepTestServer(t *testing.T, real http.Handler, override func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if override != nil && override(w, r) {
			return
		}
		real.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/scep"
}

var (
	scepTestKeyOnce sync.Once
	scepTestKey     *rsa.PrivateKey
)

// scepClientFixture is a fresh CA with its SCEP handler, and a device key
// shared by all tests (RSA key generation is the slow part).
type scepClientFixture struct {
	ca      *certs.CA
	handler http.Handler
	key     *rsa.PrivateKey
}

func newSCEPClientFixture(t *testing.T) *scepClientFixture {
	t.Helper()
	scepTestKeyOnce.Do(func() {
		var err error
		if scepTestKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	ca, err := certs.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	challenges := certs.ChallengeFunc(func(_ context.Context, c string) error {
		if c != "right" {
			return errors.New("wrong challenge")
		}
		return nil
	})
	return &scepClientFixture{ca: ca, handler: certs.NewSCEPHandler(ca, challenges), key: scepTestKey}
}

func isOp(r *http.Request, name string) bool { return r.URL.Query().Get("operation") == name }

func TestSCEPEnroll(t *testing.T) {
	f := newSCEPClientFixture(t)
	ca, handler, key, ctx := f.ca, f.handler, f.key, context.Background()

	t.Run("issues a certificate our verifier trusts", func(t *testing.T) {
		url := scepTestServer(t, handler, nil)
		cert, err := SCEPEnroll(ctx, http.DefaultClient, url, "right", "SIM-UDID-1", key)
		if err != nil {
			t.Fatal(err)
		}
		if cert.Subject.CommonName != "SIM-UDID-1" || !key.PublicKey.Equal(cert.PublicKey) {
			t.Fatalf("CN %q / key mismatch", cert.Subject.CommonName)
		}
		if err := certs.NewVerifier(ca).VerifyCert(cert, time.Now()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("wrong challenge is a typed failure", func(t *testing.T) {
		url := scepTestServer(t, handler, nil)
		_, err := SCEPEnroll(ctx, http.DefaultClient, url, "wrong", "SIM-UDID-2", key)
		var failure *SCEPFailure
		if !errors.As(err, &failure) || failure.FailInfo != scep.BadRequest {
			t.Fatalf("err = %v, want *SCEPFailure badRequest", err)
		}
		if !strings.Contains(err.Error(), "badRequest") {
			t.Errorf("error %q does not name the failInfo", err)
		}
	})

	t.Run("CA published as an RA-style degenerate PKCS#7", func(t *testing.T) {
		url := scepTestServer(t, handler, func(w http.ResponseWriter, r *http.Request) bool {
			if !isOp(r, "GetCACert") {
				return false
			}
			deg, err := scep.DegenerateCertificates([]*x509.Certificate{ca.Cert()})
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("Content-Type", "application/x-x509-ca-ra-cert")
			w.Write(deg)
			return true
		})
		if _, err := SCEPEnroll(ctx, http.DefaultClient, url, "right", "SIM-UDID-3", key); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		url := scepTestServer(t, handler, nil)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := SCEPEnroll(cctx, http.DefaultClient, url, "right", "SIM-UDID-5", key); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

// Broken or forged replies are plain errors, never a certificate and never
// mistaken for a CA's signed refusal.
func TestSCEPEnrollRefusals(t *testing.T) {
	f := newSCEPClientFixture(t)
	other := newSCEPClientFixture(t)
	ca := f.ca
	refusals := map[string]func(w http.ResponseWriter, r *http.Request) bool{
		"PKIOperation HTTP 500": func(w http.ResponseWriter, r *http.Request) bool {
			if isOp(r, "PKIOperation") {
				http.Error(w, "boom", http.StatusInternalServerError)
				return true
			}
			return false
		},
		"GetCACert wrong content type": func(w http.ResponseWriter, r *http.Request) bool {
			if isOp(r, "GetCACert") {
				w.Header().Set("Content-Type", "text/html")
				w.Write(ca.Cert().Raw)
				return true
			}
			return false
		},
		"GetCACert garbage": func(w http.ResponseWriter, r *http.Request) bool {
			if isOp(r, "GetCACert") {
				w.Header().Set("Content-Type", certs.ContentTypeCACert)
				w.Write([]byte("garbage"))
				return true
			}
			return false
		},
		"CertRep garbage": func(w http.ResponseWriter, r *http.Request) bool {
			if isOp(r, "PKIOperation") {
				w.Header().Set("Content-Type", certs.ContentTypePKIMessage)
				w.Write([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
				return true
			}
			return false
		},
		"CertRep signed by another CA": func(w http.ResponseWriter, r *http.Request) bool {
			if isOp(r, "PKIOperation") {
				other.handler.ServeHTTP(w, r)
				return true
			}
			return false
		},
	}
	for name, override := range refusals {
		t.Run(name, func(t *testing.T) {
			url := scepTestServer(t, f.handler, override)
			cert, err := SCEPEnroll(context.Background(), http.DefaultClient, url, "right", "SIM-UDID-4", f.key)
			var failure *SCEPFailure
			if err == nil || cert != nil || errors.As(err, &failure) {
				t.Fatalf("cert=%v err=%v, want a plain error", cert != nil, err)
			}
		})
	}
}
