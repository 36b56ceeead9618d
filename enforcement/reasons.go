package enforcement

import "strings"

// Code names why a device is where it is. Codes are stable identifiers:
// stored in state history, shown in the API, and documented in REASONS.md.
type Code string

// Reason codes. The catalogue below (reasonCatalogue) is the one place that
// gives each its explanation and remedy.
const (
	CodeNotEnrolled             Code = "not_enrolled"
	CodeNotInScope              Code = "not_in_scope"
	CodePlatformUnsupported     Code = "platform_unsupported"
	CodeNoReleaseForModel       Code = "no_release_for_model"
	CodeDeviceIDUnknown         Code = "device_id_unknown"
	CodeAlreadyNewer            Code = "already_newer"
	CodePolicyPaused            Code = "policy_paused"
	CodeNotSupervised           Code = "not_supervised"
	CodeBootstrapTokenMissing   Code = "bootstrap_token_missing"
	CodeAwaitingBootstrapToken  Code = "awaiting_bootstrap_token"
	CodeDDMUnavailable          Code = "ddm_unavailable"
	CodeBatteryLow              Code = "battery_low"
	CodeInsufficientSpace       Code = "insufficient_space"
	CodeNotCheckingIn           Code = "not_checking_in"
	CodePushFailing             Code = "push_failing"
	CodeReleaseExpired          Code = "release_expired"
	CodeDeclarationRejected     Code = "declaration_rejected"
	CodeUpdateFailed            Code = "update_failed"
	CodeQueuedBehindOtherTarget Code = "queued_behind_other_target"
	CodeDeadlinePassed          Code = "deadline_passed"
	CodeStatusUnknown           Code = "status_unknown"
	CodeCatalogUnavailable      Code = "catalog_unavailable"
	CodePolicyInvalid           Code = "policy_invalid"

	// Legacy (MDM command) path codes, used by the reconcile engine.
	CodeProductKeyNotFound          Code = "product_key_not_found"
	CodeScheduleFailed              Code = "schedule_failed"
	CodeStatusErrorNoDetail         Code = "status_error_no_detail"
	CodeDownloadStalled             Code = "download_stalled"
	CodeDownloadStuck               Code = "download_stuck"
	CodeIdleAfterInstallRequest     Code = "idle_after_install_request"
	CodeNetworkInsufficient         Code = "network_insufficient"
	CodeInstallActionUnsupported    Code = "install_action_unsupported"
	CodePersonalizationFailed       Code = "personalization_failed"
	CodeMaxRuntimeExceeded          Code = "max_runtime_exceeded"
	CodeFallbackRequested           Code = "fallback_requested"
	CodeFallbackIssued              Code = "fallback_issued"
	CodeWaitingForMaintenanceWindow Code = "waiting_for_maintenance_window"

	// Rollout control (rings, forecast), used by enforcement/rollout.
	CodeWaitingForRing               Code = "waiting_for_ring"
	CodeReleaseExpiresBeforeDeadline Code = "release_expires_before_deadline"
	CodeFailingRepeatedly            Code = "failing_repeatedly"
)

// Severity tells the reconcile engine and the admin how to treat a reason.
type Severity string

const (
	// SeverityInfo: nothing is wrong (out of scope, already newer).
	SeverityInfo Severity = "info"
	// SeverityWaiting: transient; the server retries by itself.
	SeverityWaiting Severity = "waiting"
	// SeverityBlocking: nothing will happen until someone acts.
	SeverityBlocking Severity = "blocking"
	// SeverityFailed: the update was tried and failed; retried within bounds.
	SeverityFailed Severity = "failed"
)

// ReasonInfo is one catalogue entry. Explanation is a one-line template
// whose {placeholders} are filled from Reason.Details.
type ReasonInfo struct {
	Code        Code     `json:"code"`
	Severity    Severity `json:"severity"`
	Explanation string   `json:"explanation"`
	Remedy      string   `json:"remedy"`
}

// Reason is a catalogue entry applied to one device: the rendered message,
// the remedy and the facts that filled the template.
type Reason struct {
	Code     Code              `json:"code"`
	Severity Severity          `json:"severity"`
	Message  string            `json:"message"`
	Remedy   string            `json:"remedy"`
	Details  map[string]string `json:"details,omitempty"`
}

// IsZero reports whether no reason was set.
func (r Reason) IsZero() bool { return r.Code == "" }

var catalogueIndex = func() map[Code]ReasonInfo {
	m := make(map[Code]ReasonInfo, len(reasonCatalogue))
	for _, r := range reasonCatalogue {
		m[r.Code] = r
	}
	return m
}()

// Reasons lists every catalogue entry in catalogue order (used to generate
// REASONS.md and the admin API's reference list).
func Reasons() []ReasonInfo {
	out := make([]ReasonInfo, len(reasonCatalogue))
	copy(out, reasonCatalogue)
	return out
}

// LookupReason returns the catalogue entry for code.
func LookupReason(code Code) (ReasonInfo, bool) {
	r, ok := catalogueIndex[code]
	return r, ok
}

// NewReason renders code's explanation with details given as key/value
// pairs ("count", "3", ...). Unknown placeholders stay visible so a missing
// detail is noticed instead of silently producing a wrong sentence. An
// unknown code yields a reason that says so rather than a panic.
func NewReason(code Code, kv ...string) Reason {
	info, ok := catalogueIndex[code]
	if !ok {
		return Reason{Code: code, Severity: SeverityFailed, Message: "unknown reason " + string(code)}
	}
	r := Reason{Code: code, Severity: info.Severity, Message: info.Explanation, Remedy: info.Remedy}
	if len(kv) >= 2 {
		r.Details = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			r.Details[kv[i]] = kv[i+1]
		}
		r.Message = fill(info.Explanation, r.Details)
		r.Remedy = fill(info.Remedy, r.Details)
	}
	return r
}

// fill replaces {key} placeholders in one pass, so a value that itself
// contains "{...}" is never expanded again; unknown keys stay as written.
func fill(template string, details map[string]string) string {
	var b strings.Builder
	b.Grow(len(template) + 32)
	rest := template
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			break
		}
		key := rest[open+1 : open+end]
		b.WriteString(rest[:open])
		if v, ok := details[key]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(rest[open : open+end+1])
		}
		rest = rest[open+end+1:]
	}
	b.WriteString(rest)
	return b.String()
}
