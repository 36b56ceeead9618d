// Package certs holds Tidemark's device identity machinery: the CA that
// issues device certificates, the SCEP endpoint devices enroll through,
// Mdm-Signature verification, and sealing of secrets at rest.
package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// File names of the CA inside its directory.
const (
	CACertFile = "ca.pem"
	CAKeyFile  = "ca.key"
)

const (
	defaultCAKeyBits  = 2048
	defaultCAName     = "Tidemark Device CA"
	defaultCAValidity = 10 * 365 * 24 * time.Hour
	// Certificates start an hour in the past so a device whose clock runs a
	// little behind does not see a "not yet valid" identity.
	clockSkewAllowance = time.Hour
)

// CA issues device identity certificates. Safe for concurrent use.
type CA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	pool *x509.CertPool
	now  func() time.Time
}

// CAOption adjusts LoadOrCreateCA.
type CAOption func(*caConfig)

type caConfig struct {
	keyBits    int
	commonName string
	now        func() time.Time
}

// WithCAKeyBits sets the RSA key size of a newly created CA (at least 2048).
func WithCAKeyBits(bits int) CAOption { return func(c *caConfig) { c.keyBits = bits } }

// WithCACommonName sets the subject CN of a newly created CA.
func WithCACommonName(cn string) CAOption { return func(c *caConfig) { c.commonName = cn } }

// WithCAClock sets the clock used for certificate validity periods.
func WithCAClock(now func() time.Time) CAOption { return func(c *caConfig) { c.now = now } }

// LoadOrCreateCA loads the CA from dir (ca.pem, ca.key), creating a new
// self-signed RSA CA there on first start. Both files are written with mode
// 0600; existing files that group or others can access are refused with a
// *PermissionError.
func LoadOrCreateCA(dir string, opts ...CAOption) (*CA, error) {
	cfg := caConfig{keyBits: defaultCAKeyBits, commonName: defaultCAName, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.keyBits < 2048 {
		return nil, fmt.Errorf("CA key size %d is too small: use at least 2048 bits", cfg.keyBits)
	}
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certExists, err := fileExists(certPath)
	if err != nil {
		return nil, err
	}
	keyExists, err := fileExists(keyPath)
	if err != nil {
		return nil, err
	}
	switch {
	case certExists && keyExists:
		return loadCA(certPath, keyPath, cfg.now)
	case certExists:
		return nil, fmt.Errorf("CA certificate %s exists but its key %s is missing", certPath, keyPath)
	case keyExists:
		return nil, fmt.Errorf("CA key %s exists but its certificate %s is missing", keyPath, certPath)
	}
	return createCA(certPath, keyPath, cfg)
}

func fileExists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("CA: %w", err)
}

func createCA(certPath, keyPath string, cfg caConfig) (*CA, error) {
	key, err := rsa.GenerateKey(rand.Reader, cfg.keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	cert, err := selfSignCA(key, cfg.commonName, cfg.now())
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode CA key: %w", err)
	}
	if err := writeNewSecretFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return nil, fmt.Errorf("store CA key: %w", err)
	}
	if err := writeNewSecretFile(certPath, encodeCertPEM(cert)); err != nil {
		// Leave no key without a certificate behind: the next start would refuse it.
		os.Remove(keyPath)
		return nil, fmt.Errorf("store CA certificate: %w", err)
	}
	return newCA(cert, key, cfg.now), nil
}

func selfSignCA(key *rsa.PrivateKey, commonName string, now time.Time) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"Tidemark"}},
		NotBefore:    now.Add(-clockSkewAllowance),
		NotAfter:     now.Add(defaultCAValidity),
		// RFC 8894 2.1.2: a SCEP CA signs CertRep messages and receives
		// requests encrypted to its key, so it needs digitalSignature and
		// keyEncipherment besides the CA usages.
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign |
			x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func loadCA(certPath, keyPath string, now func() time.Time) (*CA, error) {
	certPEM, err := readSecretFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readSecretFile(keyPath)
	if err != nil {
		return nil, err
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	key, err := parseRSAKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", certPath)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s does not belong to the certificate in %s", keyPath, certPath)
	}
	return newCA(cert, key, now), nil
}

func newCA(cert *x509.Certificate, key *rsa.PrivateKey, now func() time.Time) *CA {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{cert: cert, key: key, pool: pool, now: now}
}

// Cert returns the CA certificate.
func (ca *CA) Cert() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate PEM-encoded.
func (ca *CA) CertPEM() []byte { return encodeCertPEM(ca.cert) }

// Pool returns a new pool holding only the CA certificate (for mTLS ClientCAs).
func (ca *CA) Pool() *x509.CertPool { return ca.pool.Clone() }

func encodeCertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseRSAKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PRIVATE KEY (PKCS#8) block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("CA key is %T, want RSA", parsed)
	}
	return key, nil
}

// randomSerial returns a positive random 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}
