package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"github.com/smallstep/pkcs7"
)

// SignMdmBody produces the Mdm-Signature header value a device sends: a
// base64 detached CMS signature over body. Devices use SHA-1 today; set
// useSHA256 to sign as newer clients may.
func SignMdmBody(cert *x509.Certificate, key crypto.PrivateKey, body []byte, useSHA256 bool) (string, error) {
	sd, err := pkcs7.NewSignedData(body)
	if err != nil {
		return "", fmt.Errorf("sign body: %w", err)
	}
	if useSHA256 {
		sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	} else {
		sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA1)
	}
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		return "", fmt.Errorf("sign body: %w", err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		return "", fmt.Errorf("sign body: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}
