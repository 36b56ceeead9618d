package mdm

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// TestDecodeCheckinGolden decodes every check-in fixture and pins the
// typed result as JSON, so a decoding change shows up as a diff.
func TestDecodeCheckinGolden(t *testing.T) {
	files, err := filepath.Glob(golden.Path(t, "mdm/checkin/*.plist"))
	if err != nil || len(files) < 10 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".plist")
		t.Run(name, func(t *testing.T) {
			c, err := DecodeCheckin(golden.Read(t, f))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, strings.TrimSuffix(f, ".plist")+".golden.json", append(got, '\n'))
		})
	}
}

func TestDecodeCheckinQuirks(t *testing.T) {
	c, err := DecodeCheckin(golden.Read(t, golden.Path(t, "mdm/checkin/authenticate-macos.plist")))
	if err != nil {
		t.Fatal(err)
	}
	if c.DeviceName != "Ana's MacBook Pro" {
		t.Errorf("HTML-escaped string decoded as %q", c.DeviceName)
	}
	if PlatformFromProduct(c.ProductName) != "macOS" {
		t.Errorf("platform of %s", c.ProductName)
	}
	min, err := DecodeCheckin(golden.Read(t, golden.Path(t, "mdm/checkin/authenticate-ios-minimal.plist")))
	if err != nil {
		t.Fatalf("Authenticate without OSVersion/Model must decode: %v", err)
	}
	if min.OSVersion != "" || min.DeviceID() != "00008110-000A1B2C3D4E801E" {
		t.Errorf("minimal Authenticate: %+v", min)
	}
	short, err := DecodeCheckin(golden.Read(t, golden.Path(t, "mdm/checkin/tokenupdate-short-token.plist")))
	if err != nil || len(short.Token) != 2 {
		t.Errorf("short simulator token: %v %v", short, err)
	}
	ua, err := DecodeCheckin(golden.Read(t, golden.Path(t, "mdm/checkin/userauthenticate.plist")))
	if err != nil || !ua.IsUserChannel() {
		t.Errorf("UserAuthenticate is a user channel message: %v", err)
	}
}

func TestDecodeCheckinRefuses(t *testing.T) {
	cases := map[string]string{
		"udid-integer":          "decode",
		"duplicate-key":         `duplicate key "UDID"`,
		"multiple-roots":        "more than one root value",
		"unknown-message":       `unknown MessageType "SelfDestruct"`,
		"missing-message-type":  "missing MessageType",
		"tokenupdate-no-token":  "TokenUpdate without Token",
		"not-a-dict":            "decode",
		"garbage":               "no <plist> element",
		"binary-self-reference": "binary format",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeCheckin(golden.Read(t, golden.Path(t, "mdm/checkin/bad/"+name+".plist")))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("want *DecodeError, got %v", err)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

func TestScanPlistLimits(t *testing.T) {
	deep := "<plist>" + strings.Repeat("<array>", 100_000) + strings.Repeat("</array>", 100_000) + "</plist>"
	if err := ScanPlist([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("100k-deep nesting: %v", err)
	}
	ok := "<plist>" + strings.Repeat("<array>", MaxPlistDepth-1) + strings.Repeat("</array>", MaxPlistDepth-1) + "</plist>"
	if err := ScanPlist([]byte(ok)); err != nil {
		t.Errorf("nesting at the limit refused: %v", err)
	}
	wide := "<plist><array>" + strings.Repeat("<true/>", MaxPlistElements) + "</array></plist>"
	if err := ScanPlist([]byte(wide)); err == nil || !strings.Contains(err.Error(), "elements") {
		t.Errorf("too many elements: %v", err)
	}
	for _, bad := range []string{
		"<plist><dict><key>a</key></plist>",
		"<plist><dict></array></plist>",
		"<plist><dict><key>a<b/></key></dict></plist>",
		"<plist><key>a</key></plist>",
		"<plist></plist><plist></plist>",
		"<plist><dict><key>a&amp;b</key><true/><key>a&amp;b</key><true/></dict></plist>",
		"<plist><dict><key>unterminated",
		"   ",
	} {
		if err := ScanPlist([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	// Keys are per dict: the same key in sibling and nested dicts is fine.
	sib := "<plist><array><dict><key>a</key><true/></dict><dict><key>a</key><dict><key>a</key><true/></dict></dict></array></plist>"
	if err := ScanPlist([]byte(sib)); err != nil {
		t.Errorf("same key in different dicts refused: %v", err)
	}
}

func FuzzDecodeCheckin(f *testing.F) {
	files, _ := filepath.Glob("../testdata/mdm/checkin/*.plist")
	bad, _ := filepath.Glob("../testdata/mdm/checkin/bad/*.plist")
	for _, p := range append(files, bad...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCheckin(data)
		if err == nil && c.MessageType == "" {
			t.Fatal("accepted a check-in without MessageType")
		}
		_, _ = DecodeReport(data)
	})
}
