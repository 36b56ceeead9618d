package enrollment

import (
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// choice holds one device's facts while a rule is resolved against the
// catalog.
type choice struct {
	mi       *mdm.MachineInfo
	platform string
	model    string
	current  osversion.Version
	cat      *enforcement.Catalog
	now      time.Time
}

// chosen is a Decision plus, when an update is needed, the release to ask
// for and what the rule wanted (for the reason).
type chosen struct {
	Decision
	target enforcement.Release
	want   string
}

func (c choice) choose(rule MinOSRule) chosen {
	switch rule.Mode {
	case ModeLatest:
		r, ok := c.cat.Latest(c.platform, c.model, c.now)
		return c.upTo(r, ok, "the newest release")
	case ModeLatestWithinMajor:
		major := rule.Major
		if major == 0 {
			major = c.current.Major
		}
		r, ok := c.cat.LatestWithinMajor(c.platform, c.model, major, c.now)
		return c.upTo(r, ok, fmt.Sprintf("the newest %d.x release", major))
	}
	min, err := rule.minVersion()
	if err != nil {
		return c.allow(CodeNoSuitableRelease, "rule min_version %q: %v", rule.MinVersion, err)
	}
	return c.minimum(min)
}

// upTo resolves the "latest" modes: r is the release the rule points at.
func (c choice) upTo(r enforcement.Release, ok bool, want string) chosen {
	if !ok {
		return c.nothingFor(want)
	}
	if atLeast(c.current, r.Version) {
		return c.allow(CodeMeetsMinimum, "runs %s, at or above %s offered for %s (%s)", c.current, want, c.model, r.ProductVersion)
	}
	return chosen{target: r, want: want + " (" + r.ProductVersion + ")", Decision: Decision{Code: CodeUpdateRequired}}
}

// minimum resolves ModeMinimum. Among installable releases at or above the
// minimum it prefers the newest of the minimum's own major, so a "15.4"
// rule never forces a jump to 26 while 15.x is still signed; when that
// major has nothing left it takes the oldest release that satisfies the
// rule, the smallest step.
func (c choice) minimum(min osversion.Version) chosen {
	want := min.String() + " or later"
	if atLeast(c.current, min) {
		return c.allow(CodeMeetsMinimum, "runs %s, meets the minimum %s", c.current, min)
	}
	if min.Extra != "" && c.current.Base() == min.Base() {
		// A security improvement for the running build is the smallest
		// step to a supplemental minimum such as "17.4 (a)".
		si, ok := c.cat.SecurityImprovement(c.platform, c.model, c.mi.Version, c.now)
		if ok && atLeast(si.Version, min) {
			return chosen{target: si, want: want, Decision: Decision{Code: CodeUpdateRequired}}
		}
	}
	offered := c.cat.Applicable(c.platform, c.model, c.now)
	var sameMajor, smallest *enforcement.Release
	for i := range offered {
		r := &offered[i]
		if !atLeast(r.Version, min) {
			continue
		}
		if sameMajor == nil && r.Version.Major == min.Major {
			sameMajor = r
		}
		smallest = r // newest first, so the last hit is the oldest
	}
	switch {
	case sameMajor != nil:
		return chosen{target: *sameMajor, want: want, Decision: Decision{Code: CodeUpdateRequired}}
	case smallest != nil:
		return chosen{target: *smallest, want: want, Decision: Decision{Code: CodeUpdateRequired}}
	}
	return c.nothingFor(want)
}

// nothingFor explains why no release could be asked for: the model is
// absent from the catalog, or what it may install is too old.
func (c choice) nothingFor(want string) chosen {
	offered := c.cat.Applicable(c.platform, c.model, c.now)
	if len(offered) == 0 {
		return c.allow(CodeNoReleaseForModel,
			"the catalog offers no installable %s release for model %s (unknown model, or every release expired); enrolled on %s",
			c.platform, c.model, c.current)
	}
	return c.allow(CodeNoSuitableRelease,
		"rule wants %s but the newest installable release for model %s is %s; enrolled on %s",
		want, c.model, offered[0].ProductVersion, c.current)
}

func (c choice) allow(code, format string, a ...any) chosen {
	return chosen{Decision: allow(code, "", format, a...)}
}
