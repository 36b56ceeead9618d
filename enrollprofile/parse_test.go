package enrollprofile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/tidemark-mdm/tidemark/internal/golden"
)

var wantSim = SimEnrollment{
	SCEPURL:    "https://mdm.example.com/scep",
	Challenge:  "static-challenge-from-config",
	SubjectCN:  "%HardwareUUID%",
	KeySize:    2048,
	ServerURL:  "https://mdm.example.com/mdm",
	CheckInURL: "https://mdm.example.com/mdm/checkin",
	Topic:      "com.apple.mgmt.External.8F2C0A4E-1B3D-4C5E-9F60-7A8B9C0D1E2F",
}

func TestParseForSimGolden(t *testing.T) {
	got, err := ParseForSim(golden.Read(t, golden.Path(t, "enrollprofile/enroll.mobileconfig")))
	if err != nil {
		t.Fatal(err)
	}
	if got != wantSim {
		t.Fatalf("got %+v\nwant %+v", got, wantSim)
	}
}

func TestParseForSimSigned(t *testing.T) {
	profile, err := Build(fixedParams())
	if err != nil {
		t.Fatal(err)
	}
	signed := signProfile(t, profile)
	got, err := ParseForSim(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got != wantSim {
		t.Fatalf("got %+v", got)
	}
}

func signProfile(t *testing.T, profile []byte) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sd, err := pkcs7.NewSignedData(profile)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	out, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseForSimRejects(t *testing.T) {
	good := string(golden.Read(t, golden.Path(t, "enrollprofile/enroll.mobileconfig")))
	cases := map[string]struct {
		profile string
		want    error
	}{
		"not a configuration": {strings.Replace(good, "<string>Configuration</string>", "<string>Other</string>", 1), ErrNotEnrollmentProfile},
		"no SCEP payload":     {strings.Replace(good, "com.apple.security.scep", "com.apple.security.pkcs12", 1), ErrNotEnrollmentProfile},
		"no MDM payload":      {strings.Replace(good, "<string>com.apple.mdm</string>", "<string>com.apple.other</string>", 1), ErrNotEnrollmentProfile},
		"identity mismatch": {strings.Replace(good, "<key>IdentityCertificateUUID</key>\n\t\t\t<string>0D5E8F21",
			"<key>IdentityCertificateUUID</key>\n\t\t\t<string>FFFFFFFF", 1), ErrNotEnrollmentProfile},
		"binary plist": {"bplist00garbage", nil},
		"garbage":      {"<plist><dict><key>a</key>", nil},
		"empty":        {"", nil},
		"bad DER":      {"\x30\x82\x01", nil},
	}
	for name, tc := range cases {
		if tc.profile == good {
			t.Fatalf("%s: mutation did not apply", name)
		}
		_, err := ParseForSim([]byte(tc.profile))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func FuzzParseForSim(f *testing.F) {
	good, err := Build(fixedParams())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("\x30\x80\x06\x09"))
	f.Add([]byte("<plist><dict/></plist>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseForSim(data)
		if err == nil && (got.SCEPURL == "" || got.ServerURL == "" || got.Topic == "") {
			t.Fatalf("accepted a profile without the essentials: %+v", got)
		}
	})
}
