package certs

import (
	"testing"
	"time"
)

// BenchmarkVerifyMdmSignature is the per-check-in cost with the signer's
// chain already cached: parse the CMS, hash the body, one RSA verify.
func BenchmarkVerifyMdmSignature(b *testing.B) {
	for _, tc := range []struct {
		name   string
		sha256 bool
	}{{"SHA-1", false}, {"SHA-256", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cert := issueFor(b, testCA, 0, "bench")
			header := sign(b, cert, deviceKeys[0], checkinBody, tc.sha256)
			v := NewVerifier(testCA)
			now := time.Now()
			if _, err := v.VerifyMdmSignature(header, checkinBody, now); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := v.VerifyMdmSignature(header, checkinBody, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyMdmSignatureUncached shows what the chain cache saves.
func BenchmarkVerifyMdmSignatureUncached(b *testing.B) {
	cert := issueFor(b, testCA, 0, "bench")
	header := sign(b, cert, deviceKeys[0], checkinBody, false)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		v := NewVerifier(testCA)
		if _, err := v.VerifyMdmSignature(header, checkinBody, now); err != nil {
			b.Fatal(err)
		}
	}
}
