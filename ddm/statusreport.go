package ddm

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Caps on what one status report may make us keep. The HTTP layer caps the
// body; these keep a well-formed but hostile report from growing storage.
const (
	MaxStatusItems         = 256
	MaxDeclarationStatuses = 4096
	MaxStatusErrors        = 256
	MaxReasons             = 32
	MaxStringLen           = 1024
	MaxRawLen              = 64 << 10
	MaxProblems            = 100
)

// StatusReport is one decoded status report. Reports are partial: a nil
// field means the device did not send that item this time.
type StatusReport struct {
	FullReport bool              `json:"full_report"`
	Items      StatusItems       `json:"items"`
	Errors     []StatusItemError `json:"errors,omitempty"`
	Problems   []Problem         `json:"problems,omitempty"`
}

// StatusItems holds the typed items this package knows.
type StatusItems struct {
	InstallState   *InstallState   `json:"install_state,omitempty"`
	PendingVersion *PendingVersion `json:"pending_version,omitempty"`
	FailureReason  *FailureReason  `json:"failure_reason,omitempty"`
	InstallReason  *InstallReason  `json:"install_reason,omitempty"`
	DeviceID       *string         `json:"device_id,omitempty"`
	BetaEnrollment *string         `json:"beta_enrollment,omitempty"`

	OSFamily                   *string `json:"os_family,omitempty"`
	OSVersion                  *string `json:"os_version,omitempty"`
	OSBuildVersion             *string `json:"os_build_version,omitempty"`
	OSMarketingName            *string `json:"os_marketing_name,omitempty"`
	OSSupplementalBuildVersion *string `json:"os_supplemental_build_version,omitempty"`
	OSSupplementalExtraVersion *string `json:"os_supplemental_extra_version,omitempty"`

	ModelFamily        *string `json:"model_family,omitempty"`
	ModelIdentifier    *string `json:"model_identifier,omitempty"`
	ModelMarketingName *string `json:"model_marketing_name,omitempty"`
	SerialNumber       *string `json:"serial_number,omitempty"`
	UDID               *string `json:"udid,omitempty"`
	BatteryHealth      *string `json:"battery_health,omitempty"`

	Declarations       *DeclarationsStatus `json:"declarations,omitempty"`
	ClientCapabilities json.RawMessage     `json:"client_capabilities,omitempty"`
}

// InstallState is softwareupdate.install-state. Values Apple has not
// documented are kept as sent (and reported in Problems).
type InstallState string

// Known install states. "waiting" is described by Apple but missing from
// the schema's rangelist.
const (
	InstallStateNone        InstallState = "none"
	InstallStateWaiting     InstallState = "waiting"
	InstallStateDownloading InstallState = "downloading"
	InstallStatePrepared    InstallState = "prepared"
	InstallStateInstalling  InstallState = "installing"
	InstallStateFailed      InstallState = "failed"
)

// Known reports whether s is a documented install state.
func (s InstallState) Known() bool {
	switch s {
	case InstallStateNone, InstallStateWaiting, InstallStateDownloading,
		InstallStatePrepared, InstallStateInstalling, InstallStateFailed:
		return true
	}
	return false
}

// PendingVersion is softwareupdate.pending-version; empty strings mean no
// update is pending. TargetLocalDateTime is kept as sent: devices have been
// seen reporting it converted to UTC.
type PendingVersion struct {
	OSVersion           string `json:"os_version"`
	BuildVersion        string `json:"build_version"`
	TargetLocalDateTime string `json:"target_local_date_time,omitempty"`
}

// FailureReason is softwareupdate.failure-reason.
type FailureReason struct {
	Count     int    `json:"count"`
	Reason    string `json:"reason,omitempty"`
	Timestamp string `json:"timestamp,omitempty"` // RFC 3339, as sent
}

// InstallReason is softwareupdate.install-reason.
type InstallReason struct {
	Reasons       []string `json:"reasons"`
	DeclarationID string   `json:"declaration_id,omitempty"`
}

// DeclarationsStatus is management.declarations, by class.
type DeclarationsStatus struct {
	Activations    []DeclarationStatus `json:"activations,omitempty"`
	Configurations []DeclarationStatus `json:"configurations,omitempty"`
	Assets         []DeclarationStatus `json:"assets,omitempty"`
	Management     []DeclarationStatus `json:"management,omitempty"`
}

// DeclarationStatus is the device's view of one declaration.
type DeclarationStatus struct {
	Identifier  string         `json:"identifier"`
	ServerToken string         `json:"server_token"`
	Active      bool           `json:"active"`
	Valid       string         `json:"valid"` // valid, invalid or unknown
	Reasons     []StatusReason `json:"reasons,omitempty"`
}

// StatusReason explains a declaration's or status item's error.
type StatusReason struct {
	Code        string          `json:"code"`
	Description string          `json:"description,omitempty"`
	Details     json.RawMessage `json:"details,omitempty"`
}

// StatusItemError is one entry of the report's Errors array: an item the
// device could not report.
type StatusItemError struct {
	StatusItem string         `json:"status_item"`
	Reasons    []StatusReason `json:"reasons,omitempty"`
}

// Problem is something in a well-formed report that was skipped or kept
// with reservations: an unknown item, a wrong type, an undocumented value.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ParseStatusReport decodes a status report. Malformed JSON, or a root that
// is not an object, is an error matching ErrMalformed (answer 400). A
// well-formed report always parses: what cannot be used is skipped and
// listed in Problems (answer 200).
func ParseStatusReport(raw []byte) (*StatusReport, error) {
	tree, err := decodeTree(raw)
	if err != nil {
		return nil, fmt.Errorf("ddm: status report: %w", err)
	}
	root, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: status report must be a JSON object, not %s", ErrMalformed, jsonTypeName(tree))
	}
	p := &reportParser{r: &StatusReport{}, seen: map[string]bool{}}
	for _, k := range sortedKeys(root) {
		p.topLevel(k, root[k])
	}
	if _, ok := root["StatusItems"]; !ok {
		p.problem("StatusItems", "required key is missing")
	}
	return p.r, nil
}

type reportParser struct {
	r         *StatusReport
	items     int
	seen      map[string]bool
	decls     int
	truncated bool
}

func (p *reportParser) topLevel(key string, v any) {
	switch key {
	case "StatusItems":
		obj, ok := v.(map[string]any)
		if !ok {
			p.wrongType(key, "an object", v)
			return
		}
		p.walkItems("", obj)
	case "Errors":
		p.parseErrors(v)
	case "FullReport":
		b, ok := v.(bool)
		if !ok {
			p.wrongType(key, "a boolean", v)
			return
		}
		p.r.FullReport = b
	default:
		p.problem(key, "unknown key in status report")
	}
}

// problem records a problem, up to MaxProblems.
func (p *reportParser) problem(path, msg string) {
	if len(p.r.Problems) >= MaxProblems {
		if !p.truncated {
			p.truncated = true
			p.r.Problems = append(p.r.Problems, Problem{Message: "further problems omitted"})
		}
		return
	}
	p.r.Problems = append(p.r.Problems, Problem{Path: shorten(path), Message: msg})
}

func (p *reportParser) wrongType(path, want string, v any) {
	p.problem(path, fmt.Sprintf("must be %s, not %s; skipped", want, jsonTypeName(v)))
}

// shorten keeps device-chosen paths within MaxStringLen.
func shorten(s string) string {
	if len(s) <= MaxStringLen {
		return s
	}
	return strings.ToValidUTF8(s[:MaxStringLen], "") + "…"
}
