package enforcement

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

func TestParseCatalogRealCaptures(t *testing.T) {
	tests := []struct {
		date        string
		security    int
		newestMac   string // Latest for J314sAP at the capture date
		newestIPad  string // Latest for iPad13,1
		anyWarnings bool
	}{
		{"2024-06-30", 0, "14.5", "17.5.1", false},
		{"2025-10-29", 0, "26.0.1", "26.0.1", false},
		{"2025-10-30", 0, "26.0.1", "26.0.1", false},
		{"2026-03-17", 3, "26.3.1", "26.3.1", false},
		{"2026-08-22", 3, "26.6.2", "26.6.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			c := realCatalog(t, tt.date)
			at := day(tt.date)
			if len(c.Warnings) > 0 != tt.anyWarnings {
				t.Errorf("warnings = %v", c.Warnings)
			}
			sec := 0
			for _, r := range c.Releases() {
				if r.Kind == KindSecurityImprovement {
					sec++
				}
				if !r.MDM && !r.Public {
					t.Errorf("release %s %s belongs to no set", r.ProductVersion, r.Build)
				}
			}
			if sec != tt.security {
				t.Errorf("security improvements = %d, want %d", sec, tt.security)
			}
			if r, ok := c.Latest("macOS", "J314sAP", at); !ok || r.ProductVersion != tt.newestMac {
				t.Errorf("latest macOS for J314sAP = %q (%v), want %s", r.ProductVersion, ok, tt.newestMac)
			}
			if r, ok := c.Latest("iPadOS", "iPad13,1", at); !ok || r.ProductVersion != tt.newestIPad {
				t.Errorf("latest iPadOS for iPad13,1 = %q (%v), want %s", r.ProductVersion, ok, tt.newestIPad)
			}
		})
	}
}

// The 2024 capture lists visionOS under three keys; xrOS folds into the
// visionOS family, and 1.0.3 was listed after its expiry.
func TestParseCatalogXROSAndListedAfterExpiry(t *testing.T) {
	c := realCatalog(t, "2024-06-30")
	r, ok := c.Find("visionOS", "1.0.3", "", "RealityDevice14,1")
	if !ok {
		t.Fatal("xrOS 1.0.3 not found under the visionOS family")
	}
	if r.Installable(day("2024-06-30")) {
		t.Errorf("1.0.3 expired %s but is installable on 2024-06-30", r.Expires.Format("2006-01-02"))
	}
	for _, a := range c.Applicable("visionOS", "RealityDevice14,1", day("2024-06-30")) {
		if a.ProductVersion == "1.0.3" {
			t.Error("expired 1.0.3 listed as applicable")
		}
	}
}

// Apple renamed PublicRapidSecurityResponses to
// PublicBackgroundSecurityImprovements between these two downloads: the
// same OS releases come out of both.
func TestParseCatalogRenamedSecurityKey(t *testing.T) {
	old, renamed := realCatalog(t, "2025-10-29"), realCatalog(t, "2025-10-30")
	key := func(c *Catalog) map[string]bool {
		m := map[string]bool{}
		for _, r := range c.Releases() {
			m[r.Platform+" "+r.Build+" "+strings.Join(r.SupportedDevices, ",")] = true
		}
		return m
	}
	a, b := key(old), key(renamed)
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("release sets differ in size: %d vs %d", len(a), len(b))
	}
	for k := range a {
		if !b[k] {
			t.Errorf("%s missing after the rename", k)
		}
	}
	synthetic := `{"PublicRapidSecurityResponses":{"macOS":[{"ProductVersion":"13.3.1","Build":"22E772610a",
	 "ProductVersionExtra":"(a)","PrerequisiteBuild":"22E261","PostingDate":"2023-05-01",
	 "ExpirationDate":"2023-08-01","SupportedDevices":["J314sAP"]}]}}`
	c, err := ParseCatalog([]byte(synthetic))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.SecurityImprovement("macOS", "J314sAP", "22E261", day("2023-06-01"))
	if !ok || r.Build != "22E772610a" || r.Version.String() != "13.3.1 (a)" {
		t.Errorf("old-key security response = %+v, %v", r, ok)
	}
}

