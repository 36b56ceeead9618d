package enforcement

import (
	"slices"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// families lists the catalog families a policy's platforms map to.
func (s Scope) families() []string {
	var out []string
	for _, p := range s.platforms() {
		f := PlatformFamily(p)
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func (v *validator) checkCatalog() {
	p := v.p
	if v.c == nil {
		if p.Target.Kind != TargetVersion || p.Deadline.DaysAfterPosting != nil {
			v.warn("the release catalog is not loaded yet: the target and deadline are resolved once it is")
		}
		return
	}
	switch p.Target.Kind {
	case TargetVersion:
		v.checkVersionInCatalog()
	case TargetLatestMajor:
		for _, fam := range p.Scope.families() {
			if v.c.latest(fam, "", p.Target.Major, v.now) != nil || v.anyDeviceLatest(fam, p.Target.Major) {
				return
			}
		}
		v.forceable("Apple's catalog has no installable %d.x release for %s", p.Target.Major,
			strings.Join(p.Scope.platforms(), ", "))
	}
}

// anyDeviceLatest reports whether any model has an installable release in
// the major version (latest() with no device only sees unlisted releases).
func (v *validator) anyDeviceLatest(family string, major int) bool {
	f := v.c.families[family]
	if f == nil {
		return false
	}
	for _, r := range f.os {
		if r.Version.Major == major && r.Installable(v.now) {
			return true
		}
	}
	return false
}

func (v *validator) checkVersionInCatalog() {
	t := v.p.Target
	ver := osversion.MustParse(t.OSVersion) // checkTarget already parsed it
	found := false
	for _, fam := range v.p.Scope.families() {
		r := v.c.find(fam, ver, t.BuildVersion, "")
		if r == nil {
			continue
		}
		found = true
		v.checkExpiry(fam, r)
		if r.DeviceListMissing {
			v.warn("Apple lists %s %s (%s) without supported devices; it is offered to every %s device", fam, r.ProductVersion, r.Build, fam)
		}
	}
	if !found {
		v.forceable("%s is not in Apple's release catalog for %s", describeTarget(t), strings.Join(v.p.Scope.families(), " or "))
	}
}

// checkExpiry compares Apple's expiry with the deadline. A superseded
// release has a fixed expiry: a deadline after it is refused. The newest
// release of a line has a rolling expiry that Apple moves forward almost
// daily, so there it is only a warning.
func (v *validator) checkExpiry(family string, r *Release) {
	expires := r.Expires
	if r.Kind == KindOS {
		_, expires = v.c.versionSpan(family, r.Version, "")
	}
	if expires.IsZero() {
		return
	}
	name := family + " " + r.ProductVersion
	if !v.now.Before(expires) {
		v.forceable("Apple stopped signing %s on %s", name, expires.Format(catalogDateLayout))
		return
	}
	deadline, ok := v.deadlineWall(r)
	if !ok || deadline.Before(expires) {
		return
	}
	if v.c.superseded(r) {
		v.forceable("Apple stops signing %s on %s, before the deadline %s", name,
			expires.Format(catalogDateLayout), deadline.Format(LocalDateTimeLayout))
		return
	}
	v.warn("Apple currently lists %s as signed until %s, before the deadline %s; Apple usually extends this date while the release is current",
		name, expires.Format(catalogDateLayout), deadline.Format(LocalDateTimeLayout))
}

// deadlineWall is the policy's deadline as a wall-clock time for release r.
func (v *validator) deadlineWall(r *Release) (time.Time, bool) {
	d := v.p.Deadline
	if d.LocalDateTime != "" {
		t, err := parseLocalDateTime(d.LocalDateTime)
		return t, err == nil
	}
	if d.DaysAfterPosting == nil || r.Posted.IsZero() {
		return time.Time{}, false
	}
	s, err := daysAfterPosting(r.Posted, *d.DaysAfterPosting, d.TimeOfDay)
	if err != nil {
		return time.Time{}, false
	}
	t, err := parseLocalDateTime(s)
	return t, err == nil
}

// superseded reports whether a newer release of the same major version
// exists for any of r's devices: Apple then no longer extends r's expiry.
func (c *Catalog) superseded(r *Release) bool {
	f := c.families[r.Platform]
	if f == nil {
		return false
	}
	lists := make([][]*Release, 0, len(r.SupportedDevices)+1)
	for _, d := range r.SupportedDevices {
		lists = append(lists, f.byDevice[d])
	}
	if r.DeviceListMissing {
		lists = append(lists, f.os)
	}
	for _, list := range lists {
		for _, o := range list { // newest first
			if o.Version.Compare(r.Version) <= 0 {
				break
			}
			if o.Version.Major == r.Version.Major {
				return true
			}
		}
	}
	return false
}

// checkOverlap refuses a target older than one already enforced on a scope
// that shares devices: the two would pull devices in opposite directions.
func (v *validator) checkOverlap(existing []Policy) {
	for i := range existing {
		e := &existing[i]
		if e.ID == v.p.ID || e.Paused || !v.p.Scope.Overlaps(e.Scope) {
			continue
		}
		for _, pl := range v.p.Scope.platforms() {
			if !slices.Contains(e.Scope.platforms(), pl) {
				continue
			}
			fam := PlatformFamily(pl)
			mine, ok1 := targetFloor(v.p.Target, v.c, fam, v.now)
			theirs, ok2 := targetFloor(e.Target, v.c, fam, v.now)
			if ok1 && ok2 && mine.Less(theirs) {
				v.problem("target %s on %s is older than %s, enforced by policy %q (%s) on an overlapping scope",
					mine, pl, theirs, e.ID, e.Name)
				break
			}
		}
	}
}

// targetFloor is the version a target enforces on a family. For "latest"
// kinds it is the newest release any model gets, so comparisons are
// approximate across models (and impossible without a catalog).
func targetFloor(t Target, c *Catalog, family string, now time.Time) (osversion.Version, bool) {
	switch t.Kind {
	case TargetVersion:
		v, err := osversion.Parse(t.OSVersion)
		return v, err == nil
	case TargetLatest, TargetLatestMajor:
		if c == nil || c.families[family] == nil {
			return osversion.Version{}, false
		}
		for _, r := range c.families[family].os {
			if r.Installable(now) && !r.DeviceListMissing && (t.Kind == TargetLatest || r.Version.Major == t.Major) {
				return r.Version, true
			}
		}
	}
	return osversion.Version{}, false
}
