package osversion

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseBuild(t *testing.T) {
	tests := []struct {
		in   string
		want Build
	}{
		{"23E224", Build{23, "E", 224, ""}},         // macOS 14.4.1
		{"15F79", Build{15, "F", 79, ""}},           // old-style two-digit number
		{"21E219a", Build{21, "E", 219, "a"}},       // supplemental suffix
		{"20F770750b", Build{20, "F", 770750, "b"}}, // security-response style: long number + letter
		{"22E772610a", Build{22, "E", 772610, "a"}}, // macOS 13.3.1 (a) RSR
		{"25D771280a", Build{25, "D", 771280, "a"}}, // macOS 26.3.1 (a) BSI (gdmf 2026-03-17)
		{"23D771330a", Build{23, "D", 771330, "a"}}, // iOS 26.3.1 (a) BSI
		{"25A8364", Build{25, "A", 8364, ""}},       // macOS 26.0.1 fork for J704AP
		{"21H6461", Build{21, "H", 6461, ""}},       // iOS 17.7.11 fork
		{"16H81", Build{16, "H", 81, ""}},           // iOS 12.5.7
		{"21A5248v", Build{21, "A", 5248, "v"}},     // beta seed
		{"8L1", Build{8, "L", 1, ""}},
	}
	for _, tt := range tests {
		got, err := ParseBuild(tt.in)
		if err != nil {
			t.Errorf("ParseBuild(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseBuild(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("ParseBuild(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestParseBuildRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "abc", "E224", "23", "23E", "23e224", "23E224A", "23E224a1",
		" 23E224", "23E224 ", "23E02", "-23E224", "23E12345678901", "23ABCD1",
		"23E224abcd", "023E1",
	} {
		b, err := ParseBuild(in)
		if err == nil {
			t.Errorf("ParseBuild(%q) = %+v, want error", in, b)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseBuild(%q) error %v does not match ErrInvalid", in, err)
		}
	}
}

func TestBuildCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"23E224", "23E224", 0},
		{"23E224", "23F79", -1},       // 14.4.1 < 14.5
		{"22H730", "23E224", -1},      // 13.7.8 < 14.4.1: major first
		{"25A354", "25A362", -1},      // 26.0 < 26.0.1
		{"25A362", "25A8364", -1},     // fork sorts after its base
		{"25A8364", "25C56", -1},      // fork of 26.0.1 < 26.2
		{"20F770750b", "20G1351", -1}, // train letter outranks a long number
		{"22E261", "22E772610a", -1},  // 13.3.1 < 13.3.1 (a)
		{"22E772610a", "22E772610b", -1},
		{"21E219", "21E219a", -1},
		{"25D2128", "25D771280a", -1}, // BSI's prerequisite < BSI
		{"9Z1", "10A1", -1},
		{"21AB1", "21B1", 1}, // longer train after shorter
	}
	for _, tt := range tests {
		a, b := MustParseBuild(tt.a), MustParseBuild(tt.b)
		if got := a.Compare(b); got != tt.want {
			t.Errorf("%q.Compare(%q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.Compare(a); got != -tt.want {
			t.Errorf("%q.Compare(%q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
		if a.Less(b) != (tt.want < 0) {
			t.Errorf("%q.Less(%q) wrong", tt.a, tt.b)
		}
	}
}

// realMacOSReleases are (ProductVersion, Build) pairs of ordinary macOS
// releases from Apple's Software Lookup Service captures (shared gdmf
// pmv-2024-06-30 .. pmv-2026-08-22). Within one platform, build order must
// agree with version order for ordinary releases.
var realMacOSReleases = [][2]string{
	{"11.7.10", "20G1427"}, {"11.7.11", "20G1443"}, {"12.7.4", "21H1123"},
	{"12.7.6", "21H1320"}, {"13.6.6", "22G630"}, {"13.7.8", "22H730"},
	{"14.4.1", "23E224"}, {"14.5", "23F79"}, {"14.8", "23J21"},
	{"14.8.9", "23J631"}, {"15.6", "24G84"}, {"15.7.9", "24G830"},
	{"26.0", "25A354"}, {"26.0.1", "25A362"}, {"26.0.1", "25A8364"},
	{"26.2", "25C56"}, {"26.3", "25D125"}, {"26.3.1", "25D2128"},
	{"26.3.2", "25D2140"}, {"26.5", "25F71"}, {"26.6.2", "25G83"},
}

func TestRealReleasesOrderAgrees(t *testing.T) {
	for i, a := range realMacOSReleases {
		for _, b := range realMacOSReleases[i+1:] {
			vc := MustParse(a[0]).Compare(MustParse(b[0]))
			bc := MustParseBuild(a[1]).Compare(MustParseBuild(b[1]))
			if vc != 0 && vc != bc {
				t.Errorf("%v vs %v: version order %d, build order %d", a, b, vc, bc)
			}
		}
	}
}

// A security response's build number is far larger than the next point
// release's, so builds cannot stand in for versions across RSR/BSI entries.
func TestSecurityResponseBuildOrderDiffersFromVersion(t *testing.T) {
	bsi := [2]string{"26.3.1 (a)", "25D771280a"}
	next := [2]string{"26.3.2", "25D2140"}
	if !MustParse(bsi[0]).Less(MustParse(next[0])) {
		t.Error("26.3.1 (a) should be older than 26.3.2")
	}
	if !MustParseBuild(next[1]).Less(MustParseBuild(bsi[1])) {
		t.Error("build 25D2140 should sort before 25D771280a")
	}
}

func FuzzParseBuild(f *testing.F) {
	for _, s := range []string{"23E224", "20F770750b", "", "23E", "21A5248v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBuild(s)
		if err != nil {
			return
		}
		if b.String() != s {
			t.Fatalf("ParseBuild(%q).String() = %q", s, b.String())
		}
	})
}

func TestBuildJSON(t *testing.T) {
	type rec struct {
		B Build `json:"b"`
		Z Build `json:"z"`
	}
	b, err := json.Marshal(rec{B: MustParseBuild("22E772610a")})
	if err != nil || string(b) != `{"b":"22E772610a","z":""}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var back rec
	if err := json.Unmarshal(b, &back); err != nil || back.B != MustParseBuild("22E772610a") || !back.Z.IsZero() {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"b":"22e1"}`), &back); err == nil {
		t.Error("bad build accepted from JSON")
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := ParseBuild("E224")
	if err == nil || !strings.Contains(err.Error(), `build "E224"`) {
		t.Errorf("error = %v", err)
	}
	_, err = Parse("x")
	if err == nil || !strings.Contains(err.Error(), `version "x"`) {
		t.Errorf("error = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustParseBuild did not panic")
		}
	}()
	MustParseBuild("x")
}
