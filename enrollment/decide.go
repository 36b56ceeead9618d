package enrollment

import (
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// Decision codes, stable for events and tests.
const (
	CodeUpdateRequired    = "update_required"
	CodeCannotRequest     = "cannot_request_update"
	CodeMeetsMinimum      = "meets_minimum"
	CodeNoRule            = "no_rule"
	CodeUnknownPlatform   = "unknown_platform"
	CodeUnknownOSVersion  = "unknown_os_version"
	CodeNoCatalog         = "no_catalog"
	CodeNoReleaseForModel = "no_release_for_model"
	CodeNoSuitableRelease = "no_suitable_release"
)

// Decision is what to answer an enrolling device.
type Decision struct {
	// Allow: serve the enrollment profile. Otherwise answer 403 with
	// Required.
	Allow    bool
	Required *mdm.SoftwareUpdateRequired
	// Code is one of the Code constants; Reason says it for a person.
	Code   string
	Reason string
	// Rule labels the rule that matched ("" when none did).
	Rule string
}

// Decide applies the first rule matching the device. It asks for an update
// only when the device said it can perform one, runs an older OS than the
// rule requires, and the catalog offers this model an installable release
// that satisfies the rule; in every other case the device enrolls and
// policies take over, so no device is held in Setup Assistant by a rule
// it cannot meet. cat may be nil (no catalog loaded yet).
func Decide(mi mdm.MachineInfo, rules []MinOSRule, cat *enforcement.Catalog, now time.Time) Decision {
	d := evaluate(&mi, rules, cat, now)
	if d.Allow || mi.MDMCanRequestSoftwareUpdate {
		return d
	}
	return Decision{Allow: true, Code: CodeCannotRequest, Rule: d.Rule,
		Reason: fmt.Sprintf("device cannot be asked to update during enrollment (MDM_CAN_REQUEST_SOFTWARE_UPDATE absent or false), enrolled anyway; rule %s wanted %s",
			d.Rule, d.Required.Details.OSVersion)}
}

func evaluate(mi *mdm.MachineInfo, rules []MinOSRule, cat *enforcement.Catalog, now time.Time) Decision {
	platform := mi.Platform()
	if platform == "" {
		return allow(CodeUnknownPlatform, "", "platform of PRODUCT %q is unknown", clean(mi.Product))
	}
	index := -1
	for i, r := range rules {
		if r.matches(platform, mi) {
			index = i
			break
		}
	}
	if index < 0 {
		return allow(CodeNoRule, "", "no minimum-OS rule matches this %s device (%s)", platform, clean(mi.Product))
	}
	rule, label := rules[index], rules[index].Label(index)
	current, err := mi.CurrentVersion()
	if err != nil {
		return allow(CodeUnknownOSVersion, label, "%v", err)
	}
	if cat == nil {
		return allow(CodeNoCatalog, label, "no release catalog is loaded, so no version can be chosen")
	}
	c := choice{mi: mi, platform: platform, model: mi.SoftwareUpdateModel(), current: current, cat: cat, now: now}
	d := c.choose(rule)
	d.Rule = label
	if d.Allow {
		return d.Decision
	}
	d.Required = requiredBody(rule, label, platform, mi, d.target)
	d.Reason = fmt.Sprintf("runs %s %s (%s), rule %s requires %s; asked to update to %s",
		platform, current, clean(mi.Version), label, d.want, d.Required.Details.OSVersion)
	return d.Decision
}

func allow(code, rule, format string, a ...any) Decision {
	return Decision{Allow: true, Code: code, Rule: rule, Reason: fmt.Sprintf(format, a...)}
}

// requiredBody builds the 403 body. A full release is named by version
// only, so the device picks the build Apple made for it (forked builds); a
// security improvement also carries its build, which names it exactly.
func requiredBody(rule MinOSRule, label, platform string, mi *mdm.MachineInfo, r enforcement.Release) *mdm.SoftwareUpdateRequired {
	version, build := r.ProductVersion, ""
	if r.Kind == enforcement.KindSecurityImprovement {
		version, build = r.Version.String(), r.Build
	}
	msg := rule.Message
	if msg == "" {
		msg = fmt.Sprintf("Your organization requires %s %s on this device. It will be updated before setup continues.", platform, version)
	}
	return &mdm.SoftwareUpdateRequired{
		Code:        mdm.SoftwareUpdateRequiredCode,
		Description: fmt.Sprintf("minimum OS rule %s: %s %s (%s) must update to %s", label, platform, clean(mi.OSVersion), clean(mi.Version), version),
		Message:     msg,
		Details:     mdm.SoftwareUpdateRequiredDetails{OSVersion: version, BuildVersion: build},
	}
}

// atLeast reports whether the device already satisfies want.
func atLeast(current, want osversion.Version) bool { return !current.Less(want) }
