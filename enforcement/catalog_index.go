package enforcement

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// Catalog is a parsed, indexed release catalog. It is immutable after
// ParseCatalog, so one value can be shared by any number of goroutines.
type Catalog struct {
	releases []*Release
	families map[string]*familyIndex
	// Warnings lists entries that were skipped while parsing.
	Warnings []string
}

// familyIndex pre-sorts one platform family so per-device queries are a map
// lookup and a short scan, with no allocation.
type familyIndex struct {
	os               []*Release            // every OS release, newest first
	byDevice         map[string][]*Release // OS releases naming the device, newest first
	noList           []*Release            // OS releases without a device list, newest first
	security         []*Release            // security improvements, newest first
	securityByDevice map[string][]*Release
}

func (b *catalogBuilder) build() *Catalog {
	sort.SliceStable(b.releases, func(i, j int) bool { return releaseOrder(b.releases[i], b.releases[j]) })
	c := &Catalog{releases: b.releases, families: map[string]*familyIndex{}, Warnings: b.warnings}
	for _, r := range b.releases {
		f := c.families[r.Platform]
		if f == nil {
			f = &familyIndex{byDevice: map[string][]*Release{}, securityByDevice: map[string][]*Release{}}
			c.families[r.Platform] = f
		}
		f.add(r)
	}
	return c
}

func (f *familyIndex) add(r *Release) {
	if r.Kind == KindSecurityImprovement {
		f.security = append(f.security, r)
		for _, d := range r.SupportedDevices {
			f.securityByDevice[d] = append(f.securityByDevice[d], r)
		}
		return
	}
	f.os = append(f.os, r)
	if r.DeviceListMissing {
		f.noList = append(f.noList, r)
	}
	for _, d := range r.SupportedDevices {
		f.byDevice[d] = append(f.byDevice[d], r)
	}
}

// releaseOrder sorts by family, kind, then newest version and build first;
// the remaining keys only make the order total so output is deterministic.
func releaseOrder(a, b *Release) bool {
	if a.Platform != b.Platform {
		return a.Platform < b.Platform
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if c := a.Version.Compare(b.Version); c != 0 {
		return c > 0
	}
	if c := compareBuilds(a.Build, b.Build); c != 0 {
		return c > 0
	}
	return strings.Join(a.SupportedDevices, ",") < strings.Join(b.SupportedDevices, ",")
}

// compareBuilds orders parsed builds; ParseCatalog already refused
// unparsable ones, so the string fallback only guards against misuse.
func compareBuilds(a, b string) int {
	ba, errA := osversion.ParseBuild(a)
	bb, errB := osversion.ParseBuild(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return ba.Compare(bb)
}

// Releases returns every release (OS and security improvements), grouped
// by family, newest first.
func (c *Catalog) Releases() []Release {
	out := make([]Release, len(c.releases))
	for i, r := range c.releases {
		out[i] = *r
	}
	return out
}

// Applicable lists the OS releases a device can install at the given time:
// those whose SupportedDevices contain deviceID plus those without a device
// list (flagged DeviceListMissing), newest first. deviceID is the device's
// software-update device id (a Mac board id such as "J314sAP" or
// "Mac-…", or an iPhone/iPad product type such as "iPhone15,2"). With an
// empty deviceID only releases without a device list match. Security
// improvements are listed by SecurityImprovement, not here.
func (c *Catalog) Applicable(platform, deviceID string, at time.Time) []Release {
	f := c.family(platform)
	if f == nil {
		return nil
	}
	var out []Release
	for _, list := range [][]*Release{f.byDevice[deviceID], f.noList} {
		for _, r := range list {
			if r.Installable(at) {
				out = append(out, *r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return releaseOrder(&out[i], &out[j]) })
	return out
}

// Latest returns the newest installable release for the device. Releases
// that name the device win; a release without a device list is chosen only
// when none names the device, because an unlisted release under the "iOS"
// key may as well be a watchOS or tvOS build.
func (c *Catalog) Latest(platform, deviceID string, at time.Time) (Release, bool) {
	return deref(c.latest(PlatformFamily(platform), deviceID, 0, at))
}

// LatestWithinMajor is Latest restricted to one major version ("latest
// 15.x").
func (c *Catalog) LatestWithinMajor(platform, deviceID string, major int, at time.Time) (Release, bool) {
	if major <= 0 {
		return Release{}, false
	}
	return deref(c.latest(PlatformFamily(platform), deviceID, major, at))
}

func (c *Catalog) latest(family, deviceID string, major int, at time.Time) *Release {
	f := c.families[family]
	if f == nil {
		return nil
	}
	for _, list := range [][]*Release{f.byDevice[deviceID], f.noList} {
		for _, r := range list {
			if (major == 0 || r.Version.Major == major) && r.Installable(at) {
				return r
			}
		}
	}
	return nil
}

func (c *Catalog) family(platform string) *familyIndex {
	if c == nil {
		return nil
	}
	return c.families[PlatformFamily(platform)]
}

func deref(r *Release) (Release, bool) {
	if r == nil {
		return Release{}, false
	}
	return *r, true
}

// Fingerprint is a hash of the catalog's content, independent of Apple's
// key order and whitespace, so a caller can tell whether a fresh download
// changed anything.
func (c *Catalog) Fingerprint() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, r := range c.releases {
		_ = enc.Encode(r) // encoding a Release cannot fail: only strings, bools and times
	}
	return hex.EncodeToString(h.Sum(nil))
}
