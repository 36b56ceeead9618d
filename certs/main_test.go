package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"
)

// Shared fixtures: RSA-2048 key generation is the slow part of these tests,
// so a handful of keys and two CAs are made once.
var (
	testCA      *CA // our CA
	otherCA     *CA // a CA we do not trust
	deviceKeys  [3]*rsa.PrivateKey
	fixtureOnce sync.Once
)

// testNow is a fixed "now" inside every fixture certificate's validity.
var testNow time.Time

var fixtureDirs []string

func TestMain(m *testing.M) {
	setupFixtures()
	code := m.Run()
	for _, d := range fixtureDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func setupFixtures() {
	fixtureOnce.Do(func() {
		var wg sync.WaitGroup
		errs := make([]error, len(deviceKeys)+2)
		for i := range deviceKeys {
			wg.Go(func() { deviceKeys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
		}
		caDir, otherDir := mustTempDir(), mustTempDir()
		fixtureDirs = append(fixtureDirs, caDir, otherDir)
		wg.Go(func() { testCA, errs[len(deviceKeys)] = LoadOrCreateCA(caDir) })
		wg.Go(func() { otherCA, errs[len(deviceKeys)+1] = LoadOrCreateCA(otherDir) })
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				panic(err)
			}
		}
		testNow = time.Now()
	})
}

func mustTempDir() string {
	dir, err := os.MkdirTemp("", "certs-test-*")
	if err != nil {
		panic(err)
	}
	return dir
}

// issueFor returns a device certificate from ca for key i.
func issueFor(t testing.TB, ca *CA, i int, cn string) *x509.Certificate {
	t.Helper()
	cert, err := ca.IssueDirect(&deviceKeys[i].PublicKey, cn, DefaultDeviceCertValidity)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// handMadeCert signs tmpl for device key i with parent/parentKey (or
// self-signs when parent is nil), for shapes our CA never issues.
func handMadeCert(t testing.TB, tmpl *x509.Certificate, i int, parent *x509.Certificate, parentKey *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	}
	if tmpl.Subject.CommonName == "" {
		tmpl.Subject = pkix.Name{CommonName: "hand-made"}
	}
	if parent == nil {
		parent, parentKey = tmpl, deviceKeys[i]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &deviceKeys[i].PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
