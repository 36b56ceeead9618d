package certs

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// TestMdmSignatureFixture verifies signatures stored in testdata, so a
// library upgrade that stops reading yesterday's SHA-1 and SHA-256
// signatures fails here. `go test -update` regenerates the fixture.
func TestMdmSignatureFixture(t *testing.T) {
	dir := golden.Path(t, "certs/mdm-signature")
	if golden.Updating() {
		writeMdmSignatureFixture(t, dir)
	}
	caCert := readFixtureCert(t, filepath.Join(dir, "ca.pem"))
	device := readFixtureCert(t, filepath.Join(dir, "device.pem"))
	body := golden.Read(t, filepath.Join(dir, "body.plist"))
	v := NewVerifier(newCA(caCert, nil, time.Now))
	at := device.NotBefore.Add(2 * time.Hour)

	for file, digest := range map[string]string{"sha1.b64": pkcs7.OIDDigestAlgorithmSHA1.String(), "sha256.b64": pkcs7.OIDDigestAlgorithmSHA256.String()} {
		header := strings.TrimSpace(string(golden.Read(t, filepath.Join(dir, file))))
		der, err := base64.StdEncoding.DecodeString(header)
		if err != nil {
			t.Fatal(err)
		}
		p7, err := pkcs7.Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		if got := p7.Signers[0].DigestAlgorithm.Algorithm.String(); got != digest {
			t.Errorf("%s: digest algorithm %s, want %s", file, got, digest)
		}
		cert, err := v.VerifyMdmSignature(header, body, at)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !cert.Equal(device) {
			t.Errorf("%s: signer is not the fixture device", file)
		}
		if _, err := NewVerifier(otherCA).VerifyMdmSignature(header, body, at); !errors.Is(err, ErrUntrustedCert) {
			t.Errorf("%s accepted by another CA: %v", file, err)
		}
	}
	golden.Assert(t, filepath.Join(dir, "device.sha256"), []byte(CertHash(device)+"\n"))
}

func readFixtureCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	cert, err := parseCertPEM(golden.Read(t, path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cert
}

func writeMdmSignatureFixture(t *testing.T, dir string) {
	t.Helper()
	device := issueFor(t, testCA, 0, "FIXTURE-DEVICE-UUID")
	files := map[string][]byte{
		"ca.pem":     testCA.CertPEM(),
		"device.pem": encodeCertPEM(device),
		"body.plist": checkinBody,
		"sha1.b64":   []byte(sign(t, device, deviceKeys[0], checkinBody, false) + "\n"),
		"sha256.b64": []byte(sign(t, device, deviceKeys[0], checkinBody, true) + "\n"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
