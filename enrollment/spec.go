package enrollment

import (
	"fmt"
	"strconv"
	"strings"
)

// RuleSpecHelp describes ParseRuleSpec's syntax for command-line help.
const RuleSpecHelp = `PLATFORM:REQUIREMENT[:KEY=VALUE...]
  PLATFORM     macOS, iOS or iPadOS
  REQUIREMENT  a version ("15.4", "17.4 (a)"), "latest", or "latest-in-major"
  KEY          device-id=ID, model=PRODUCT (trailing * matches a prefix),
               major=N (with latest-in-major), name=NAME; device-id and model repeat
examples: macOS:15.4   iOS:latest   macOS:latest-in-major:major=15   iPadOS:17.6:model=iPad13,*`

// ParseRuleSpec reads the compact form of a rule used on the command line.
// The result is validated like stored settings.
func ParseRuleSpec(spec string) (MinOSRule, error) {
	fields := strings.Split(spec, ":")
	if len(fields) < 2 {
		return MinOSRule{}, fmt.Errorf("rule %q: want PLATFORM:REQUIREMENT[:KEY=VALUE...]", spec)
	}
	r := MinOSRule{Platform: strings.TrimSpace(fields[0])}
	switch req := strings.TrimSpace(fields[1]); req {
	case "latest":
		r.Mode = ModeLatest
	case "latest-in-major":
		r.Mode = ModeLatestWithinMajor
	default:
		r.Mode, r.MinVersion = ModeMinimum, req
	}
	for _, kv := range fields[2:] {
		if err := r.setOption(kv); err != nil {
			return MinOSRule{}, fmt.Errorf("rule %q: %w", spec, err)
		}
	}
	if p := r.problems(0); len(p) > 0 {
		return MinOSRule{}, fmt.Errorf("rule %q: %s", spec, strings.Join(p, "; "))
	}
	return r, nil
}

func (r *MinOSRule) setOption(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || v == "" {
		return fmt.Errorf("%q: want KEY=VALUE", kv)
	}
	switch k {
	case "device-id":
		r.DeviceIDs = append(r.DeviceIDs, v)
	case "model":
		r.Models = append(r.Models, v)
	case "name":
		r.Name = v
	case "major":
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("major %q: want a positive number", v)
		}
		r.Major = n
	default:
		return fmt.Errorf("unknown key %q (device-id, model, major, name)", k)
	}
	return nil
}

// Requirement says what the rule asks for in a few words.
func (r MinOSRule) Requirement() string {
	switch r.Mode {
	case ModeLatest:
		return "latest"
	case ModeLatestWithinMajor:
		if r.Major > 0 {
			return fmt.Sprintf("latest %d.x", r.Major)
		}
		return "latest of its major"
	}
	return ">= " + r.MinVersion
}
