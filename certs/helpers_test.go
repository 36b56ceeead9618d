package certs

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"

	"github.com/smallstep/pkcs7"
)

// signAttachedForTest makes a non-detached signature over content.
func signAttachedForTest(cert *x509.Certificate, key *rsa.PrivateKey, content []byte) (string, error) {
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return "", err
	}
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		return "", err
	}
	der, err := sd.Finish()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}