func TestParseCatalogRefusesGarbage(t *testing.T) {
	tests := map[string]string{
		"empty":           "",
		"not json":        "<html>503</html>",
		"json array":      "[]",
		"empty object":    "{}",
		"empty sets":      `{"PublicAssetSets":{},"AssetSets":{"iOS":[]},"PublicBackgroundSecurityImprovements":{}}`,
		"only bad":        `{"AssetSets":{"macOS":[{"ProductVersion":"x","Build":"25C56"}]}}`,
		"wrong type":      `{"AssetSets":{"macOS":"26.2"}}`,
		"truncated":       `{"AssetSets":{"macOS":[{"ProductVersion":"26.2"`,
		"bad date format": `{"AssetSets":{"macOS":[{"ProductVersion":"26.2","Build":"25C56","PostingDate":"17/11/2026"}]}}`,
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := ParseCatalog([]byte(raw))
			if err == nil {
				t.Fatalf("accepted %q: %d releases", raw, len(c.Releases()))
			}
			if !strings.Contains(err.Error(), "release catalog") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
	_, err := ParseCatalog([]byte("{}"))
	if !errors.Is(err, ErrEmptyCatalog) {
		t.Errorf("empty catalog error %v is not ErrEmptyCatalog", err)
	}
}

// One bad entry among good ones is skipped and reported, not fatal.
func TestParseCatalogSkipsBadEntry(t *testing.T) {
	raw := `{"AssetSets":{"macOS":[
	  {"ProductVersion":"26.2","Build":"25C56","PostingDate":"2026-11-17","ExpirationDate":"2027-02-19","SupportedDevices":["J314sAP"]},
	  {"ProductVersion":"26.x","Build":"25C99","SupportedDevices":["J314sAP"]}]}}`
	c, err := ParseCatalog([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Releases()) != 1 || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "26.x") {
		t.Errorf("releases %d, warnings %q", len(c.Releases()), c.Warnings)
	}
}

// Apple's key order changes between downloads; the fingerprint must not.
func TestFingerprintIgnoresOrder(t *testing.T) {
	raw := golden.Read(t, golden.Path(t, "catalog/real/pmv-2026-08-22.json"))
	var generic map[string]map[string][]map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	for _, set := range generic {
		for k, list := range set { // reverse every list
			for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
				list[i], list[j] = list[j], list[i]
			}
			set[k] = list
		}
	}
	reordered, _ := json.Marshal(generic) // map keys come out sorted: another order
	a, b := realCatalog(t, "2026-08-22"), mustParse(t, reordered)
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("fingerprint changed with entry order")
	}
	if a.Fingerprint() == realCatalog(t, "2026-03-17").Fingerprint() {
		t.Error("different catalogs share a fingerprint")
	}
}

