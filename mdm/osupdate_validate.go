package mdm

import (
	"errors"
	"fmt"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// installActionSince gives, per action, the platforms that accept it and
// from which version (Apple's schema, InstallAction description).
var installActionSince = map[string]map[string]osversion.Version{
	InstallActionDefault:             allUpdatePlatforms("9.0", "10.11", "12.0"),
	InstallActionDownloadOnly:        allUpdatePlatforms("9.0", "11.0", "12.0"),
	InstallActionInstallASAP:         allUpdatePlatforms("9.0", "10.11", "12.0"),
	InstallActionNotifyOnly:          {PlatformMacOS: osversion.MustParse("10.11")},
	InstallActionInstallLater:        {PlatformMacOS: osversion.MustParse("10.11")},
	InstallActionInstallForceRestart: {PlatformMacOS: osversion.MustParse("11.0")},
}

func allUpdatePlatforms(ios, macos, tvos string) map[string]osversion.Version {
	return map[string]osversion.Version{
		PlatformIOS:   osversion.MustParse(ios),
		PlatformMacOS: osversion.MustParse(macos),
		PlatformTVOS:  osversion.MustParse(tvos),
	}
}

// Per-key availability of ScheduleOSUpdate item keys (Apple's schema).
var (
	productVersionSince = allUpdatePlatforms("11.3", "12.0", "12.2")
	maxDeferralsSince   = map[string]osversion.Version{PlatformMacOS: osversion.MustParse("12.0")}
	prioritySince       = map[string]osversion.Version{PlatformMacOS: osversion.MustParse("12.3")}
)

// Validate checks the item against Apple's schema alone.
func (it OSUpdateItem) Validate() error {
	if _, ok := installActionSince[it.InstallAction]; !ok {
		return fmt.Errorf("InstallAction %q is not one of Default, DownloadOnly, InstallASAP, NotifyOnly, InstallLater, InstallForceRestart", it.InstallAction)
	}
	if (it.ProductKey == "") == (it.ProductVersion == "") {
		return errors.New("exactly one of ProductKey and ProductVersion must be set")
	}
	if it.ProductVersion != "" {
		v, err := osversion.Parse(it.ProductVersion)
		if err != nil {
			return fmt.Errorf("ProductVersion: %w", err)
		}
		if v.Extra != "" {
			return errors.New("ProductVersion cannot name a Rapid Security Response; use its ProductKey")
		}
	}
	if it.MaxUserDeferrals != nil {
		if it.InstallAction != InstallActionInstallLater {
			return errors.New("MaxUserDeferrals is only allowed with InstallAction InstallLater")
		}
		if *it.MaxUserDeferrals < 0 {
			return errors.New("MaxUserDeferrals must not be negative")
		}
	}
	switch it.Priority {
	case "", PriorityLow, PriorityHigh:
	default:
		return fmt.Errorf("Priority %q is not Low or High", it.Priority)
	}
	return nil
}

// Validate checks every item and that no update is named twice.
func (c ScheduleOSUpdate) Validate() error {
	if len(c.Updates) == 0 {
		return errors.New("Updates must name at least one update")
	}
	seen := map[string]bool{}
	for i, it := range c.Updates {
		if err := it.Validate(); err != nil {
			return fmt.Errorf("Updates[%d]: %w", i, err)
		}
		key := "key:" + it.ProductKey
		if it.ProductVersion != "" {
			key = "version:" + osversion.MustParse(it.ProductVersion).String()
		}
		if seen[key] {
			return fmt.Errorf("Updates[%d]: the same update is named twice", i)
		}
		seen[key] = true
	}
	return nil
}

// validateFor applies the per-key platform rules and the DDM precedence
// rule: a device ignores ScheduleOSUpdate while a declaration enforces
// its software updates.
func (c ScheduleOSUpdate) validateFor(platform string, d DeviceTarget) string {
	if d.EnforcedByDeclaration {
		return "a declarative software-update enforcement is active; the device would ignore this command"
	}
	for i, it := range c.Updates {
		if reason := it.validateFor(platform, d); reason != "" {
			return fmt.Sprintf("Updates[%d]: %s", i, reason)
		}
	}
	return ""
}

func (it OSUpdateItem) validateFor(platform string, d DeviceTarget) string {
	if reason := it.alreadyInstalled(d); reason != "" {
		return reason
	}
	checks := []struct {
		used  bool
		what  string
		since map[string]osversion.Version
	}{
		{true, "InstallAction " + it.InstallAction, installActionSince[it.InstallAction]},
		{it.ProductVersion != "", "ProductVersion", productVersionSince},
		{it.MaxUserDeferrals != nil, "MaxUserDeferrals", maxDeferralsSince},
		{it.Priority != "", "Priority", prioritySince},
	}
	for _, c := range checks {
		if !c.used {
			continue
		}
		since, ok := c.since[platform]
		if !ok {
			return fmt.Sprintf("%s is not supported on %s", c.what, d.Platform)
		}
		if !d.OSVersion.IsZero() && d.OSVersion.Less(since) {
			return fmt.Sprintf("%s needs %s %s or later", c.what, d.Platform, since)
		}
	}
	return ""
}

// alreadyInstalled refuses a version target the device already runs or
// has passed: sending it again would never finish (field note A15).
func (it OSUpdateItem) alreadyInstalled(d DeviceTarget) string {
	if it.ProductVersion == "" || d.OSVersion.IsZero() {
		return ""
	}
	target, err := osversion.Parse(it.ProductVersion)
	if err != nil || target.Compare(d.OSVersion) > 0 {
		return ""
	}
	return fmt.Sprintf("device already runs %s, not older than ProductVersion %s", d.OSVersion, target)
}
