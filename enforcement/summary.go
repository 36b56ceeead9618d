package enforcement

import (
	"math"
	"sort"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// PolicySummary is the admin's view of one policy across the fleet. The
// JSON field names are part of the admin API; summary_test.go pins them
// with a golden file. Percentages have one decimal.
type PolicySummary struct {
	PolicyID    string    `json:"policy_id"`
	GeneratedAt time.Time `json:"generated_at"`
	// Total: evaluations summarised. InScope: Total minus devices outside
	// the policy's scope (not_in_scope, not_enrolled, platform_unsupported).
	Total   int `json:"total"`
	InScope int `json:"in_scope"`
	// Compliant: installed, or already newer than the target; percent of
	// InScope.
	Compliant        int     `json:"compliant"`
	CompliantPercent float64 `json:"compliant_percent"`
	// Compliance: one entry per compliance state, always all four, in the
	// order installed, required, not_required, unknown; percent of Total.
	Compliance []StateCount `json:"compliance"`
	// Steps: Required devices per step, most common first.
	Steps []StateCount `json:"steps"`
	// Reasons: devices per reason code, most common first; percent of Total.
	Reasons     []StateCount   `json:"reasons"`
	ByPlatform  []GroupSummary `json:"by_platform"`
	ByOSVersion []GroupSummary `json:"by_os_version"`
	// AtRisk: devices likely to miss the deadline, earliest deadline first,
	// at most MaxAtRisk of them; AtRiskTotal counts them all.
	AtRisk      []AtRiskDevice `json:"at_risk"`
	AtRiskTotal int            `json:"at_risk_total"`
}

// StateCount is a count with its share.
type StateCount struct {
	Key     string  `json:"key"`
	Count   int     `json:"count"`
	Percent float64 `json:"percent"`
}

// GroupSummary counts compliance states within one platform or OS version.
type GroupSummary struct {
	Key         string `json:"key"`
	Total       int    `json:"total"`
	Installed   int    `json:"installed"`
	Required    int    `json:"required"`
	NotRequired int    `json:"not_required"`
	Unknown     int    `json:"unknown"`
}

// AtRiskDevice is one device likely to miss its deadline.
type AtRiskDevice struct {
	DeviceID       string     `json:"device_id"`
	Platform       string     `json:"platform"`
	OSVersion      string     `json:"os_version"`
	Compliance     Compliance `json:"compliance"`
	Step           Step       `json:"step,omitempty"`
	Reason         Code       `json:"reason,omitempty"`
	LocalDeadline  string     `json:"local_deadline"`
	DeadlinePassed bool       `json:"deadline_passed"`
}

// MaxAtRisk bounds PolicySummary.AtRisk.
const MaxAtRisk = 1000

// Summarize aggregates one policy's evaluations. facts gives each device's
// platform and OS version (missing devices count as "unknown"); a device is
// at risk when it is Required or Unknown and either its deadline is closer
// than riskWindow (Options.RiskWindow's default when zero) or passed, or
// it is blocked or failed. Devices already installing are not at risk.
func Summarize(evals []Evaluation, facts map[string]DeviceFacts, now time.Time, riskWindow time.Duration) PolicySummary {
	if riskWindow <= 0 {
		riskWindow = Options{}.withDefaults().RiskWindow
	}
	s := PolicySummary{GeneratedAt: now, Total: len(evals), AtRisk: []AtRiskDevice{}}
	comp := map[string]int{}
	steps, reasons := map[string]int{}, map[string]int{}
	platforms, versions := map[string]*GroupSummary{}, map[string]*GroupSummary{}
	for i := range evals {
		ev := &evals[i]
		s.PolicyID = ev.PolicyID
		f, ok := facts[ev.DeviceID]
		platform, version := orUnknownKey(f.Platform, ok), orUnknownKey(f.OSVersion, ok)
		s.count(ev, comp, steps, reasons)
		addToGroup(platforms, platform, ev.Compliance)
		addToGroup(versions, version, ev.Compliance)
		if atRisk(ev, &f, now, riskWindow) {
			s.AtRiskTotal++
			s.AtRisk = append(s.AtRisk, AtRiskDevice{DeviceID: ev.DeviceID, Platform: platform, OSVersion: version,
				Compliance: ev.Compliance, Step: ev.Step, Reason: ev.Reason.Code,
				LocalDeadline: ev.Target.LocalDeadline, DeadlinePassed: ev.DeadlinePassed})
		}
	}
	s.CompliantPercent = percent(s.Compliant, s.InScope)
	for _, c := range []Compliance{Installed, Required, NotRequired, Unknown} {
		s.Compliance = append(s.Compliance, StateCount{string(c), comp[string(c)], percent(comp[string(c)], s.Total)})
	}
	s.Steps = sortedCounts(steps, s.Total)
	s.Reasons = sortedCounts(reasons, s.Total)
	s.ByPlatform, s.ByOSVersion = sortedGroups(platforms, lessString), sortedGroups(versions, lessVersion)
	sortAtRisk(s.AtRisk)
	if len(s.AtRisk) > MaxAtRisk {
		s.AtRisk = s.AtRisk[:MaxAtRisk]
	}
	return s
}

func (s *PolicySummary) count(ev *Evaluation, comp, steps, reasons map[string]int) {
	comp[string(ev.Compliance)]++
	switch ev.Reason.Code {
	case CodeNotInScope, CodeNotEnrolled, CodePlatformUnsupported:
	default:
		s.InScope++
	}
	if ev.Compliance == Installed || ev.Reason.Code == CodeAlreadyNewer {
		s.Compliant++
	}
	if ev.Step != "" {
		steps[string(ev.Step)]++
	}
	if ev.Reason.Code != "" {
		reasons[string(ev.Reason.Code)]++
	}
}

func atRisk(ev *Evaluation, f *DeviceFacts, now time.Time, window time.Duration) bool {
	if ev.Compliance != Required && ev.Compliance != Unknown {
		return false
	}
	switch ev.Step {
	case StepInstalling, StepPendingRestart, StepVerifying:
		return false
	case StepBlocked, StepFailed:
		return true
	}
	if ev.DeadlinePassed {
		return true
	}
	wall, err := parseLocalDateTime(ev.Target.LocalDeadline)
	if err != nil {
		return false
	}
	// Earliest reading of the wall-clock deadline: warn early, not late.
	return deadlineInstant(wall, f.Location, false).Sub(now) < window
}

func orUnknownKey(s string, ok bool) string {
	if !ok || s == "" {
		return "unknown"
	}
	return s
}

func addToGroup(groups map[string]*GroupSummary, key string, c Compliance) {
	g := groups[key]
	if g == nil {
		g = &GroupSummary{Key: key}
		groups[key] = g
	}
	g.Total++
	switch c {
	case Installed:
		g.Installed++
	case Required:
		g.Required++
	case NotRequired:
		g.NotRequired++
	default:
		g.Unknown++
	}
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)*1000/float64(of)) / 10
}

func sortedCounts(m map[string]int, total int) []StateCount {
	out := make([]StateCount, 0, len(m))
	for k, n := range m {
		out = append(out, StateCount{k, n, percent(n, total)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func sortedGroups(m map[string]*GroupSummary, less func(a, b string) bool) []GroupSummary {
	out := make([]GroupSummary, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].Key, out[j].Key) })
	return out
}

func lessString(a, b string) bool { return a < b }

// lessVersion sorts OS versions numerically ("9.3" before "14.8"), with
// unparsable keys such as "unknown" last.
func lessVersion(a, b string) bool {
	va, errA := osversion.Parse(a)
	vb, errB := osversion.Parse(b)
	switch {
	case errA == nil && errB == nil:
		if c := va.Compare(vb); c != 0 {
			return c < 0
		}
		return a < b
	case errA == nil:
		return true
	case errB == nil:
		return false
	}
	return a < b
}

func sortAtRisk(list []AtRiskDevice) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].LocalDeadline != list[j].LocalDeadline {
			return list[i].LocalDeadline < list[j].LocalDeadline
		}
		return list[i].DeviceID < list[j].DeviceID
	})
}