func mustParse(t *testing.T, raw []byte) *Catalog {
	t.Helper()
	c, err := ParseCatalog(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInstallableBoundary(t *testing.T) {
	r := Release{Expires: day("2026-12-08")}
	if !r.Installable(time.Date(2026, 12, 7, 23, 59, 59, 0, time.UTC)) {
		t.Error("not installable the day before expiry")
	}
	if r.Installable(day("2026-12-08")) {
		t.Error("installable on the expiry date")
	}
	if !(Release{}).Installable(fixtureNow) {
		t.Error("a release without expiry must be installable")
	}
}

func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(`{"AssetSets":{"macOS":[{"ProductVersion":"26.2","Build":"25C56","SupportedDevices":["J314sAP"]}]}}`))
	f.Add([]byte(`{"PublicBackgroundSecurityImprovements":{"iOS":[{"ProductVersion":"26.2","Build":"23C771055a","ProductVersionExtra":"(a)","PrerequisiteBuild":"23C55"}]}}`))
	f.Add([]byte(`{"AssetSets":{"iOS":[{"ProductVersion":"26.2.1","Build":"23C71","SupportedDevices":[]}]}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseCatalog(raw)
		if err != nil {
			return
		}
		at := day("2026-11-21")
		for _, r := range c.Releases() {
			for _, d := range append(r.SupportedDevices, "") {
				c.Applicable(r.Platform, d, at)
				c.Latest(r.Platform, d, at)
				c.Find(r.Platform, r.ProductVersion, r.Build, d)
			}
		}
		_ = c.Fingerprint()
	})
}

// Real forks: in March 2026 only J700AP got macOS 26.3.2, and in October
// 2025 J704AP got its own build of 26.0.1.
func TestRealForkedBuilds(t *testing.T) {
	march := realCatalog(t, "2026-03-17")
	at := day("2026-03-17")
	if r, _ := march.Latest("macOS", "J700AP", at); r.ProductVersion != "26.3.2" {
		t.Errorf("J700AP latest = %s, want 26.3.2", r.ProductVersion)
	}
	if r, _ := march.Latest("macOS", "J314sAP", at); r.ProductVersion != "26.3.1" {
		t.Errorf("J314sAP latest = %s, want 26.3.1 (26.3.2 is J700AP only)", r.ProductVersion)
	}
	bsi, ok := march.SecurityImprovement("macOS", "J314sAP", "25D2128", at)
	if !ok || bsi.Build != "25D771280a" || bsi.ProductVersionExtra != "(a)" {
		t.Errorf("BSI for 25D2128 = %+v, %v", bsi, ok)
	}
	if _, ok := march.SecurityImprovement("macOS", "J314sAP", "25D2140", at); ok {
		t.Error("J314sAP offered the J700AP-only improvement")
	}

	oct := realCatalog(t, "2025-10-29")
	for dev, build := range map[string]string{"J704AP": "25A8364", "J314sAP": "25A362"} {
		r, ok := oct.Find("macOS", "26.0.1", "", dev)
		if !ok || r.Build != build {
			t.Errorf("26.0.1 for %s = %s, want %s", dev, r.Build, build)
		}
		if _, ok := oct.Find("macOS", "26.0.1", build, dev); !ok {
			t.Errorf("Find by build %s for %s failed", build, dev)
		}
	}
	if _, ok := oct.Find("macOS", "26.0.1", "25A8364", "J314sAP"); ok {
		t.Error("J704AP's fork offered to J314sAP")
	}
}

// August 2026: iOS 26.5 (23F77) is listed twice with different device
// lists and expiries; an iPhone 18 loses it a month before an iPad does.
func TestRealSameBuildDifferentExpiry(t *testing.T) {
	c := realCatalog(t, "2026-08-22")
	has := func(dev string, at time.Time) bool {
		for _, r := range c.Applicable("iOS", dev, at) {
			if r.Build == "23F77" {
				return true
			}
		}
		return false
	}
	if !has("iPhone18,1", day("2026-08-22")) || !has("iPad11,1", day("2026-08-22")) {
		t.Fatal("23F77 should be applicable to both on 2026-08-22")
	}
	if has("iPhone18,1", day("2026-09-01")) {
		t.Error("23F77 for iPhone18,1 expired 2026-08-30 but is still applicable")
	}
	if !has("iPad11,1", day("2026-09-01")) {
		t.Error("23F77 for iPad11,1 runs until 2026-09-27")
	}
	// A watch build of the same version number never reaches an iPhone.
	for _, r := range c.Applicable("iOS", "iPhone15,2", day("2026-08-22")) {
		if r.Build == "23U67" || r.Build == "23L773" {
			t.Error("watchOS or tvOS build offered to an iPhone")
		}
	}
}
