package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"
)

// DefaultDeviceCertValidity is how long a device identity certificate lasts
// unless configured otherwise.
const DefaultDeviceCertValidity = 365 * 24 * time.Hour

// minDeviceRSABits is the smallest device key we certify; Apple devices
// generate 2048-bit keys when the enrollment profile asks for them.
const minDeviceRSABits = 2048

// ErrInvalidCSR is returned for a certificate request we will not sign:
// bad self-signature or an unacceptable key.
var ErrInvalidCSR = errors.New("invalid certificate request")

// Issue signs a device identity certificate for the key and CN in csr.
// Several certificates with the same subject may exist (re-enrollment).
func (ca *CA) Issue(csr *x509.CertificateRequest, validity time.Duration) (*x509.Certificate, error) {
	if err := CheckCSR(csr); err != nil {
		return nil, err
	}
	return ca.issue(csr.PublicKey, csr.Subject.CommonName, validity)
}

// IssueDirect certifies pub without a CSR; benchmarks and tests use it to
// skip the SCEP round trip.
func (ca *CA) IssueDirect(pub crypto.PublicKey, cn string, validity time.Duration) (*x509.Certificate, error) {
	if err := checkDeviceKey(pub); err != nil {
		return nil, err
	}
	return ca.issue(pub, cn, validity)
}

// CheckCSR verifies the request's self-signature and key. The SCEP handler
// calls it before spending a one-time challenge.
func CheckCSR(csr *x509.CertificateRequest) error {
	if csr == nil {
		return fmt.Errorf("%w: no request", ErrInvalidCSR)
	}
	if err := csr.CheckSignature(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCSR, err)
	}
	return checkDeviceKey(csr.PublicKey)
}

func checkDeviceKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minDeviceRSABits {
			return fmt.Errorf("%w: RSA key of %d bits, want at least %d", ErrInvalidCSR, k.N.BitLen(), minDeviceRSABits)
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P224() {
			return fmt.Errorf("%w: ECDSA curve P-224 is too weak", ErrInvalidCSR)
		}
		return nil
	default:
		return fmt.Errorf("%w: unsupported key type %T", ErrInvalidCSR, pub)
	}
}

func (ca *CA) issue(pub crypto.PublicKey, cn string, validity time.Duration) (*x509.Certificate, error) {
	if validity <= 0 {
		return nil, fmt.Errorf("certificate validity must be positive, got %s", validity)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := ca.now()
	notAfter := now.Add(validity)
	// A leaf outliving its CA would fail chain checks anyway; say so honestly.
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-clockSkewAllowance),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		// Explicitly not a CA, so a device certificate can never sign others.
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %q: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %q: %w", cn, err)
	}
	return cert, nil
}
