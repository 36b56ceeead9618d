package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// PushCert is the APNs client certificate an MDM server pushes with. Its
// subject UID is the push topic devices report in their check-in.
type PushCert struct {
	Cert     *x509.Certificate
	Key      crypto.PrivateKey
	Topic    string
	NotAfter time.Time

	// chain holds any intermediate certificates that followed the leaf,
	// so TLSCertificate can present them.
	chain [][]byte
}

// pushTopicPrefix starts every MDM push topic Apple issues
// (com.apple.mgmt.External.<uuid>, and the older com.apple.mgmt.XServer.<uuid>).
// An app push certificate has its bundle id here instead and cannot wake devices.
const pushTopicPrefix = "com.apple.mgmt."

// pushOIDUserID is the LDAP "UID" attribute Apple puts the topic in.
var pushOIDUserID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// Errors returned by ParsePushCert, for callers that want errors.Is.
var (
	ErrPushCertMissing    = errors.New("push certificate: no certificate found (expected PEM \"CERTIFICATE\" or DER)")
	ErrPushKeyMissing     = errors.New("push certificate: no private key found (expected PEM PKCS#1, PKCS#8 or EC key)")
	ErrPushKeyEncrypted   = errors.New("push certificate: the private key is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)")
	ErrPushKeyMismatch    = errors.New("push certificate: the private key does not belong to the certificate")
	ErrPushCertNoTopic    = errors.New("push certificate: subject has no UID attribute, so it carries no push topic")
	ErrPushCertNotForMDM  = errors.New("push certificate: topic is not an MDM topic (" + pushTopicPrefix + "…); this looks like an app push certificate")
	ErrPushCertNotInForce = errors.New("push certificate: outside its validity period")
)

// PushCertValidityError says when the certificate stops (or starts) being
// valid, so the admin knows what to renew.
type PushCertValidityError struct {
	NotBefore, NotAfter, Now time.Time
}

func (e *PushCertValidityError) Error() string {
	if e.Now.After(e.NotAfter) {
		return fmt.Sprintf("push certificate expired on %s; renew it at Apple's push certificates portal with the same Apple Account and install the renewed certificate",
			e.NotAfter.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("push certificate is not valid before %s (check the system clock)",
		e.NotBefore.UTC().Format(time.RFC3339))
}

func (e *PushCertValidityError) Unwrap() error { return ErrPushCertNotInForce }

// ParsePushCert reads an APNs MDM push certificate (PEM or DER) and its
// private key (PEM or DER: PKCS#1, PKCS#8 or SEC 1 EC), checks that they
// match and that the certificate is valid at now, and extracts the topic.
// Files holding both the key and the certificate may be passed for both.
func ParsePushCert(certPEM, keyPEM []byte, now time.Time) (*PushCert, error) {
	leaf, chain, err := pushParseCerts(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := pushParseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if err := pushCheckKeyMatches(leaf, key); err != nil {
		return nil, err
	}
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, &PushCertValidityError{NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter, Now: now}
	}
	topic, err := pushTopicOf(leaf)
	if err != nil {
		return nil, err
	}
	return &PushCert{Cert: leaf, Key: key, Topic: topic, NotAfter: leaf.NotAfter, chain: chain}, nil
}

// TLSCertificate returns the certificate as a TLS client certificate for
// the APNs connection.
func (p *PushCert) TLSCertificate() tls.Certificate {
	der := make([][]byte, 0, 1+len(p.chain))
	der = append(der, p.Cert.Raw)
	der = append(der, p.chain...)
	return tls.Certificate{Certificate: der, PrivateKey: p.Key, Leaf: p.Cert}
}

// pushParseCerts returns the first certificate as the leaf and the raw DER
// of any later ones. Other PEM blocks (keys) are skipped.
func pushParseCerts(data []byte) (*x509.Certificate, [][]byte, error) {
	var ders [][]byte
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			ders = append(ders, block.Bytes)
		}
	}
	if len(ders) == 0 {
		if len(data) == 0 || data[0] != 0x30 { // DER starts with a SEQUENCE
			return nil, nil, ErrPushCertMissing
		}
		ders = [][]byte{data}
	}
	leaf, err := x509.ParseCertificate(ders[0])
	if err != nil {
		return nil, nil, fmt.Errorf("push certificate: %w", err)
	}
	return leaf, ders[1:], nil
}

// pushParseKey returns the first private key found in PEM data, or parses
// data as DER when it holds no PEM block at all.
func pushParseKey(data []byte) (crypto.Signer, error) {
	rest := data
	sawPEM := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if strings.Contains(block.Type, "ENCRYPTED") || block.Headers["Proc-Type"] != "" {
			return nil, ErrPushKeyEncrypted
		}
		return pushParseKeyDER(block.Bytes)
	}
	if sawPEM || len(data) == 0 {
		return nil, ErrPushKeyMissing
	}
	return pushParseKeyDER(data)
}

func pushParseKeyDER(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("push certificate: private key is not PKCS#1, PKCS#8 or EC: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("push certificate: unsupported private key type %T", k)
	}
	return signer, nil
}

func pushCheckKeyMatches(cert *x509.Certificate, key crypto.Signer) error {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return ErrPushKeyMismatch
	}
	return nil
}

func pushTopicOf(cert *x509.Certificate) (string, error) {
	for _, name := range cert.Subject.Names {
		if !name.Type.Equal(pushOIDUserID) {
			continue
		}
		topic, ok := name.Value.(string)
		topic = strings.TrimSpace(topic)
		if !ok || topic == "" {
			return "", ErrPushCertNoTopic
		}
		if !strings.HasPrefix(topic, pushTopicPrefix) {
			return "", fmt.Errorf("%w: got %q", ErrPushCertNotForMDM, topic)
		}
		return topic, nil
	}
	return "", ErrPushCertNoTopic
}

// NewTestPushCert makes a self-signed stand-in for an Apple MDM push
// certificate (RSA 2048, subject UID = topic), valid for a year up to
// notAfter. It is for tests, simulators and demos: APNs will not accept it.
// An empty topic yields a certificate without a UID.
func NewTestPushCert(topic string, notAfter time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("test push certificate: %w", err)
	}
	certDER, err := pushSelfSign(key, topic, notAfter)
	if err != nil {
		return nil, nil, err
	}
	keyDER := x509.MarshalPKCS1PrivateKey(key)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

func pushSelfSign(key crypto.Signer, topic string, notAfter time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("test push certificate: %w", err)
	}
	subject := pkix.Name{CommonName: "APSP:test " + topic}
	if topic != "" {
		subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: pushOIDUserID, Value: topic}}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    notAfter.AddDate(-1, 0, 0),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("test push certificate: %w", err)
	}
	return der, nil
}
