package enrollment

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/tidemark-mdm/tidemark/mdm"
)

// Body errors, mapped to statuses in one place (statusFor).
var (
	// ErrUnsigned: a plain plist while Settings.AllowUnsigned is off.
	ErrUnsigned = errors.New("unsigned MachineInfo refused: devices send it CMS-signed (application/pkcs7-signature)")
	// ErrBadSignature: the CMS envelope is malformed or its signature does
	// not match its content.
	ErrBadSignature = errors.New("MachineInfo signature invalid")
	// ErrNotMachineInfo: neither a CMS envelope nor an XML plist.
	ErrNotMachineInfo = errors.New("body is neither a CMS-signed nor an XML MachineInfo")
)

// SignatureInfo is what the envelope told us about who sent the body.
type SignatureInfo struct {
	Signed bool `json:"signed"`
	// ChainVerified: the signer chained to one of the configured roots.
	// Apple's ADE devices sign with an Apple-issued device identity, which
	// verifies only when Apple's device CA is among the roots.
	ChainVerified bool   `json:"chain_verified"`
	ChainError    string `json:"chain_error,omitempty"`
	SignerSubject string `json:"signer_subject,omitempty"`
	// SignerHash is the hex SHA-256 of the signer certificate's DER.
	SignerHash string `json:"signer_hash,omitempty"`
}

// ReadMachineInfo unwraps and decodes a MachineInfo body: a CMS SignedData
// with the plist as its content (what devices send), or, when
// allowUnsigned, a bare XML plist. The signature must be intact; whether
// the signer is trusted is recorded, not required (see the package doc).
func ReadMachineInfo(body []byte, allowUnsigned bool, roots *x509.CertPool, now time.Time) (*mdm.MachineInfo, SignatureInfo, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	var sig SignatureInfo
	var content []byte
	switch {
	case len(trimmed) > 0 && trimmed[0] == 0x30: // DER SEQUENCE
		var err error
		if content, sig, err = openSigned(body, roots, now); err != nil {
			return nil, sig, err
		}
	case bytes.HasPrefix(trimmed, []byte("<")):
		if !allowUnsigned {
			return nil, sig, ErrUnsigned
		}
		content = body
	default:
		return nil, sig, ErrNotMachineInfo
	}
	mi, err := mdm.DecodeMachineInfo(content)
	if err != nil {
		return nil, sig, fmt.Errorf("MachineInfo: %w", err)
	}
	return mi, sig, nil
}

// openSigned checks the envelope and returns its content.
func openSigned(der []byte, roots *x509.CertPool, now time.Time) (content []byte, sig SignatureInfo, err error) {
	defer func() {
		// The ASN.1 parser is third-party code fed by anyone on the network.
		if p := recover(); p != nil {
			content, err = nil, fmt.Errorf("%w: parser failure: %v", ErrBadSignature, p)
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, sig, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if len(p7.Signers) != 1 {
		return nil, sig, fmt.Errorf("%w: %d signers, want exactly one", ErrBadSignature, len(p7.Signers))
	}
	if len(p7.Content) == 0 {
		return nil, sig, fmt.Errorf("%w: no embedded content", ErrBadSignature)
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, sig, fmt.Errorf("%w: signer certificate not included", ErrBadSignature)
	}
	// Verify with no trust store checks the digest and the signature only.
	if err := p7.Verify(); err != nil {
		return nil, sig, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	sum := sha256.Sum256(signer.Raw)
	sig = SignatureInfo{Signed: true, SignerSubject: signer.Subject.CommonName, SignerHash: hex.EncodeToString(sum[:])}
	sig.ChainVerified, sig.ChainError = verifyChain(signer, p7.Certificates, roots, now)
	return p7.Content, sig, nil
}

// verifyChain checks the signer against roots at now, with the envelope's
// other certificates as intermediates.
func verifyChain(signer *x509.Certificate, included []*x509.Certificate, roots *x509.CertPool, now time.Time) (bool, string) {
	if roots == nil {
		return false, "no trust roots configured"
	}
	inter := x509.NewCertPool()
	for _, c := range included {
		if c != signer {
			inter.AddCert(c)
		}
	}
	_, err := signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return false, truncate(err.Error(), 200)
	}
	return true, ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
