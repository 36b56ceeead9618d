package enforcement

import (
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// Find looks up a release by version and, when build is not empty, by
// build. A build may name a security improvement ("25C771056a" with version
// "26.2"). With a deviceID, only releases for that device (or without a
// device list) match; with an empty deviceID any release of the family
// matches, which is what policy validation needs. Expired releases are
// returned too: the caller decides what expiry means (see Installable).
func (c *Catalog) Find(platform, version, build, deviceID string) (Release, bool) {
	v, err := osversion.Parse(version)
	if err != nil {
		return Release{}, false
	}
	return deref(c.find(PlatformFamily(platform), v, build, deviceID))
}

func (c *Catalog) find(family string, v osversion.Version, build, deviceID string) *Release {
	f := c.families[family]
	if f == nil {
		return nil
	}
	for _, list := range f.candidates(deviceID, build != "") {
		for _, r := range list {
			if releaseMatches(r, v, build) {
				return r
			}
		}
	}
	return nil
}

// candidates lists, in preference order, the release lists to search for a
// device; security improvements only when a build was asked for, since a
// version alone never names one.
func (f *familyIndex) candidates(deviceID string, withSecurity bool) [][]*Release {
	if deviceID == "" {
		if withSecurity {
			return [][]*Release{f.os, f.security}
		}
		return [][]*Release{f.os}
	}
	if withSecurity {
		return [][]*Release{f.byDevice[deviceID], f.noList, f.securityByDevice[deviceID]}
	}
	return [][]*Release{f.byDevice[deviceID], f.noList}
}

func releaseMatches(r *Release, v osversion.Version, build string) bool {
	if build != "" {
		return r.Build == build && r.Version.Base() == v.Base()
	}
	return r.Version == v
}

// SecurityImprovement returns the newest installable Background Security
// Improvement for a device that runs prerequisiteBuild. Apple keeps listing
// improvements after their prerequisite left the catalog, so the device's
// build, not the catalog, decides.
func (c *Catalog) SecurityImprovement(platform, deviceID, prerequisiteBuild string, at time.Time) (Release, bool) {
	return deref(c.securityImprovement(PlatformFamily(platform), deviceID, prerequisiteBuild, at))
}

func (c *Catalog) securityImprovement(family, deviceID, prerequisiteBuild string, at time.Time) *Release {
	f := c.families[family]
	if f == nil || prerequisiteBuild == "" {
		return nil
	}
	for _, r := range f.securityByDevice[deviceID] {
		if r.PrerequisiteBuild == prerequisiteBuild && r.Installable(at) {
			return r
		}
	}
	return nil
}

// versionSpan gives, over every release of version v a device may install
// (forked builds of one version), the earliest posting date and the latest
// expiry: the device installs whichever build Apple offers it.
func (c *Catalog) versionSpan(family string, v osversion.Version, deviceID string) (posted, expires time.Time) {
	f := c.families[family]
	if f == nil {
		return
	}
	for _, list := range f.candidates(deviceID, false) {
		for _, r := range list {
			if r.Version != v {
				continue
			}
			if !r.Posted.IsZero() && (posted.IsZero() || r.Posted.Before(posted)) {
				posted = r.Posted
			}
			if r.Expires.After(expires) {
				expires = r.Expires
			}
		}
	}
	return posted, expires
}

// hasVersion reports whether any release of the family has version v,
// whatever its device list: it tells "no such release" from "not for this
// model" in messages.
func (c *Catalog) hasVersion(family string, v osversion.Version) bool {
	return c.find(family, v, "", "") != nil
}
