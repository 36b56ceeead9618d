package enforcement

import "time"

// DeviceState is the stored per-device, per-policy state: the last
// evaluation's outcome plus a bounded history of transitions.
//
// States are (Compliance, Step). Evaluate decides them from facts; the
// machine only adds what facts alone cannot show and records history:
//
//	(none) ──initial──▶ any state
//	required/planned ─▶ delivered ─▶ downloading ─▶ prepared ─▶ installing ─▶ verifying ─▶ installed
//	         any required step ──failed──▶ required/failed ──recovered──▶ any other required step
//	         any required step ──blocked─▶ required/blocked ──recovered──▶ …
//	installed / not_required ──retargeted──▶ required/… (policy target moved, e.g. a new "latest")
//	any ──became_unknown──▶ unknown (no status within the TTL) ──▶ back to any state
//	any ──left_scope──▶ not_required (out of scope, not enrolled)
//
// "verifying" is the one state the machine infers: a device that was
// installing (or pending restart) and now reports nothing in progress, but
// not the new version yet, is verifying for up to VerifyWindow; after that
// it falls back to what Evaluate says. See STATES.md.
type DeviceState struct {
	DeviceID      string     `json:"device_id"`
	PolicyID      string     `json:"policy_id"`
	Compliance    Compliance `json:"compliance"`
	Step          Step       `json:"step,omitempty"`
	Reason        Code       `json:"reason,omitempty"`
	Message       string     `json:"message,omitempty"`
	TargetVersion string     `json:"target_version,omitempty"`
	TargetBuild   string     `json:"target_build,omitempty"`
	LocalDeadline string     `json:"local_deadline,omitempty"`
	// Since: when the current state was entered. UpdatedAt: last change.
	Since           time.Time      `json:"since"`
	UpdatedAt       time.Time      `json:"updated_at"`
	FirstRequiredAt time.Time      `json:"first_required_at,omitzero"`
	InstalledAt     time.Time      `json:"installed_at,omitzero"`
	History         []HistoryEntry `json:"history,omitempty"`
}

// HistoryEntry records one transition.
type HistoryEntry struct {
	At         time.Time      `json:"at"`
	Kind       TransitionKind `json:"kind"`
	Compliance Compliance     `json:"compliance"`
	Step       Step           `json:"step,omitempty"`
	Reason     Code           `json:"reason,omitempty"`
	Target     string         `json:"target,omitempty"`
}

// TransitionKind classifies a transition for the admin's timeline.
type TransitionKind string

const (
	KindInitial       TransitionKind = "initial"
	KindProgressed    TransitionKind = "progressed"
	KindRegressed     TransitionKind = "regressed"
	KindChanged       TransitionKind = "changed" // same progress, other reason
	KindRetargeted    TransitionKind = "retargeted"
	KindInstalled     TransitionKind = "installed"
	KindFailed        TransitionKind = "failed"
	KindBlocked       TransitionKind = "blocked"
	KindRecovered     TransitionKind = "recovered"
	KindBecameUnknown TransitionKind = "became_unknown"
	KindLeftScope     TransitionKind = "left_scope"
	KindNotApplicable TransitionKind = "not_applicable"
)

// MaxHistory bounds DeviceState.History; the oldest entries are dropped.
const MaxHistory = 50

// VerifyWindow is how long a device that stopped installing may take to
// report its new version before the machine stops saying "verifying".
const VerifyWindow = 4 * time.Hour

// Transition applies an evaluation to the previous state. changed is false
// when nothing worth storing changed; prev is then returned untouched, so
// the caller writes nothing.
func Transition(prev DeviceState, ev Evaluation, now time.Time) (next DeviceState, changed bool) {
	ev = inferVerifying(prev, ev, now)
	if sameState(prev, ev) {
		return prev, false
	}
	next = prev
	next.DeviceID, next.PolicyID = ev.DeviceID, ev.PolicyID
	next.Compliance, next.Step, next.Reason, next.Message = ev.Compliance, ev.Step, ev.Reason.Code, ev.Reason.Message
	next.TargetVersion, next.TargetBuild = ev.Target.OSVersion, ev.Target.BuildVersion
	next.LocalDeadline = ev.Target.LocalDeadline
	next.UpdatedAt = now
	if prev.Compliance != ev.Compliance || prev.Step != ev.Step || prev.Compliance == "" {
		next.Since = now
	}
	kind := classify(prev, ev)
	if ev.Compliance == Required && next.FirstRequiredAt.IsZero() {
		next.FirstRequiredAt = now
	}
	if kind == KindInstalled {
		next.InstalledAt = now
	}
	entry := HistoryEntry{At: now, Kind: kind, Compliance: ev.Compliance, Step: ev.Step, Reason: ev.Reason.Code,
		Target: targetLabel(ev.Target)}
	next.History = appendBounded(prev.History, entry)
	return next, true
}

// sameState: nothing the admin would see has changed (message text alone
// does not count, so re-rendered templates don't churn storage).
func sameState(prev DeviceState, ev Evaluation) bool {
	return prev.Compliance == ev.Compliance && prev.Step == ev.Step && prev.Reason == ev.Reason.Code &&
		prev.TargetVersion == ev.Target.OSVersion && prev.TargetBuild == ev.Target.BuildVersion &&
		prev.LocalDeadline == ev.Target.LocalDeadline
}

// inferVerifying turns a quiet Required step after installing into
// "verifying" for up to VerifyWindow.
func inferVerifying(prev DeviceState, ev Evaluation, now time.Time) Evaluation {
	wasInstalling := prev.Step == StepInstalling || prev.Step == StepPendingRestart || prev.Step == StepVerifying
	if prev.Compliance != Required || !wasInstalling || ev.Compliance != Required || !quietStep(ev.Step) ||
		ev.Reason.Severity == SeverityBlocking || prev.TargetVersion != ev.Target.OSVersion {
		return ev
	}
	if prev.Step == StepVerifying && now.Sub(prev.Since) > VerifyWindow {
		return ev
	}
	ev.Step, ev.Reason = StepVerifying, Reason{}
	return ev
}

func appendBounded(h []HistoryEntry, e HistoryEntry) []HistoryEntry {
	out := make([]HistoryEntry, 0, min(len(h)+1, MaxHistory))
	if len(h) >= MaxHistory {
		h = h[len(h)-MaxHistory+1:]
	}
	out = append(out, h...)
	return append(out, e)
}

func targetLabel(t ResolvedTarget) string {
	if t.BuildVersion != "" {
		return t.OSVersion + " (" + t.BuildVersion + ")"
	}
	return t.OSVersion
}
