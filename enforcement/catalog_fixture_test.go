package enforcement

import (
	"strings"
	"testing"
)

func versionsOf(rs []Release) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.ProductVersion + "/" + r.Build
		if r.DeviceListMissing {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " ")
}

func TestApplicableFixture(t *testing.T) {
	c := fixtureCatalog(t)
	tests := []struct {
		name, platform, device string
		want                   string // newest first; * = no device list
	}{
		{"mac forked build for most boards", "macOS", "J314sAP",
			"26.2/25C56 26.1/25B78 15.7.3/24G420 15.7.2/24G325 14.8.3/23J430 13.7.8/22H730"},
		{"mac new hardware gets its own fork", "macOS", "J700AP", "26.2/25C8058 26.1/25B78"},
		{"intel mac", "macOS", "Mac-AA95B1DDAB278B95", "15.7.3/24G420 15.7.2/24G325 14.8.3/23J430 13.7.8/22H730"},
		{"vm", "macOS", "VMA2MACOSAP", "26.2/25C56 26.1/25B78 15.7.3/24G420 15.7.2/24G325 14.8.3/23J430 13.7.8/22H730"},
		{"iphone: fork pair, plus the release without list", "iOS", "iPhone15,2",
			"26.2.1/23C71* 26.2/23C6055 26.2/23C55 26.1/23B85 18.7.3/22H120 18.7.2/22H110"},
		{"iphone 18 gets its own build", "iOS", "iPhone18,1", "26.2.1/23C71* 26.2/23C60 26.1/23B85"},
		{"ipad on 17 only", "iPadOS", "iPad7,5", "26.2.1/23C71* 17.7.11/21H461"},
		{"iphone 8 on 16 only", "iOS", "iPhone10,4", "26.2.1/23C71* 16.7.16/20H392"},
		{"unknown device sees only unlisted releases", "iOS", "", "26.2.1/23C71*"},
		{"unknown platform", "tvOS-nope", "AppleTV14,1", ""},
		{"visionOS entry without the key at all", "visionOS", "RealityDevice17,1", "26.2/23N55 26.1/23N40*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := versionsOf(c.Applicable(tt.platform, tt.device, fixtureNow))
			if got != tt.want {
				t.Errorf("Applicable(%s, %q)\n got %s\nwant %s", tt.platform, tt.device, got, tt.want)
			}
		})
	}
}

// 26.0.1 expired 2026-11-10: applicable before, gone after; Find still
// returns it so callers can say "expired" instead of "unknown".
func TestExpiredRelease(t *testing.T) {
	c := fixtureCatalog(t)
	before := versionsOf(c.Applicable("macOS", "J314sAP", day("2026-11-09")))
	if !strings.Contains(before, "26.0.1/25A362") {
		t.Errorf("26.0.1 missing on 2026-11-09: %s", before)
	}
	if strings.Contains(versionsOf(c.Applicable("macOS", "J314sAP", fixtureNow)), "26.0.1") {
		t.Error("expired 26.0.1 still applicable")
	}
	r, ok := c.Find("macOS", "26.0.1", "", "J314sAP")
	if !ok || r.Installable(fixtureNow) {
		t.Errorf("Find(26.0.1) = %v installable=%v", ok, r.Installable(fixtureNow))
	}
}

func TestLatestFixture(t *testing.T) {
	c := fixtureCatalog(t)
	tests := []struct {
		platform, device string
		major            int
		want             string // version/build, "" = none
	}{
		{"macOS", "J314sAP", 0, "26.2/25C56"},
		{"macOS", "J700AP", 0, "26.2/25C8058"},
		{"macOS", "Mac-AA95B1DDAB278B95", 0, "15.7.3/24G420"},
		{"macOS", "J314sAP", 15, "15.7.3/24G420"},
		{"macOS", "J314sAP", 14, "14.8.3/23J430"},
		{"macOS", "J314sAP", 13, "13.7.8/22H730"},
		{"macOS", "J700AP", 15, ""},
		{"macOS", "J314sAP", 27, ""},
		// The unlisted 26.2.1 is newer but never wins over a listed release.
		{"iOS", "iPhone15,2", 0, "26.2/23C6055"},
		{"iOS", "iPhone18,1", 0, "26.2/23C60"},
		{"iOS", "iPhone11,2", 0, "18.7.11/22H380"},
		{"iPadOS", "iPad7,5", 0, "17.7.11/21H461"},
		{"iOS", "iPhone15,2", 18, "18.7.3/22H120"},
		// With no listed release at all, the unlisted one is the answer.
		{"iOS", "iPhone99,9", 0, "26.2.1/23C71"},
		{"iOS", "", 0, "26.2.1/23C71"},
	}
	for _, tt := range tests {
		var r Release
		var ok bool
		if tt.major == 0 {
			r, ok = c.Latest(tt.platform, tt.device, fixtureNow)
		} else {
			r, ok = c.LatestWithinMajor(tt.platform, tt.device, tt.major, fixtureNow)
		}
		got := ""
		if ok {
			got = r.ProductVersion + "/" + r.Build
		}
		if got != tt.want {
			t.Errorf("latest(%s, %q, major %d) = %q, want %q", tt.platform, tt.device, tt.major, got, tt.want)
		}
	}
}

func TestFindFixture(t *testing.T) {
	c := fixtureCatalog(t)
	tests := []struct {
		version, build, device string
		want                   string
	}{
		{"26.2", "", "J314sAP", "25C56"},
		{"26.2", "25C8058", "J700AP", "25C8058"},
		{"26.2", "25C8058", "J314sAP", ""}, // fork for other hardware
		{"26.2", "25C771056a", "J314sAP", "25C771056a"},
		{"26.2", "25C771056a", "", "25C771056a"},
		{"26.9", "", "J314sAP", ""},
		{"not a version", "", "J314sAP", ""},
		{"15.7.3", "", "", "24G420"},
	}
	for _, tt := range tests {
		got := ""
		if r, ok := c.Find("macOS", tt.version, tt.build, tt.device); ok {
			got = r.Build
		}
		if got != tt.want {
			t.Errorf("Find(%s, %s, %s) = %q, want %q", tt.version, tt.build, tt.device, got, tt.want)
		}
	}
}

// Twins in PublicAssetSets and AssetSets merge into one release with both
// flags, the earliest posting date and the latest expiry.
func TestMergedSets(t *testing.T) {
	c := fixtureCatalog(t)
	r, _ := c.Find("macOS", "15.7.3", "", "J314sAP")
	if !r.Public || !r.MDM || r.Posted != day("2026-11-10") {
		t.Errorf("15.7.3 = public %v mdm %v posted %s", r.Public, r.MDM, r.Posted.Format("2006-01-02"))
	}
	old, _ := c.Find("macOS", "26.1", "", "J314sAP")
	if old.Public || !old.MDM {
		t.Errorf("26.1 is only in AssetSets: public %v mdm %v", old.Public, old.MDM)
	}
	if !c.superseded(findPtr(c, "macOS", "26.1", "J314sAP")) {
		t.Error("26.1 should be superseded by 26.2")
	}
	if c.superseded(findPtr(c, "macOS", "15.7.3", "J314sAP")) {
		t.Error("15.7.3 is the newest 15.x and not superseded")
	}
}

func findPtr(c *Catalog, platform, version, device string) *Release {
	r, ok := c.Find(platform, version, "", device)
	if !ok {
		return nil
	}
	return &r
}
