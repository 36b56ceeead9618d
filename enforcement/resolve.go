package enforcement

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// ResolvedTarget is a policy's target made concrete for one device model.
type ResolvedTarget struct {
	OSVersion string `json:"os_version"`
	// BuildVersion is set only when the policy names a build or a security
	// improvement is targeted: forked builds of one version exist for the
	// same model, and the device must be free to pick the one Apple offers it.
	BuildVersion string `json:"build_version,omitempty"`
	// Posted and Expires span every build of the version for this model;
	// zero when the catalog does not list it.
	Posted  time.Time `json:"posted,omitzero"`
	Expires time.Time `json:"expires,omitzero"`
	// LocalDeadline is TargetLocalDateTime: device-local, no zone.
	LocalDeadline       string `json:"local_deadline"`
	DeviceListMissing   bool   `json:"device_list_missing,omitempty"`
	SecurityImprovement bool   `json:"security_improvement,omitempty"`
}

// ErrNoCatalog is returned when a policy needs the release catalog
// ("latest", or a deadline counted from Apple's posting date) and none is
// loaded yet.
var ErrNoCatalog = errors.New("the release catalog is not loaded yet")

// ResolveTarget turns a policy's target into the version and deadline one
// device model gets. The error reports a policy that cannot be resolved at
// all (malformed, or no catalog when one is needed); the Code reports why
// this model gets nothing: no_release_for_model, device_id_unknown or
// release_expired. deviceID is the software-update device id.
func ResolveTarget(p Policy, c *Catalog, platform, deviceID string, at time.Time) (ResolvedTarget, Code, error) {
	if c == nil && p.Deadline.DaysAfterPosting != nil {
		return ResolvedTarget{}, "", ErrNoCatalog // the posting date comes from the catalog
	}
	family := PlatformFamily(platform)
	var (
		rt   ResolvedTarget
		code Code
		err  error
	)
	switch p.Target.Kind {
	case TargetVersion:
		rt, code, err = resolveVersion(p.Target, c, family, deviceID, at)
	case TargetLatest, TargetLatestMajor:
		rt, code, err = resolveLatest(p.Target, c, family, deviceID, at)
	default:
		return rt, "", fmt.Errorf("policy %s: unknown target kind %q", p.ID, p.Target.Kind)
	}
	if err != nil || code != "" {
		return rt, code, err
	}
	rt.LocalDeadline, code, err = localDeadline(p.Deadline, rt.Posted)
	return rt, code, err
}

func resolveVersion(t Target, c *Catalog, family, deviceID string, at time.Time) (ResolvedTarget, Code, error) {
	v, err := osversion.Parse(t.OSVersion)
	if err != nil {
		return ResolvedTarget{}, "", fmt.Errorf("target version: %w", err)
	}
	rt := ResolvedTarget{OSVersion: t.OSVersion, BuildVersion: t.BuildVersion}
	if c == nil {
		return rt, "", nil // trust the admin's explicit version; dates unknown
	}
	r := c.find(family, v, t.BuildVersion, deviceID)
	if r == nil {
		if c.hasVersion(family, v) {
			return rt, CodeNoReleaseForModel, nil
		}
		// Not in the catalog at all (newer than our copy, or an admin's
		// forced choice): deliver it and let the device decide.
		return rt, "", nil
	}
	rt.DeviceListMissing = r.DeviceListMissing
	rt.SecurityImprovement = r.Kind == KindSecurityImprovement
	if rt.SecurityImprovement {
		rt.Posted, rt.Expires = r.Posted, r.Expires
	} else {
		rt.Posted, rt.Expires = c.versionSpan(family, r.Version, deviceID)
	}
	if !rt.Expires.IsZero() && !at.Before(rt.Expires) {
		return rt, CodeReleaseExpired, nil
	}
	return rt, "", nil
}

func resolveLatest(t Target, c *Catalog, family, deviceID string, at time.Time) (ResolvedTarget, Code, error) {
	if c == nil {
		return ResolvedTarget{}, "", ErrNoCatalog
	}
	major := 0
	if t.Kind == TargetLatestMajor {
		if t.Major <= 0 {
			return ResolvedTarget{}, "", fmt.Errorf("target kind latest_major needs a major version, got %d", t.Major)
		}
		major = t.Major
	}
	r := c.latest(family, deviceID, major, at)
	if r == nil {
		if deviceID == "" {
			return ResolvedTarget{}, CodeDeviceIDUnknown, nil
		}
		return ResolvedTarget{}, CodeNoReleaseForModel, nil
	}
	rt := ResolvedTarget{OSVersion: r.ProductVersion, DeviceListMissing: r.DeviceListMissing}
	rt.Posted, rt.Expires = c.versionSpan(family, r.Version, deviceID)
	return rt, "", nil
}

// localDeadline computes TargetLocalDateTime from the policy's deadline.
func localDeadline(d Deadline, posted time.Time) (string, Code, error) {
	if d.LocalDateTime != "" {
		if _, err := parseLocalDateTime(d.LocalDateTime); err != nil {
			return "", "", err
		}
		return d.LocalDateTime, "", nil
	}
	if d.DaysAfterPosting == nil {
		return "", "", errors.New("deadline: set local_date_time or days_after_posting")
	}
	if posted.IsZero() {
		// Counting from a posting date the catalog does not give is
		// impossible; the target is not a release we know for this model.
		return "", CodeNoReleaseForModel, nil
	}
	s, err := daysAfterPosting(posted, *d.DaysAfterPosting, d.TimeOfDay)
	return s, "", err
}

// describeTarget is the target as shown in reason messages.
func describeTarget(t Target) string {
	switch t.Kind {
	case TargetLatest:
		return "latest"
	case TargetLatestMajor:
		return "latest " + strconv.Itoa(t.Major) + ".x"
	}
	if t.BuildVersion != "" {
		return t.OSVersion + " (" + t.BuildVersion + ")"
	}
	return t.OSVersion
}
