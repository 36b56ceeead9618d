package certs

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateCAPersists(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{CACertFile, CAKeyFile} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %04o, want 0600", name, info.Mode().Perm())
		}
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if !bytes.HasPrefix(keyPEM, []byte("-----BEGIN PRIVATE KEY-----")) {
		t.Errorf("CA key is not PKCS#8 PEM: %.40q", keyPEM)
	}
	second, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Cert().Equal(first.Cert()) {
		t.Fatal("second start created a new CA instead of loading the first")
	}
	if !bytes.Equal(second.CertPEM(), first.CertPEM()) {
		t.Error("CertPEM differs after reload")
	}
}

func TestCACertificateShape(t *testing.T) {
	c := testCA.Cert()
	if !c.IsCA || c.Subject.CommonName != defaultCAName {
		t.Errorf("IsCA=%v CN=%q", c.IsCA, c.Subject.CommonName)
	}
	if bits := c.PublicKey.(*rsa.PublicKey).N.BitLen(); bits != 2048 {
		t.Errorf("CA key %d bits, want 2048", bits)
	}
	want := x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	if c.KeyUsage&want != want {
		t.Errorf("CA key usage %b lacks %b (SCEP needs signing and encipherment)", c.KeyUsage, want)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: testCA.Pool()}); err != nil {
		t.Errorf("CA does not verify against its own pool: %v", err)
	}
}

func TestLoadOrCreateCARefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"key readable by group", chmodFile(CAKeyFile, 0o640), "0640"},
		{"cert readable by others", chmodFile(CACertFile, 0o604), "0604"},
		{"key missing", removeFile(CAKeyFile), "is missing"},
		{"cert missing", removeFile(CACertFile), "is missing"},
		{"key of another CA", func(t *testing.T, dir string) {
			other := t.TempDir()
			if _, err := LoadOrCreateCA(other); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(filepath.Join(other, CAKeyFile))
			writePrivate(t, filepath.Join(dir, CAKeyFile), data)
		}, "does not belong"},
		{"garbage cert", func(t *testing.T, dir string) {
			writePrivate(t, filepath.Join(dir, CACertFile), []byte("not pem"))
		}, "CERTIFICATE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreateCA(dir); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir)
			_, err := LoadOrCreateCA(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadOrCreateCARefusesSmallKey(t *testing.T) {
	if _, err := LoadOrCreateCA(t.TempDir(), WithCAKeyBits(1024)); err == nil {
		t.Fatal("1024-bit CA accepted")
	}
}

func chmodFile(name string, mode os.FileMode) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func removeFile(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func writePrivate(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestIssueFromCSR(t *testing.T) {
	csr := makeCSR(t, deviceKeys[0], "5F0C1B2A-DEVICE")
	cert, err := testCA.Issue(csr, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "5F0C1B2A-DEVICE" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("EKU = %v, want client auth only", cert.ExtKeyUsage)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("key usage = %b", cert.KeyUsage)
	}
	if cert.IsCA || !cert.BasicConstraintsValid {
		t.Error("device certificate must say it is not a CA")
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d != 30*24*time.Hour+clockSkewAllowance {
		t.Errorf("validity %s", d)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: testCA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("issued certificate does not chain: %v", err)
	}
}

func TestIssueSerialsAreRandomAndSubjectsMayRepeat(t *testing.T) {
	a := issueFor(t, testCA, 0, "same-device")
	b := issueFor(t, testCA, 0, "same-device")
	if a.SerialNumber.Cmp(b.SerialNumber) == 0 {
		t.Fatal("two certificates share a serial number")
	}
	for _, c := range []*x509.Certificate{a, b} {
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 || c.SerialNumber.BitLen() < 64 {
			t.Errorf("serial %x is not a positive random 128-bit number", c.SerialNumber)
		}
	}
}

func TestIssueCapsValidityAtCAExpiry(t *testing.T) {
	cert, err := testCA.IssueDirect(&deviceKeys[0].PublicKey, "long", 100*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(testCA.Cert().NotAfter) {
		t.Errorf("NotAfter %s, want the CA's %s", cert.NotAfter, testCA.Cert().NotAfter)
	}
}

func TestIssueRefusals(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tampered := makeCSR(t, deviceKeys[1], "tampered")
	tampered.Signature[len(tampered.Signature)-1] ^= 0xff

	cases := map[string]func() error{
		"small key CSR":     func() error { _, err := testCA.Issue(makeCSR(t, small, "x"), time.Hour); return err },
		"small key direct":  func() error { _, err := testCA.IssueDirect(&small.PublicKey, "x", time.Hour); return err },
		"bad CSR signature": func() error { _, err := testCA.Issue(tampered, time.Hour); return err },
		"nil CSR":           func() error { _, err := testCA.Issue(nil, time.Hour); return err },
	}
	for name, fn := range cases {
		if err := fn(); !errors.Is(err, ErrInvalidCSR) {
			t.Errorf("%s: err = %v, want ErrInvalidCSR", name, err)
		}
	}
	if _, err := testCA.IssueDirect(&deviceKeys[0].PublicKey, "x", 0); err == nil {
		t.Error("zero validity accepted")
	}
}

func makeCSR(t testing.TB, key *rsa.PrivateKey, cn string) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}
