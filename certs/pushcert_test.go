package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"
)

const pushTestTopic = "com.apple.mgmt.External.0b7f3c9e-6a2d-4f1e-9a53-2c8d1e4b7a60"

var pushTestNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func pushTestPair(t *testing.T, topic string, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := NewTestPushCert(topic, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

func pushPEMBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	return block.Bytes
}

func TestParsePushCertAcceptsValidForms(t *testing.T) {
	notAfter := pushTestNow.AddDate(0, 6, 0).Truncate(time.Second)
	certPEM, keyPEM := pushTestPair(t, pushTestTopic, notAfter)
	keyDER := pushPEMBytes(t, keyPEM)
	rsaKey, err := x509.ParsePKCS1PrivateKey(keyDER)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	combined := append(append([]byte{}, keyPEM...), certPEM...)

	cases := []struct {
		name      string
		cert, key []byte
	}{
		{"PEM cert, PKCS#1 key", certPEM, keyPEM},
		{"DER cert, PKCS#1 key", pushPEMBytes(t, certPEM), keyPEM},
		{"PEM cert, PKCS#8 key", certPEM, pkcs8PEM},
		{"PEM cert, DER PKCS#1 key", certPEM, keyDER},
		{"PEM cert, DER PKCS#8 key", certPEM, pkcs8},
		{"one file with key then cert", combined, combined},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := ParsePushCert(tc.cert, tc.key, pushTestNow)
			if err != nil {
				t.Fatalf("ParsePushCert: %v", err)
			}
			if pc.Topic != pushTestTopic {
				t.Errorf("Topic = %q, want %q", pc.Topic, pushTestTopic)
			}
			if !pc.NotAfter.Equal(notAfter) {
				t.Errorf("NotAfter = %v, want %v", pc.NotAfter, notAfter)
			}
			tlsCert := pc.TLSCertificate()
			if len(tlsCert.Certificate) != 1 || tlsCert.Leaf != pc.Cert || tlsCert.PrivateKey == nil {
				t.Errorf("TLSCertificate = %d certs, leaf %v", len(tlsCert.Certificate), tlsCert.Leaf != nil)
			}
		})
	}
}

func TestParsePushCertAcceptsECKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := pushSelfSign(key, pushTestTopic, pushTestNow.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	// openssl writes an EC PARAMETERS block first; it must be skipped.
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}})
	pc, err := ParsePushCert(der, append(params, keyPEM...), pushTestNow)
	if err != nil {
		t.Fatalf("ParsePushCert: %v", err)
	}
	if _, ok := pc.Key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("Key is %T, want *ecdsa.PrivateKey", pc.Key)
	}
}

func TestParsePushCertKeepsChain(t *testing.T) {
	certPEM, keyPEM := pushTestPair(t, pushTestTopic, pushTestNow.AddDate(1, 0, 0))
	other, _ := pushTestPair(t, pushTestTopic, pushTestNow.AddDate(1, 0, 0))
	pc, err := ParsePushCert(append(append([]byte{}, certPEM...), other...), keyPEM, pushTestNow)
	if err != nil {
		t.Fatal(err)
	}
	tlsCert := pc.TLSCertificate()
	if len(tlsCert.Certificate) != 2 || string(tlsCert.Certificate[1]) != string(pushPEMBytes(t, other)) {
		t.Errorf("TLSCertificate has %d certs, want leaf + 1 intermediate", len(tlsCert.Certificate))
	}
}

func TestParsePushCertRefusals(t *testing.T) {
	good, goodKey := pushTestPair(t, pushTestTopic, pushTestNow.AddDate(1, 0, 0))
	_, otherKey := pushTestPair(t, pushTestTopic, pushTestNow.AddDate(1, 0, 0))
	expiredAt := time.Date(2026, 2, 14, 9, 30, 0, 0, time.UTC)
	expired, expiredKey := pushTestPair(t, pushTestTopic, expiredAt)
	noUID, noUIDKey := pushTestPair(t, "", pushTestNow.AddDate(1, 0, 0))
	appCert, appKey := pushTestPair(t, "com.example.someapp", pushTestNow.AddDate(1, 0, 0))
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x00}})
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}})

	cases := []struct {
		name      string
		cert, key []byte
		now       time.Time
		wantIs    error
		wantText  string
	}{
		{"mismatched key", good, otherKey, pushTestNow, ErrPushKeyMismatch, "does not belong"},
		{"expired", expired, expiredKey, pushTestNow, ErrPushCertNotInForce, "expired on 2026-02-14T09:30:00Z"},
		{"not yet valid", good, goodKey, pushTestNow.AddDate(-2, 0, 0), ErrPushCertNotInForce, "not valid before"},
		{"no UID", noUID, noUIDKey, pushTestNow, ErrPushCertNoTopic, "UID"},
		{"app push cert", appCert, appKey, pushTestNow, ErrPushCertNotForMDM, "com.example.someapp"},
		{"garbage cert", []byte("hello, not a certificate"), goodKey, pushTestNow, ErrPushCertMissing, "no certificate"},
		{"empty cert", nil, goodKey, pushTestNow, ErrPushCertMissing, "no certificate"},
		{"DER-looking garbage cert", []byte{0x30, 0x03, 0x02, 0x01}, goodKey, pushTestNow, nil, "push certificate:"},
		{"garbage key", good, []byte("not a key"), pushTestNow, nil, "not PKCS#1, PKCS#8 or EC"},
		{"PEM without key", good, good, pushTestNow, ErrPushKeyMissing, "no private key"},
		{"empty key", good, nil, pushTestNow, ErrPushKeyMissing, "no private key"},
		{"encrypted PKCS#8 key", good, encrypted, pushTestNow, ErrPushKeyEncrypted, "encrypted"},
		{"legacy encrypted PEM key", good, legacyEncrypted, pushTestNow, ErrPushKeyEncrypted, "encrypted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := ParsePushCert(tc.cert, tc.key, tc.now)
			if err == nil {
				t.Fatalf("ParsePushCert accepted it: topic %q", pc.Topic)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not mention %q", err, tc.wantText)
			}
		})
	}
}

func TestPushCertValidityErrorCarriesDates(t *testing.T) {
	expiredAt := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	certPEM, keyPEM := pushTestPair(t, pushTestTopic, expiredAt)
	_, err := ParsePushCert(certPEM, keyPEM, pushTestNow)
	var verr *PushCertValidityError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is not a *PushCertValidityError", err)
	}
	if !verr.NotAfter.Equal(expiredAt) || !verr.Now.Equal(pushTestNow) {
		t.Errorf("NotAfter %v Now %v", verr.NotAfter, verr.Now)
	}
}

// FuzzParsePushCert: the files come from an admin, but a truncated or
// mangled upload must still be an error, never a crash.
func FuzzParsePushCert(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte("x"))
	f.Add([]byte{0x30, 0x82, 0x01}, []byte{0x30, 0x82})
	f.Add([]byte{}, []byte("-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, cert, key []byte) {
		pc, err := ParsePushCert(cert, key, pushTestNow)
		if err == nil && pc.Topic == "" {
			t.Fatal("accepted a certificate without a topic")
		}
	})
}
