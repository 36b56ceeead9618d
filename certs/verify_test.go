package certs

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

var checkinBody = []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>MessageType</key>
	<string>TokenUpdate</string>
	<key>PushMagic</key>
	<string>9F4B5C1E-0D0A-4B9B-9B1C-5E2B0C3D4E5F</string>
	<key>Token</key>
	<data>c2ltdWxhdGVkIHB1c2ggdG9rZW4gYnl0ZXMgMDEyMzQ1Njc=</data>
	<key>Topic</key>
	<string>com.apple.mgmt.External.8f2c0a4e-1b3d-4c5e-9f60-7a8b9c0d1e2f</string>
	<key>UDID</key>
	<string>00008103-000A1B2C3D4E5F60</string>
</dict>
</plist>
`)

func sign(t testing.TB, cert *x509.Certificate, key *rsa.PrivateKey, body []byte, sha256 bool) string {
	t.Helper()
	h, err := SignMdmBody(cert, key, body, sha256)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// signatureCerts are the signer shapes the verifier must tell apart.
type signatureCerts struct {
	good, foreign, selfSigned, noEKU, serverEKU, expired *x509.Certificate
}

func newSignatureCerts(t *testing.T) signatureCerts {
	t.Helper()
	fromOurCA := func(tmpl *x509.Certificate) *x509.Certificate {
		return handMadeCert(t, tmpl, 2, testCA.cert, testCA.key)
	}
	validNow := func(eku ...x509.ExtKeyUsage) *x509.Certificate {
		return &x509.Certificate{NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour), ExtKeyUsage: eku}
	}
	return signatureCerts{
		good:       issueFor(t, testCA, 0, "device-0"),
		foreign:    issueFor(t, otherCA, 1, "device-1"),
		selfSigned: handMadeCert(t, validNow(x509.ExtKeyUsageClientAuth), 1, nil, nil),
		noEKU:      fromOurCA(validNow()),
		serverEKU:  fromOurCA(validNow(x509.ExtKeyUsageServerAuth)),
		expired: fromOurCA(&x509.Certificate{
			NotBefore: testNow.Add(-48 * time.Hour), NotAfter: testNow.Add(-24 * time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}),
	}
}

func TestVerifyMdmSignature(t *testing.T) {
	c := newSignatureCerts(t)
	good := c.good
	sigSHA1 := sign(t, good, deviceKeys[0], checkinBody, false)
	der, _ := base64.StdEncoding.DecodeString(sigSHA1)
	attached, err := signAttachedForTest(good, deviceKeys[0], []byte("other content"))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"SHA-1 signature", sigSHA1, checkinBody, testNow, nil},
		{"SHA-256 signature", sign(t, good, deviceKeys[0], checkinBody, true), checkinBody, testNow, nil},
		{"surrounding whitespace", " " + sigSHA1 + "\r\n", checkinBody, testNow, nil},
		{"missing", "", checkinBody, testNow, ErrSignatureMissing},
		{"blank", "  \t", checkinBody, testNow, ErrSignatureMissing},
		{"not base64", "!!not base64!!", checkinBody, testNow, ErrSignatureInvalid},
		{"base64 garbage", base64.StdEncoding.EncodeToString([]byte("garbage")), checkinBody, testNow, ErrSignatureInvalid},
		{"truncated", base64.StdEncoding.EncodeToString(der[:len(der)-40]), checkinBody, testNow, ErrSignatureInvalid},
		{"body changed after signing", sigSHA1, append(bytes.Clone(checkinBody[:len(checkinBody)-2]), "x\n"...), testNow, ErrSignatureInvalid},
		{"empty body", sigSHA1, nil, testNow, ErrSignatureInvalid},
		{"signed by another key", sign(t, good, deviceKeys[1], checkinBody, false), checkinBody, testNow, ErrSignatureInvalid},
		{"attached other content", attached, checkinBody, testNow, ErrSignatureInvalid},
		{"self-signed", sign(t, c.selfSigned, deviceKeys[1], checkinBody, false), checkinBody, testNow, ErrUntrustedCert},
		{"other CA", sign(t, c.foreign, deviceKeys[1], checkinBody, true), checkinBody, testNow, ErrUntrustedCert},
		{"our CA, no EKU", sign(t, c.noEKU, deviceKeys[2], checkinBody, false), checkinBody, testNow, ErrUntrustedCert},
		{"our CA, server EKU", sign(t, c.serverEKU, deviceKeys[2], checkinBody, false), checkinBody, testNow, ErrUntrustedCert},
		{"the CA certificate itself", sign(t, testCA.cert, testCA.key, checkinBody, false), checkinBody, testNow, ErrUntrustedCert},
		{"expired at signing", sign(t, c.expired, deviceKeys[2], checkinBody, false), checkinBody, testNow, ErrCertExpired},
		{"expired now", sigSHA1, checkinBody, good.NotAfter.Add(time.Second), ErrCertExpired},
		{"not yet valid", sigSHA1, checkinBody, good.NotBefore.Add(-time.Second), ErrCertExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVerifier(testCA)
			cert, err := v.VerifyMdmSignature(tc.header, tc.body, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if !cert.Equal(good) {
					t.Fatal("returned certificate is not the signer's")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if cert != nil {
				t.Error("certificate returned with an error")
			}
		})
	}
}

func TestVerifierCache(t *testing.T) {
	v := NewVerifier(testCA, WithChainCacheSize(2))
	good := issueFor(t, testCA, 0, "cached")
	header := sign(t, good, deviceKeys[0], checkinBody, false)
	if _, err := v.VerifyMdmSignature(header, checkinBody, testNow); err != nil {
		t.Fatal(err)
	}
	if !v.isTrusted(sha256.Sum256(good.Raw)) {
		t.Fatal("verified certificate not cached")
	}
	// Cached trust never skips the time check or the body signature.
	if _, err := v.VerifyMdmSignature(header, checkinBody, good.NotAfter.Add(time.Minute)); !errors.Is(err, ErrCertExpired) {
		t.Errorf("cached cert, later now: err = %v", err)
	}
	if _, err := v.VerifyMdmSignature(header, []byte("changed"), testNow); !errors.Is(err, ErrSignatureInvalid) {
		t.Errorf("cached cert, changed body: err = %v", err)
	}
	foreign := issueFor(t, otherCA, 1, "foreign")
	if err := v.VerifyCert(foreign, testNow); !errors.Is(err, ErrUntrustedCert) {
		t.Fatalf("foreign cert: %v", err)
	}
	if v.isTrusted(sha256.Sum256(foreign.Raw)) {
		t.Error("untrusted certificate was cached")
	}
	for i := range 3 {
		if err := v.VerifyCert(issueFor(t, testCA, i, "fill"), testNow); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(v.trusted); n > 2 {
		t.Errorf("cache holds %d entries, bound is 2", n)
	}
}

func TestVerifyCertCAExpiry(t *testing.T) {
	v := NewVerifier(testCA)
	cert := issueFor(t, testCA, 0, "x")
	if err := v.VerifyCert(cert, testCA.cert.NotAfter.Add(time.Hour)); !errors.Is(err, ErrCertExpired) {
		t.Fatalf("err = %v", err)
	}
	if err := v.VerifyCert(nil, testNow); !errors.Is(err, ErrUntrustedCert) {
		t.Fatalf("nil cert: %v", err)
	}
}

func TestCertHash(t *testing.T) {
	cert := issueFor(t, testCA, 0, "hash")
	sum := sha256.Sum256(cert.Raw)
	got := CertHash(cert)
	if got != hex.EncodeToString(sum[:]) || len(got) != 64 {
		t.Fatalf("CertHash = %q", got)
	}
	if CertHash(issueFor(t, testCA, 0, "hash")) == got {
		t.Fatal("two certificates share a hash")
	}
}
