package enforcement

import (
	"errors"
	"time"
)

// Path is how a device is updated.
type Path string

const (
	// PathDDM: the softwareupdate.enforcement.specific declaration
	// (macOS 14+, iOS/iPadOS 17+).
	PathDDM Path = "ddm"
	// PathLegacy: the MDM commands ScheduleOSUpdate & co. (older systems).
	PathLegacy Path = "legacy"
	// PathNone: not applicable, or no mechanism (27+ without DDM).
	PathNone Path = "none"
)

// Action is what the reconcile worker should do for this device and policy.
type Action string

const (
	// ActionDeliver: make the DDM declarations match DevicePlan.DDM, or
	// carry out DevicePlan.Legacy's next step.
	ActionDeliver Action = "deliver"
	// ActionRemove: make sure the policy's declarations are not on the
	// device (out of scope, paused, compliant, or no target). A device
	// reports an error for an enforcement declaration that is not newer
	// than its OS, so compliant devices must not keep it.
	ActionRemove Action = "remove"
	// ActionBlocked: a blocking precondition holds; nothing is sent.
	ActionBlocked Action = "blocked"
	// ActionNone: nothing to do (legacy devices with nothing to send).
	ActionNone Action = "none"
)

// DevicePlan is the plan for one device under one policy. It is pure data:
// Plan sends nothing.
type DevicePlan struct {
	DeviceID string         `json:"device_id"`
	PolicyID string         `json:"policy_id"`
	InScope  bool           `json:"in_scope"`
	Path     Path           `json:"path"`
	Action   Action         `json:"action"`
	Target   ResolvedTarget `json:"target"`
	// Reasons explain the action: blocking ones first, then waiting ones.
	Reasons []Reason    `json:"reasons,omitempty"`
	DDM     *DDMPlan    `json:"ddm,omitempty"`
	Legacy  *LegacyPlan `json:"legacy,omitempty"`
}

// DDMPlan is what the device's declaration set should contain.
type DDMPlan struct {
	DeclarationIdentifier string          `json:"declaration_identifier"`
	Enforcement           EnforcementSpec `json:"enforcement"`
	// NeedsStatusSubscription: the device has not confirmed an active
	// status-subscriptions declaration; without it no status arrives.
	NeedsStatusSubscription      bool     `json:"needs_status_subscription"`
	StatusSubscriptionIdentifier string   `json:"status_subscription_identifier"`
	StatusItems                  []string `json:"status_items"`
	// Settings is set only on macOS 15+ / iOS 18+ and when the policy asks
	// for a setting.
	Settings *SettingsSpec `json:"settings,omitempty"`
}

// EnforcementSpec mirrors the softwareupdate.enforcement.specific payload.
type EnforcementSpec struct {
	TargetOSVersion     string `json:"TargetOSVersion"`
	TargetBuildVersion  string `json:"TargetBuildVersion,omitempty"`
	TargetLocalDateTime string `json:"TargetLocalDateTime"`
	DetailsURL          string `json:"DetailsURL,omitempty"`
}

// SettingsSpec is the part of softwareupdate.settings a policy controls.
type SettingsSpec struct {
	DeclarationIdentifier string `json:"declaration_identifier"`
	Notifications         *bool  `json:"notifications,omitempty"`
	// RapidSecurityResponseEnable is RapidSecurityResponse.Enable (Apple
	// kept the old name in the key).
	RapidSecurityResponseEnable *bool `json:"rapid_security_response_enable,omitempty"`
	// Skipped names requested settings this device cannot take (they need
	// supervision on iOS).
	Skipped []string `json:"skipped,omitempty"`
}

// Plan decides, for one device and one policy, the path, the target, the
// preconditions and the next action. Pure: time comes from now.
func Plan(f DeviceFacts, p Policy, c *Catalog, now time.Time, opts Options) DevicePlan {
	var a assessment
	a.assess(f, p, c, now, opts)
	dp := DevicePlan{DeviceID: f.ID, PolicyID: p.ID, InScope: a.outOfScope.IsZero(), Path: a.path, Target: a.target}
	if reason, action, stop := a.stopReason(); stop {
		dp.Action = action
		if !reason.IsZero() {
			dp.Reasons = []Reason{reason}
		}
		return dp
	}
	for _, pc := range a.pre {
		dp.Reasons = append(dp.Reasons, pc.reason)
	}
	if len(a.pre) > 0 && a.pre[0].blocks {
		dp.Action = ActionBlocked
		return dp
	}
	dp.Action = ActionDeliver
	switch a.path {
	case PathDDM:
		dp.DDM = a.ddmPlan()
	case PathLegacy:
		dp.Legacy = a.legacyPlan()
	}
	return dp
}

// stopReason says whether nothing should be enforced on this device, why,
// and what to do instead. When in doubt (no catalog yet, unknown version,
// unknown device id) the action is "none": removing declarations because
// the server lacks data would undo enforcement fleet-wide.
func (a *assessment) stopReason() (Reason, Action, bool) {
	switch {
	case !a.outOfScope.IsZero():
		return a.outOfScope, a.removeOrNone(), true
	case a.resolveErr != nil:
		return a.resolveReason(), ActionNone, true
	case a.targetCode == CodeDeviceIDUnknown:
		return NewReason(CodeDeviceIDUnknown), ActionNone, true
	case a.targetCode != "":
		return a.targetReason(), a.removeOrNone(), true
	case !a.versionKnown || !a.cmpKnown:
		return NewReason(CodeStatusUnknown, "since", formatSeen(a.f.statusAt())), ActionNone, true
	case a.cmp > 0:
		return NewReason(CodeAlreadyNewer, "installed", a.f.OSVersion, "target", a.target.OSVersion), a.removeOrNone(), true
	case a.cmp == 0:
		return Reason{}, a.removeOrNone(), true
	case a.p.Paused:
		return NewReason(CodePolicyPaused), a.removeOrNone(), true
	}
	return Reason{}, "", false
}

// removeOrNone: devices that could hold our declaration (including ones
// that just left the scope) get it removed; others need nothing.
func (a *assessment) removeOrNone() Action {
	if a.mayHoldDecl {
		return ActionRemove
	}
	return ActionNone
}

func (a *assessment) resolveReason() Reason {
	if errors.Is(a.resolveErr, ErrNoCatalog) {
		return NewReason(CodeCatalogUnavailable)
	}
	return NewReason(CodePolicyInvalid, "detail", a.resolveErr.Error())
}

func (a *assessment) targetReason() Reason {
	switch a.targetCode {
	case CodeReleaseExpired:
		return NewReason(CodeReleaseExpired, "target", a.target.OSVersion,
			"expires", a.target.Expires.Format(catalogDateLayout))
	case CodeNoReleaseForModel:
		return NewReason(CodeNoReleaseForModel, "target", describeTarget(a.p.Target),
			"device_id", orNone(a.f.softwareUpdateDeviceID()))
	}
	return NewReason(a.targetCode)
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
