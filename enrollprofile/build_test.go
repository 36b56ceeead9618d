package enrollprofile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/mdm"
)

func fixedParams() Params {
	return Params{
		PublicURL:       "https://mdm.example.com/",
		Topic:           TopicForInstall("8F2C0A4E-1B3D-4C5E-9F60-7A8B9C0D1E2F"),
		Challenge:       "static-challenge-from-config",
		OrgName:         "Example Corp",
		ProfileUUID:     "6B1D6C0E-3A52-4C55-9E0B-2C4F1A7D9E10",
		SCEPPayloadUUID: "0D5E8F21-7C34-4B6A-8E19-5F3A2B1C0D9E",
		MDMPayloadUUID:  "A3C2B1D0-9E8F-4A7B-8C6D-5E4F3A2B1C0D",
	}
}

func TestBuildGolden(t *testing.T) {
	out, err := Build(fixedParams())
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "enrollprofile/enroll.mobileconfig"), out)
}

// Without UUIDs the profile is still deterministic; the derivation is pinned
// by its own golden file.
func TestBuildDerivedUUIDs(t *testing.T) {
	p := Params{PublicURL: "https://mdm.example.com", Topic: TopicForInstall("X"), Challenge: "c1"}
	a, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Build(p)
	if !bytes.Equal(a, b) {
		t.Fatal("same Params gave different profiles")
	}
	golden.Assert(t, golden.Path(t, "enrollprofile/enroll-derived.mobileconfig"), a)

	p.Challenge = "c2"
	c, _ := Build(p)
	if uuidsOf(t, a)["profile"] == uuidsOf(t, c)["profile"] {
		t.Error("a different challenge kept the same profile UUID")
	}
	u := uuidsOf(t, a)
	if u["scep"] == u["mdm"] || u["scep"] == u["profile"] {
		t.Errorf("derived UUIDs collide: %v", u)
	}
	for _, v := range u {
		if !uuidPattern.MatchString(v) || v[14] != '8' {
			t.Errorf("%q is not a version-8 UUID", v)
		}
	}
}

func uuidsOf(t *testing.T, profile []byte) map[string]string {
	t.Helper()
	doc := decode(t, profile)
	content := doc["PayloadContent"].([]any)
	return map[string]string{
		"profile": doc["PayloadUUID"].(string),
		"scep":    content[0].(map[string]any)["PayloadUUID"].(string),
		"mdm":     content[1].(map[string]any)["PayloadUUID"].(string),
	}
}

func decode(t *testing.T, profile []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := mdm.DecodePlist(profile, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// The keys Apple devices act on, checked by meaning rather than bytes.
func TestBuildPayloadKeys(t *testing.T) {
	out, err := Build(fixedParams())
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, out)
	content := doc["PayloadContent"].([]any)
	if len(content) != 2 {
		t.Fatalf("%d payloads, want SCEP and MDM", len(content))
	}
	scep, mdmPl := content[0].(map[string]any), content[1].(map[string]any)
	sc := scep["PayloadContent"].(map[string]any)
	checks := map[string][2]any{
		"profile type":            {doc["PayloadType"], "Configuration"},
		"SCEP type":               {scep["PayloadType"], "com.apple.security.scep"},
		"SCEP URL":                {sc["URL"], "https://mdm.example.com/scep"},
		"Challenge":               {sc["Challenge"], "static-challenge-from-config"},
		"Keysize":                 {sc["Keysize"], uint64(2048)},
		"Key Type":                {sc["Key Type"], "RSA"},
		"Key Usage":               {sc["Key Usage"], uint64(5)},
		"Name":                    {sc["Name"], "Example Corp"},
		"MDM type":                {mdmPl["PayloadType"], "com.apple.mdm"},
		"ServerURL":               {mdmPl["ServerURL"], "https://mdm.example.com/mdm"},
		"CheckInURL":              {mdmPl["CheckInURL"], "https://mdm.example.com/mdm/checkin"},
		"Topic":                   {mdmPl["Topic"], "com.apple.mgmt.External.8F2C0A4E-1B3D-4C5E-9F60-7A8B9C0D1E2F"},
		"IdentityCertificateUUID": {mdmPl["IdentityCertificateUUID"], scep["PayloadUUID"]},
		"SignMessage":             {mdmPl["SignMessage"], true},
		"AccessRights":            {mdmPl["AccessRights"], uint64(8191)},
		"CheckOutWhenRemoved":     {mdmPl["CheckOutWhenRemoved"], true},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %#v, want %#v", name, c[0], c[1])
		}
	}
	subject := sc["Subject"].([]any)[0].([]any)[0].([]any)
	if len(subject) != 2 || subject[0] != "CN" || subject[1] != "%HardwareUUID%" {
		t.Errorf("Subject = %#v, want [[[CN %%HardwareUUID%%]]]", sc["Subject"])
	}
	caps := mdmPl["ServerCapabilities"].([]any)
	if len(caps) != 2 || caps[0] != "com.apple.mdm.bootstraptoken" || caps[1] != "com.apple.mdm.per-user-connections" {
		t.Errorf("ServerCapabilities = %v", caps)
	}
}

func TestBuildRejects(t *testing.T) {
	cases := map[string]func(*Params){
		"no URL":            func(p *Params) { p.PublicURL = "" },
		"ftp URL":           func(p *Params) { p.PublicURL = "ftp://mdm.example.com" },
		"URL without host":  func(p *Params) { p.PublicURL = "https:///path" },
		"URL with query":    func(p *Params) { p.PublicURL = "https://mdm.example.com/?x=1" },
		"relative URL":      func(p *Params) { p.PublicURL = "mdm.example.com" },
		"topic not MDM":     func(p *Params) { p.Topic = "com.example.app" },
		"bare topic prefix": func(p *Params) { p.Topic = "com.apple.mgmt." },
		"no challenge":      func(p *Params) { p.Challenge = "" },
		"bad profile UUID":  func(p *Params) { p.ProfileUUID = "not-a-uuid" },
		"bad SCEP UUID":     func(p *Params) { p.SCEPPayloadUUID = "1234" },
	}
	for name, mutate := range cases {
		p := fixedParams()
		mutate(&p)
		if out, err := Build(p); err == nil || !strings.Contains(err.Error(), "enrollment profile") {
			t.Errorf("%s: err = %v (%d bytes)", name, err, len(out))
		}
	}
}

func TestTopicForInstall(t *testing.T) {
	if got := TopicForInstall("abc-123"); got != "com.apple.mgmt.External.abc-123" {
		t.Fatalf("TopicForInstall = %q", got)
	}
}
