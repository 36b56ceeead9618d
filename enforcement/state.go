package enforcement

import (
	"time"
)

// Compliance is a device's standing against one policy.
type Compliance string

const (
	// Installed: the device reported the target version (and the target
	// build, when the target names one). Only a reported version counts; a
	// delivered declaration proves nothing.
	Installed Compliance = "installed"
	// Required: in scope, applicable, and the target is not installed yet.
	Required Compliance = "required"
	// NotRequired: out of scope, not applicable to the model or platform,
	// or the device already runs something newer than the target.
	NotRequired Compliance = "not_required"
	// Unknown: no status within the TTL, or not enough data to decide.
	Unknown Compliance = "unknown"
)

// Step is where a Required device is on its way to the target.
type Step string

const (
	StepPlanned        Step = "planned"         // nothing confirmed by the device yet
	StepDelivered      Step = "delivered"       // declaration active / command accepted
	StepWaiting        Step = "waiting"         // waiting on a transient condition (see Reason)
	StepDownloading    Step = "downloading"     // device downloading
	StepPrepared       Step = "prepared"        // downloaded and ready to install
	StepInstalling     Step = "installing"      // install running
	StepPendingRestart Step = "pending_restart" // installed on the user's schedule, needs a restart
	StepVerifying      Step = "verifying"       // install ended; waiting for the new version to be reported
	StepFailed         Step = "failed"          // the device reported a failure
	StepBlocked        Step = "blocked"         // a blocking precondition; nothing is sent
)

// Evaluation is one device's compliance with one policy at one instant.
type Evaluation struct {
	DeviceID   string     `json:"device_id"`
	PolicyID   string     `json:"policy_id"`
	Compliance Compliance `json:"compliance"`
	// Step is set only when Compliance is Required.
	Step   Step           `json:"step,omitempty"`
	Reason Reason         `json:"reason,omitzero"`
	Target ResolvedTarget `json:"target"`
	Path   Path           `json:"path"`
	// DeadlinePassed: the device-local deadline is over (judged in the
	// device's zone, or once it is over everywhere when the zone is unknown).
	DeadlinePassed bool      `json:"deadline_passed,omitempty"`
	EvaluatedAt    time.Time `json:"evaluated_at"`
}

// Evaluate computes compliance, step and the main reason for one device
// under one policy. Pure and cheap: no I/O, the catalog is only read
// through its indexes.
func Evaluate(f DeviceFacts, p Policy, c *Catalog, now time.Time, opts Options) Evaluation {
	var a assessment
	a.assess(f, p, c, now, opts)
	ev := Evaluation{DeviceID: f.ID, PolicyID: p.ID, Path: a.path, Target: a.target, EvaluatedAt: now,
		DeadlinePassed: a.deadlineOver}
	ev.Compliance, ev.Reason = a.standing()
	if ev.Compliance == Required {
		ev.Step, ev.Reason = a.requiredStep()
	}
	return ev
}

// standing decides the compliance before looking at progress.
func (a *assessment) standing() (Compliance, Reason) {
	switch {
	case !a.outOfScope.IsZero():
		return NotRequired, a.outOfScope
	case a.resolveErr != nil:
		return Unknown, a.resolveReason()
	case a.targetCode == CodeDeviceIDUnknown:
		return Unknown, a.unknownBecause(NewReason(CodeDeviceIDUnknown))
	case a.targetCode != "" && a.targetCode != CodeReleaseExpired:
		return NotRequired, a.targetReason()
	}
	if at := a.f.statusAt(); at.IsZero() || a.now.Sub(at) > a.opts.StatusTTL {
		return Unknown, a.unknownBecause(NewReason(CodeStatusUnknown, "since", formatSeen(at)))
	}
	switch {
	case a.targetCode == CodeReleaseExpired:
		return a.expiredStanding()
	case !a.cmpKnown:
		return Unknown, NewReason(CodeStatusUnknown, "since", formatSeen(a.f.statusAt()))
	case a.cmp > 0:
		return NotRequired, NewReason(CodeAlreadyNewer, "installed", a.f.OSVersion, "target", a.target.OSVersion)
	case a.cmp == 0:
		return Installed, Reason{}
	}
	return Required, Reason{}
}

// unknownBecause names the cause of missing data when there is one the
// admin can act on: a device that stopped checking in explains why its
// status is stale better than "status unknown" does.
func (a *assessment) unknownBecause(r Reason) Reason {
	f := &a.f
	if f.LastSeen.IsZero() || a.now.Sub(f.LastSeen) > a.opts.CheckInThreshold {
		return NewReason(CodeNotCheckingIn, "last_seen", formatSeen(f.LastSeen))
	}
	return r
}

// expiredStanding: an expired target still counts as installed on devices
// that have it; the others cannot get it any more.
func (a *assessment) expiredStanding() (Compliance, Reason) {
	cmp, ok := compareInstalled(&a.f, a.installed, a.versionKnown, a.target)
	switch {
	case !ok:
		return Unknown, NewReason(CodeStatusUnknown, "since", formatSeen(a.f.statusAt()))
	case cmp > 0:
		return NotRequired, NewReason(CodeAlreadyNewer, "installed", a.f.OSVersion, "target", a.target.OSVersion)
	case cmp == 0:
		return Installed, Reason{}
	}
	return Required, a.targetReason()
}

// requiredStep finds the step and the most useful reason for a Required
// device: blockers first, then what the device itself reports, then
// transient conditions, then the deadline.
func (a *assessment) requiredStep() (Step, Reason) {
	if a.targetCode == CodeReleaseExpired {
		return StepBlocked, a.targetReason()
	}
	if a.p.Paused {
		return StepWaiting, NewReason(CodePolicyPaused)
	}
	if len(a.pre) > 0 && a.pre[0].blocks {
		return StepBlocked, a.pre[0].reason
	}
	var step Step
	var reason Reason
	switch a.path {
	case PathDDM:
		step, reason = a.ddmStep()
	case PathLegacy:
		step, reason = a.legacyStep()
	default:
		step = StepPlanned
	}
	if !reason.IsZero() {
		return step, reason
	}
	if !quietStep(step) {
		// The update is moving, but a missing bootstrap token or too little
		// space may still stop the install itself: say so while it moves.
		// Push or check-in trouble matters less once the device is busy.
		for _, p := range a.pre {
			switch p.reason.Code {
			case CodeBootstrapTokenMissing, CodeAwaitingBootstrapToken, CodeInsufficientSpace:
				return step, p.reason
			}
		}
		return step, reason
	}
	if len(a.pre) > 0 {
		return StepWaiting, a.pre[0].reason
	}
	if a.deadlineOver {
		return step, NewReason(CodeDeadlinePassed, "deadline", a.target.LocalDeadline, "installed", a.f.OSVersion)
	}
	return step, Reason{}
}

// quietStep: steps where nothing visibly happens, so a waiting
// precondition or the passed deadline is the better explanation.
func quietStep(s Step) bool {
	return s == StepPlanned || s == StepDelivered || s == StepWaiting
}
