package mdm

import (
	"fmt"
	"strings"
)

// Check-in message types (Apple: mdm/checkin/*.yaml).
const (
	MsgAuthenticate          = "Authenticate"
	MsgTokenUpdate           = "TokenUpdate"
	MsgCheckOut              = "CheckOut"
	MsgSetBootstrapToken     = "SetBootstrapToken"
	MsgGetBootstrapToken     = "GetBootstrapToken"
	MsgDeclarativeManagement = "DeclarativeManagement"
	MsgUserAuthenticate      = "UserAuthenticate"
	MsgGetToken              = "GetToken"
)

// CheckinContentType is the Content-Type prefix of check-in requests.
const CheckinContentType = "application/x-apple-aspen-mdm-checkin"

// Checkin holds every key of the check-in messages we handle. Decoding into
// one struct reads the plist once whatever the message type; the
// per-type validation below says which keys matter.
type Checkin struct {
	MessageType string `plist:"MessageType"`
	UDID        string `plist:"UDID"`
	// EnrollmentID identifies User Enrollment (BYOD) devices instead of UDID.
	EnrollmentID     string `plist:"EnrollmentID"`
	UserID           string `plist:"UserID"`
	EnrollmentUserID string `plist:"EnrollmentUserID"`
	Topic            string `plist:"Topic"`

	// Authenticate: all optional in practice, some clients omit them.
	OSVersion    string `plist:"OSVersion"`
	BuildVersion string `plist:"BuildVersion"`
	ProductName  string `plist:"ProductName"`
	Model        string `plist:"Model"`
	ModelName    string `plist:"ModelName"`
	SerialNumber string `plist:"SerialNumber"`
	DeviceName   string `plist:"DeviceName"`

	// TokenUpdate.
	Token                 []byte `plist:"Token"`
	PushMagic             string `plist:"PushMagic"`
	UnlockToken           []byte `plist:"UnlockToken"`
	AwaitingConfiguration bool   `plist:"AwaitingConfiguration"`

	// SetBootstrapToken.
	BootstrapToken []byte `plist:"BootstrapToken"`

	// DeclarativeManagement.
	Endpoint string `plist:"Endpoint"`
	Data     []byte `plist:"Data"`
}

// DeviceID returns the enrollment id the message speaks for.
func (c *Checkin) DeviceID() string {
	if c.UDID != "" {
		return c.UDID
	}
	return c.EnrollmentID
}

// IsUserChannel reports whether the message belongs to a user channel,
// which Tidemark declines: OS updates are a device matter.
func (c *Checkin) IsUserChannel() bool {
	return c.UserID != "" || c.EnrollmentUserID != ""
}

// DecodeCheckin decodes and validates a check-in message.
func DecodeCheckin(raw []byte) (*Checkin, error) {
	var c Checkin
	if err := DecodePlist(raw, &c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Checkin) validate() error {
	missing := func(key string) error {
		return &DecodeError{Reason: fmt.Sprintf("%s without %s", c.MessageType, key)}
	}
	switch c.MessageType {
	case "":
		return &DecodeError{Reason: "missing MessageType"}
	case MsgAuthenticate, MsgCheckOut, MsgSetBootstrapToken, MsgGetBootstrapToken, MsgUserAuthenticate, MsgGetToken:
	case MsgTokenUpdate:
		if len(c.Token) == 0 {
			return missing("Token")
		}
		if c.PushMagic == "" {
			return missing("PushMagic")
		}
		if c.Topic == "" {
			return missing("Topic")
		}
	case MsgDeclarativeManagement:
		if c.Endpoint == "" {
			return missing("Endpoint")
		}
	default:
		return &DecodeError{Reason: fmt.Sprintf("unknown MessageType %q", truncateForError(c.MessageType))}
	}
	if c.DeviceID() == "" {
		return missing("UDID or EnrollmentID")
	}
	return nil
}

func truncateForError(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// PlatformFromProduct infers the platform family from a ProductName or
// model identifier such as "iPhone15,2", "iPad13,4" or "MacBookPro18,1".
func PlatformFromProduct(product string) string {
	switch {
	case strings.HasPrefix(product, "iPhone"), strings.HasPrefix(product, "iPod"):
		return "iOS"
	case strings.HasPrefix(product, "iPad"):
		return "iPadOS"
	case strings.HasPrefix(product, "AppleTV"):
		return "tvOS"
	case strings.HasPrefix(product, "RealityDevice"):
		return "visionOS"
	case strings.HasPrefix(product, "Mac"), strings.HasPrefix(product, "iMac"),
		strings.HasPrefix(product, "VirtualMac"), strings.HasPrefix(product, "Xserve"):
		return "macOS"
	}
	return ""
}
