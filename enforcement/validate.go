package enforcement

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// ValidationError lists every problem found in a policy, so an admin can fix
// them in one go.
type ValidationError struct {
	PolicyID string
	Problems []string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("policy %q is invalid: %s", e.PolicyID, strings.Join(e.Problems, "; "))
}

// maxDaysAfterPosting bounds DaysAfterPosting: Apple stops signing most
// releases within about 180 days.
const maxDaysAfterPosting = 365

var policyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

type validator struct {
	p        *Policy
	c        *Catalog
	now      time.Time
	force    bool
	problems []string
	warnings []string
}

func (v *validator) problem(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) warn(format string, args ...any) {
	v.warnings = append(v.warnings, fmt.Sprintf(format, args...))
}

// forceable is a problem that force turns into a warning.
func (v *validator) forceable(format string, args ...any) {
	if v.force {
		v.warn("forced: "+format, args...)
		return
	}
	v.problem(format+" (use force to save it anyway)", args...)
}

// Validate checks a policy before it is saved. existing are the stored
// policies (the policy's own stored copy, same ID, is ignored). With force,
// problems about Apple's catalog (unknown version, expiry before the
// deadline, past deadline) become warnings; structural problems and a target
// older than an overlapping policy's are always refused. The error is a
// *ValidationError.
func (p *Policy) Validate(c *Catalog, existing []Policy, now time.Time, force bool) (warnings []string, err error) {
	v := &validator{p: p, c: c, now: now, force: force}
	v.checkIdentity()
	v.checkScope()
	targetOK := v.checkTarget()
	deadlineOK := v.checkDeadline()
	v.checkOptions()
	v.checkRollout()
	if targetOK && deadlineOK {
		v.checkCatalog()
		v.checkOverlap(existing)
	}
	if len(v.problems) > 0 {
		return v.warnings, &ValidationError{PolicyID: p.ID, Problems: v.problems}
	}
	return v.warnings, nil
}

func (v *validator) checkIdentity() {
	if !policyIDPattern.MatchString(v.p.ID) {
		v.problem("id %q must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", v.p.ID)
	}
	if strings.TrimSpace(v.p.Name) == "" {
		v.problem("name is empty")
	}
}

func (v *validator) checkScope() {
	s := v.p.Scope
	for _, pl := range s.Platforms {
		if !slices.Contains(SupportedPlatforms, pl) {
			v.problem("scope platform %q is not supported (use %s)", pl, strings.Join(SupportedPlatforms, ", "))
		}
	}
	if !s.All && len(s.DeviceIDs) == 0 && len(s.Groups) == 0 {
		v.problem("scope selects no devices: set all, device_ids or groups")
	}
	if s.All && (len(s.DeviceIDs) > 0 || len(s.Groups) > 0) {
		v.warn("scope has all set, so device_ids and groups have no effect")
	}
}

func (v *validator) checkTarget() bool {
	t := v.p.Target
	before := len(v.problems)
	switch t.Kind {
	case TargetVersion:
		if _, err := osversion.Parse(t.OSVersion); err != nil {
			v.problem("target os_version: %v", err)
		}
		if t.BuildVersion != "" {
			if _, err := osversion.ParseBuild(t.BuildVersion); err != nil {
				v.problem("target build_version: %v", err)
			}
		}
		if t.Major != 0 {
			v.problem("target major only goes with kind latest_major")
		}
		if len(v.p.Scope.Platforms) == 0 {
			v.warn("target %s applies to every platform; version numbers mean different releases on macOS and iOS before 26, so consider setting scope platforms", t.OSVersion)
		}
	case TargetLatest, TargetLatestMajor:
		if t.OSVersion != "" || t.BuildVersion != "" {
			v.problem("target os_version and build_version only go with kind version")
		}
		if t.Kind == TargetLatestMajor && t.Major <= 0 {
			v.problem("target kind latest_major needs major (for example 15)")
		}
		if t.Kind == TargetLatest && t.Major != 0 {
			v.problem("target major only goes with kind latest_major")
		}
	default:
		v.problem("target kind %q must be version, latest or latest_major", t.Kind)
	}
	return len(v.problems) == before
}

func (v *validator) checkDeadline() bool {
	d := v.p.Deadline
	before := len(v.problems)
	switch {
	case d.LocalDateTime != "" && d.DaysAfterPosting != nil:
		v.problem("deadline: set either local_date_time or days_after_posting, not both")
	case d.LocalDateTime != "":
		wall, err := parseLocalDateTime(d.LocalDateTime)
		if err != nil {
			v.problem("deadline: %v", err)
		} else if last := v.p.lastRingDeadline(wall); !v.now.Before(deadlineInstant(last, nil, true)) {
			v.forceable("deadline %s has already passed everywhere", last.Format(LocalDateTimeLayout))
		}
		if d.TimeOfDay != "" {
			v.problem("deadline: time_of_day only goes with days_after_posting")
		}
	case d.DaysAfterPosting != nil:
		if n := *d.DaysAfterPosting; n < 0 || n > maxDaysAfterPosting {
			v.problem("deadline: days_after_posting %d must be between 0 and %d", n, maxDaysAfterPosting)
		}
		if _, _, err := parseTimeOfDay(d.TimeOfDay); err != nil {
			v.problem("deadline: %v", err)
		}
	default:
		v.problem("deadline: set local_date_time or days_after_posting")
	}
	return len(v.problems) == before
}

func (v *validator) checkOptions() {
	if u := v.p.DetailsURL; u != "" {
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			v.problem("details_url %q must be an absolute http or https URL", u)
		}
	}
	if v.p.UserDeferrals < 0 {
		v.problem("user_deferrals %d must not be negative", v.p.UserDeferrals)
	}
}
