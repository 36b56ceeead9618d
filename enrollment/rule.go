package enrollment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// Modes of a minimum-OS rule.
const (
	// ModeMinimum requires MinVersion or later.
	ModeMinimum = "minimum"
	// ModeLatest requires the newest release the catalog offers the model.
	ModeLatest = "latest"
	// ModeLatestWithinMajor requires the newest release of one major
	// version: Major, or the device's own major when Major is 0.
	ModeLatestWithinMajor = "latest_within_major"
)

// Platforms a rule can name: the ones whose MachineInfo can carry
// MDM_CAN_REQUEST_SOFTWARE_UPDATE. iOS rules cover iPhones and iPods,
// iPadOS rules iPads.
var rulePlatforms = []string{mdm.PlatformMacOS, mdm.PlatformIOS, mdm.PlatformIPadOS}

// MinOSRule is one minimum-OS requirement for enrolling devices. Rules are
// evaluated in order and the first one that matches a device decides, so
// put rules for particular models before a platform-wide one.
type MinOSRule struct {
	Name     string `json:"name,omitempty"`
	Platform string `json:"platform"`
	Mode     string `json:"mode"`
	// MinVersion is required by ModeMinimum and may carry a supplemental
	// extra ("17.4 (a)"), satisfied by the matching Background Security
	// Improvement or any later release.
	MinVersion string `json:"min_version,omitempty"`
	// Major is used by ModeLatestWithinMajor only.
	Major int `json:"major,omitempty"`
	// DeviceIDs (SOFTWARE_UPDATE_DEVICE_ID values) and Models (PRODUCT
	// values; a trailing "*" matches a prefix) narrow the rule; a device
	// matching any entry of either list is in. Both empty: every device of
	// the platform.
	DeviceIDs []string `json:"device_ids,omitempty"`
	Models    []string `json:"models,omitempty"`
	// Message replaces the text the device may show its user.
	Message string `json:"message,omitempty"`
}

// Label names the rule in reasons and events.
func (r MinOSRule) Label(index int) string {
	if r.Name != "" {
		return fmt.Sprintf("%q", r.Name)
	}
	return fmt.Sprintf("#%d (%s)", index+1, r.Platform)
}

// filtered reports whether the rule is narrowed to some hardware.
func (r MinOSRule) filtered() bool { return len(r.DeviceIDs) > 0 || len(r.Models) > 0 }

// matches reports whether the rule applies to the device.
func (r MinOSRule) matches(platform string, mi *mdm.MachineInfo) bool {
	if r.Platform != platform {
		return false
	}
	if !r.filtered() {
		return true
	}
	if mi.SoftwareUpdateDeviceID != "" && slices.Contains(r.DeviceIDs, mi.SoftwareUpdateDeviceID) {
		return true
	}
	for _, m := range r.Models {
		if prefix, ok := strings.CutSuffix(m, "*"); ok && strings.HasPrefix(mi.Product, prefix) {
			return true
		}
		if m == mi.Product {
			return true
		}
	}
	return false
}

// minVersion parses MinVersion (validated before it is stored).
func (r MinOSRule) minVersion() (osversion.Version, error) { return osversion.Parse(r.MinVersion) }

// problems lists everything wrong with one rule.
func (r MinOSRule) problems(index int) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, r.Label(index)+": "+fmt.Sprintf(format, a...)) }
	if !slices.Contains(rulePlatforms, r.Platform) {
		bad("platform %q: must be one of %s (the platforms that can update during enrollment)",
			r.Platform, strings.Join(rulePlatforms, ", "))
	}
	switch r.Mode {
	case ModeMinimum:
		if _, err := r.minVersion(); err != nil {
			bad("min_version: %v", err)
		}
	case ModeLatest, ModeLatestWithinMajor:
		if r.MinVersion != "" {
			bad("min_version is only for mode %q", ModeMinimum)
		}
	default:
		bad("mode %q: must be %s, %s or %s", r.Mode, ModeMinimum, ModeLatest, ModeLatestWithinMajor)
	}
	if r.Major < 0 || (r.Major != 0 && r.Mode != ModeLatestWithinMajor) {
		bad("major is only for mode %q and must be positive", ModeLatestWithinMajor)
	}
	for _, list := range [][]string{r.DeviceIDs, r.Models} {
		for _, v := range list {
			if v == "" || v == "*" || strings.TrimSpace(v) != v || len(v) > 64 {
				bad("device id or model %q is empty, blank-padded, too long or matches everything", v)
			}
		}
	}
	if len(r.Name) > 64 || len(r.Message) > 500 {
		bad("name is limited to 64 characters and message to 500")
	}
	return out
}

// shadowed reports rules that can never apply because an earlier rule
// without filters takes every device of their platform.
func shadowed(rules []MinOSRule) []string {
	var out []string
	catchAll := map[string]int{}
	for i, r := range rules {
		if first, ok := catchAll[r.Platform]; ok {
			out = append(out, fmt.Sprintf("%s can never apply: rule %s already matches every %s device",
				r.Label(i), rules[first].Label(first), r.Platform))
			continue
		}
		if !r.filtered() {
			catchAll[r.Platform] = i
		}
	}
	return out
}
