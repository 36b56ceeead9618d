package enrollment

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/storage"
)

// fakeStore keeps meta values, events and known devices in memory.
type fakeStore struct {
	mu        sync.Mutex
	meta      map[string][]byte
	events    []storage.Event
	devices   map[string]bool
	failMeta  error
	failEvent error
}

func newFakeStore() *fakeStore {
	return &fakeStore{meta: map[string][]byte{}, devices: map[string]bool{}}
}

func (s *fakeStore) Meta(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failMeta != nil {
		return nil, s.failMeta
	}
	v, ok := s.meta[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (s *fakeStore) PutMeta(ctx context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failMeta != nil {
		return s.failMeta
	}
	s.meta[key] = append([]byte(nil), value...)
	return nil
}

func (s *fakeStore) AddEvents(ctx context.Context, events ...storage.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failEvent != nil {
		return s.failEvent
	}
	s.events = append(s.events, events...)
	return nil
}

func (s *fakeStore) Device(ctx context.Context, id string) (*storage.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.devices[id] {
		return nil, storage.ErrNotFound
	}
	return &storage.Device{ID: id}, nil
}

func (s *fakeStore) allEvents() []storage.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]storage.Event(nil), s.events...)
}

type fakeCatalog struct {
	cat *enforcement.Catalog
	err error
}

func (c fakeCatalog) Catalog(ctx context.Context) (*enforcement.Catalog, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.cat == nil {
		return nil, enforcement.ErrNoCatalog
	}
	return c.cat, nil
}

type fakeProfiles struct{ err error }

// testProfile stands for the rendered enrollment profile.
var testProfile = []byte("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>PayloadType</key><string>Configuration</string></dict></plist>")

func (p fakeProfiles) EnrollmentProfile(ctx context.Context, oneTime bool) ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	return testProfile, nil
}

// identity is a certificate with its key.
type identity struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// newIdentity issues a certificate signed by parent, or self-signed when
// parent is nil (a CA when isCA).
func newIdentity(t testing.TB, cn string, parent *identity, isCA bool) identity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: isCA}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return identity{cert: cert, key: key}
}

// sign wraps content in a CMS SignedData as a device does (content
// attached, signer certificate included, plus any chain certificates).
func sign(t testing.TB, id identity, content []byte, chain ...*x509.Certificate) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(id.cert, id.key, chain, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func x509Pool(ids ...identity) *x509.CertPool {
	p := x509.NewCertPool()
	for _, id := range ids {
		p.AddCert(id.cert)
	}
	return p
}

// twoSigners builds an envelope signed twice, which devices never send.
func twoSigners(t testing.TB, a, b identity, content []byte) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []identity{a, b} {
		if err := sd.AddSigner(id.cert, id.key, pkcs7.SignerInfoConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}
