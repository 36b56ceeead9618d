package enforcement

import (
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// assessment is what Plan and Evaluate share: scope, path, target, how the
// installed version compares, and the preconditions. Computing it once per
// device keeps Evaluate cheap.
type assessment struct {
	f            DeviceFacts // copies: pointers to the caller's values would
	p            Policy      // move them to the heap on every call
	opts         Options
	now          time.Time
	outOfScope   Reason // set when the device is not enrolled / not in scope / unsupported
	path         Path
	installed    osversion.Version
	versionKnown bool
	target       ResolvedTarget
	targetCode   Code  // why this model gets no target
	resolveErr   error // the policy cannot be resolved at all
	mayHoldDecl  bool  // the device's OS takes declarations, so ours may be on it
	cmp          int   // installed vs target: -1 older, 0 equal, 1 newer
	cmpKnown     bool
	deadlineOver bool
	pre          []precondition
}

// assess fills a in place (the caller keeps it on its stack: Evaluate runs
// once per device and policy, so avoiding the allocation matters).
func (a *assessment) assess(f DeviceFacts, p Policy, c *Catalog, now time.Time, opts Options) {
	*a = assessment{f: f, p: p, opts: opts.withDefaults(), now: now}
	if v, err := osversion.Parse(f.OSVersion); err == nil {
		a.installed, a.versionKnown = v, true
	}
	a.path = choosePath(&a.f, a.installed, a.versionKnown)
	a.mayHoldDecl = f.Enrolled && isSupportedPlatform(f.Platform) && a.path == PathDDM
	switch {
	case !f.Enrolled:
		a.outOfScope = NewReason(CodeNotEnrolled)
	case !isSupportedPlatform(f.Platform):
		a.outOfScope = NewReason(CodePlatformUnsupported, "platform", orUnknown(f.Platform))
	case !p.Scope.InScope(&a.f):
		a.outOfScope = NewReason(CodeNotInScope)
	}
	if !a.outOfScope.IsZero() {
		a.path = PathNone
		return
	}
	a.resolve(c)
	if a.targetCode == "" && a.resolveErr == nil {
		a.cmp, a.cmpKnown = compareInstalled(&a.f, a.installed, a.versionKnown, a.target)
		a.deadlineOver = deadlinePassed(a.target.LocalDeadline, f.Location, now)
	}
	a.pre = checkPreconditions(a)
}

// resolve fills the target, switching to the security improvement for the
// device's build when the policy asks for it and the device already runs
// the target version.
func (a *assessment) resolve(c *Catalog) {
	deviceID := a.f.softwareUpdateDeviceID()
	a.target, a.targetCode, a.resolveErr = ResolveTarget(a.p, c, a.f.Platform, deviceID, a.now)
	if a.targetCode != "" || a.resolveErr != nil || !a.p.IncludeSecurityImprovements || c == nil {
		return
	}
	if a.target.BuildVersion != "" || !a.versionKnown {
		return
	}
	tv, err := osversion.Parse(a.target.OSVersion)
	if err != nil || a.installed.Base() != tv.Base() {
		return
	}
	bsi := c.securityImprovement(PlatformFamily(a.f.Platform), deviceID, a.f.BuildVersion, a.now)
	if bsi == nil {
		return
	}
	rt := a.target
	rt.BuildVersion, rt.SecurityImprovement = bsi.Build, true
	rt.Posted, rt.Expires = bsi.Posted, bsi.Expires
	if a.p.Deadline.DaysAfterPosting != nil {
		var code Code
		rt.LocalDeadline, code, _ = localDeadline(a.p.Deadline, bsi.Posted)
		if code != "" {
			return
		}
	}
	a.target = rt
}

// choosePath picks DDM where the OS supports enforcement declarations
// (macOS 14+, iOS/iPadOS 17+), the MDM commands below that, and nothing on
// systems where the commands are gone (27+) but DDM is not available.
func choosePath(f *DeviceFacts, v osversion.Version, known bool) Path {
	if !known {
		return PathNone
	}
	ddmOS := (f.Platform == "macOS" && v.Major >= 14) || (f.Platform != "macOS" && v.Major >= 17)
	ddmOK := f.DDMCapable == nil || *f.DDMCapable
	switch {
	case ddmOS && ddmOK:
		return PathDDM
	case v.Major >= legacyRemovedMajor:
		return PathNone
	default:
		return PathLegacy
	}
}

// legacyRemovedMajor is the first OS major without the MDM software-update
// commands (deprecated in 26, removed in 27).
const legacyRemovedMajor = 27

// settingsSupported: softwareupdate.settings needs macOS 15 / iOS 18.
func settingsSupported(platform string, v osversion.Version) bool {
	if platform == "macOS" {
		return v.Major >= 15
	}
	return v.Major >= 18
}

// compareInstalled compares the running OS with the target: version first,
// then the build when the target names one (the supplemental build for a
// security improvement). ok is false when the device's build is needed but
// unreadable.
func compareInstalled(f *DeviceFacts, installed osversion.Version, known bool, t ResolvedTarget) (int, bool) {
	if !known {
		return 0, false
	}
	tv, err := osversion.Parse(t.OSVersion)
	if err != nil {
		return 0, false
	}
	if c := installed.Base().Compare(tv.Base()); c != 0 || t.BuildVersion == "" {
		return c, true
	}
	if f.SupplementalBuild != "" && f.SupplementalBuild == t.BuildVersion {
		return 0, true
	}
	have := f.BuildVersion
	if t.SecurityImprovement {
		if f.SupplementalBuild == "" {
			return -1, true // base installed, improvement not yet
		}
		have = f.SupplementalBuild
	}
	if have == t.BuildVersion {
		return 0, true
	}
	hb, err1 := osversion.ParseBuild(have)
	tb, err2 := osversion.ParseBuild(t.BuildVersion)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return hb.Compare(tb), true
}

func isSupportedPlatform(p string) bool {
	return p == "macOS" || p == "iOS" || p == "iPadOS"
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown platform"
	}
	return s
}
