package certs

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smallstep/pkcs7"
)

// Identity errors. Callers map them to HTTP statuses with errors.Is; the
// wrapped detail is for logs.
var (
	ErrSignatureMissing = errors.New("Mdm-Signature header missing")
	ErrSignatureInvalid = errors.New("Mdm-Signature invalid")
	ErrUntrustedCert    = errors.New("certificate not issued by this server for client authentication")
	ErrCertExpired      = errors.New("certificate expired or not yet valid")
)

// DefaultChainCacheSize bounds how many trusted certificates the Verifier
// remembers; one per enrolled device is enough.
const DefaultChainCacheSize = 100_000

// VerifierOption adjusts NewVerifier.
type VerifierOption func(*Verifier)

// WithChainCacheSize sets the number of remembered trusted certificates.
func WithChainCacheSize(n int) VerifierOption { return func(v *Verifier) { v.cacheMax = n } }

// Verifier checks device identities: Mdm-Signature headers, mTLS and
// trusted-proxy certificates. Safe for concurrent use.
type Verifier struct {
	ca    *x509.Certificate
	roots *x509.CertPool

	// Chain building costs far more than the signature check, and a device
	// presents the same certificate for a year, so certificates that chained
	// once are remembered by hash. Only successes are stored, so unknown
	// certificates cannot push real ones out. When full, the set is cleared.
	mu       sync.RWMutex
	trusted  map[[sha256.Size]byte]struct{}
	cacheMax int
}

// NewVerifier trusts certificates issued by ca.
func NewVerifier(ca *CA, opts ...VerifierOption) *Verifier {
	v := &Verifier{ca: ca.cert, roots: ca.Pool(), cacheMax: DefaultChainCacheSize}
	for _, o := range opts {
		o(v)
	}
	v.trusted = make(map[[sha256.Size]byte]struct{})
	return v
}

// VerifyMdmSignature checks an Mdm-Signature header: a base64 detached CMS
// signature (SHA-1 or SHA-256) over exactly body, by a certificate this
// server issued that is valid at now. It returns the signer's certificate.
func (v *Verifier) VerifyMdmSignature(header string, body []byte, now time.Time) (*x509.Certificate, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return nil, ErrSignatureMissing
	}
	der, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %w", ErrSignatureInvalid, err)
	}
	signer, err := verifyDetached(der, body)
	if err != nil {
		return nil, err
	}
	if err := v.VerifyCert(signer, now); err != nil {
		return nil, err
	}
	return signer, nil
}

// verifyDetached checks the CMS signature over body and returns the signer.
// It does not judge the certificate; VerifyCert does.
func verifyDetached(der, body []byte) (signer *x509.Certificate, err error) {
	defer func() {
		// The ASN.1 parsing is third-party code fed by devices.
		if p := recover(); p != nil {
			signer, err = nil, fmt.Errorf("%w: parser failure: %v", ErrSignatureInvalid, p)
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignatureInvalid, err)
	}
	if len(p7.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d signers, want exactly one", ErrSignatureInvalid, len(p7.Signers))
	}
	if len(p7.Content) > 0 && !bytes.Equal(p7.Content, body) {
		return nil, fmt.Errorf("%w: signature embeds content other than the body", ErrSignatureInvalid)
	}
	p7.Content = body
	signer = p7.GetOnlySigner()
	if signer == nil {
		return nil, fmt.Errorf("%w: signer certificate not included", ErrSignatureInvalid)
	}
	// Verify without a trust store checks the digest and signature only;
	// the chain is checked once per certificate by VerifyCert.
	if err := p7.Verify(); err != nil {
		var badTime *pkcs7.SigningTimeNotValidError
		if errors.As(err, &badTime) {
			return nil, fmt.Errorf("%w: %w", ErrCertExpired, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrSignatureInvalid, err)
	}
	return signer, nil
}

// VerifyCert checks that cert was issued by our CA for client
// authentication and that it and the CA are valid at now. Use it for mTLS
// and trusted-proxy certificates.
func (v *Verifier) VerifyCert(cert *x509.Certificate, now time.Time) error {
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrUntrustedCert)
	}
	key := sha256.Sum256(cert.Raw)
	if !v.isTrusted(key) {
		if err := v.verifyChain(cert); err != nil {
			return err
		}
		v.remember(key)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("%w: valid %s to %s", ErrCertExpired,
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(v.ca.NotBefore) || now.After(v.ca.NotAfter) {
		return fmt.Errorf("%w: the CA is valid %s to %s", ErrCertExpired,
			v.ca.NotBefore.UTC().Format(time.RFC3339), v.ca.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// verifyChain checks everything about cert that does not depend on the time.
func (v *Verifier) verifyChain(cert *x509.Certificate) error {
	if cert.IsCA {
		return fmt.Errorf("%w: a CA certificate is not a device identity", ErrUntrustedCert)
	}
	// x509 treats a missing EKU extension as "any use"; we insist on the
	// explicit client-auth purpose our CA writes.
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return fmt.Errorf("%w: no client-authentication extended key usage", ErrUntrustedCert)
	}
	// Chain at a moment both certificates were valid; the caller checks now.
	at := cert.NotBefore
	if at.Before(v.ca.NotBefore) {
		at = v.ca.NotBefore
	}
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:       v.roots,
		CurrentTime: at,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUntrustedCert, err)
	}
	return nil
}

func (v *Verifier) isTrusted(key [sha256.Size]byte) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	_, ok := v.trusted[key]
	return ok
}

func (v *Verifier) remember(key [sha256.Size]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.trusted) >= v.cacheMax {
		clear(v.trusted)
	}
	v.trusted[key] = struct{}{}
}

// CertHash is the hex SHA-256 of the certificate's DER: the identity key
// enrollments are bound to.
func CertHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}
