package certs

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// FuzzVerifyMdmSignature feeds device-controlled headers and bodies to the
// verifier: any outcome but a panic or an untyped error is a bug.
func FuzzVerifyMdmSignature(f *testing.F) {
	setupFixtures()
	cert, err := testCA.IssueDirect(&deviceKeys[0].PublicKey, "fuzz", DefaultDeviceCertValidity)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := SignMdmBody(cert, deviceKeys[0], checkinBody, false)
	if err != nil {
		f.Fatal(err)
	}
	der, _ := base64.StdEncoding.DecodeString(valid)
	f.Add(valid, checkinBody)
	f.Add(base64.StdEncoding.EncodeToString(der[:len(der)/2]), checkinBody)
	f.Add(base64.StdEncoding.EncodeToString([]byte{0x30, 0x80, 0x06, 0x09, 0x2a}), []byte{})
	f.Add("", []byte("x"))
	v := NewVerifier(testCA)
	now := time.Now()
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		cert, err := v.VerifyMdmSignature(header, body, now)
		if err == nil {
			if cert == nil {
				t.Fatal("nil certificate without an error")
			}
			return
		}
		for _, known := range []error{ErrSignatureMissing, ErrSignatureInvalid, ErrUntrustedCert, ErrCertExpired} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("untyped error: %v", err)
	})
}

// FuzzParseSCEPMessage exercises the SCEP request parser and decryption.
func FuzzParseSCEPMessage(f *testing.F) {
	setupFixtures()
	valid := newSCEPRequest(f, testCA.Cert(), deviceKeys[0], "A", "x").raw
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		msg, err := parseSCEPMessage(der)
		if err != nil {
			return
		}
		_ = decryptRequest(msg, testCA)
	})
}
