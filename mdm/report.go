package mdm

import "fmt"

// Command result statuses a device reports.
const (
	StatusIdle               = "Idle"
	StatusAcknowledged       = "Acknowledged"
	StatusError              = "Error"
	StatusCommandFormatError = "CommandFormatError"
	StatusNotNow             = "NotNow"
)

// ErrorChainItem is one entry of a result's ErrorChain.
type ErrorChainItem struct {
	ErrorCode            int    `plist:"ErrorCode" json:"error_code"`
	ErrorDomain          string `plist:"ErrorDomain" json:"error_domain"`
	LocalizedDescription string `plist:"LocalizedDescription" json:"localized_description,omitempty"`
	USEnglishDescription string `plist:"USEnglishDescription,omitempty" json:"us_english_description,omitempty"`
}

// Report is the common envelope of a command report (connect request).
// Typed payloads are decoded from Raw by the command's own decoder.
type Report struct {
	UDID         string           `plist:"UDID"`
	EnrollmentID string           `plist:"EnrollmentID"`
	UserID       string           `plist:"UserID"`
	Status       string           `plist:"Status"`
	CommandUUID  string           `plist:"CommandUUID"`
	RequestType  string           `plist:"RequestType"`
	ErrorChain   []ErrorChainItem `plist:"ErrorChain"`
	Raw          []byte           `plist:"-"`
}

// IsFinal reports whether the status ends the command's delivery.
func (r *Report) IsFinal() bool {
	switch r.Status {
	case StatusAcknowledged, StatusError, StatusCommandFormatError:
		return true
	}
	return false
}

// DecodeReport decodes and validates a command report.
func DecodeReport(raw []byte) (*Report, error) {
	var r Report
	if err := DecodePlist(raw, &r); err != nil {
		return nil, err
	}
	switch r.Status {
	case StatusIdle:
	case StatusAcknowledged, StatusError, StatusCommandFormatError, StatusNotNow:
		if r.CommandUUID == "" {
			return nil, &DecodeError{Reason: fmt.Sprintf("status %s without CommandUUID", r.Status)}
		}
	case "":
		return nil, &DecodeError{Reason: "missing Status"}
	default:
		return nil, &DecodeError{Reason: fmt.Sprintf("unknown Status %q", r.Status)}
	}
	r.Raw = raw
	return &r, nil
}
