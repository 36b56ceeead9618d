package mdm

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/micromdm/plist"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// CommandPayload is the request-specific part of an MDM command. Its
// plist-tagged fields become keys of the command dictionary next to
// RequestType.
type CommandPayload interface{ RequestType() string }

// Command is one MDM command as the server queues it.
type Command struct {
	UUID    string
	Payload CommandPayload
}

// ErrInvalidCommand is wrapped by every error about a malformed command.
var ErrInvalidCommand = errors.New("invalid MDM command")

// maxCommandUUID bounds admin-supplied identifiers; Apple uses 36-char UUIDs.
const maxCommandUUID = 64

// schemaValidator is implemented by payloads that check themselves against
// Apple's schema without knowing the device.
type schemaValidator interface{ Validate() error }

// Encode renders the command as an XML plist
// {Command: {RequestType, ...payload keys}, CommandUUID}. Keys are sorted by
// the encoder, so the same command always gives the same bytes. A payload
// that fails its own schema validation is not encoded.
func (c Command) Encode() ([]byte, error) {
	if err := checkCommandUUID(c.UUID); err != nil {
		return nil, err
	}
	if c.Payload == nil {
		return nil, fmt.Errorf("%w: no payload", ErrInvalidCommand)
	}
	rt := c.Payload.RequestType()
	if err := checkRequestType(rt); err != nil {
		return nil, err
	}
	if v, ok := c.Payload.(schemaValidator); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCommand, rt, err)
		}
	}
	fields, err := payloadFields(c.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCommand, rt, err)
	}
	fields["RequestType"] = rt
	doc := map[string]any{"Command": fields, "CommandUUID": c.UUID}
	return plist.MarshalIndent(doc, "\t")
}

// payloadFields turns the payload's tagged fields into a generic dict so
// RequestType can sit beside them; any struct payload works this way,
// including ones defined outside this package.
func payloadFields(p CommandPayload) (map[string]any, error) {
	b, err := plist.Marshal(p)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	if err := DecodePlist(b, &fields); err != nil {
		return nil, fmt.Errorf("payload is not a dictionary: %w", err)
	}
	if _, clash := fields["RequestType"]; clash {
		return nil, errors.New("payload must not set RequestType itself")
	}
	return fields, nil
}

// RawCommandInfo is what the server needs to know about an admin-supplied
// raw command before queueing it.
type RawCommandInfo struct{ UUID, RequestType string }

type rawCommandWire struct {
	CommandUUID *string `plist:"CommandUUID"`
	Command     *struct {
		RequestType *string `plist:"RequestType"`
	} `plist:"Command"`
}

// InspectRawCommand checks an admin-supplied command plist: a dict with a
// CommandUUID string and a Command dict holding a RequestType string.
func InspectRawCommand(raw []byte) (RawCommandInfo, error) {
	var w rawCommandWire
	if err := DecodePlist(raw, &w); err != nil {
		return RawCommandInfo{}, fmt.Errorf("%w: %w", ErrInvalidCommand, err)
	}
	if w.CommandUUID == nil {
		return RawCommandInfo{}, fmt.Errorf("%w: missing CommandUUID", ErrInvalidCommand)
	}
	if err := checkCommandUUID(*w.CommandUUID); err != nil {
		return RawCommandInfo{}, err
	}
	if w.Command == nil || w.Command.RequestType == nil {
		return RawCommandInfo{}, fmt.Errorf("%w: missing Command.RequestType", ErrInvalidCommand)
	}
	if err := checkRequestType(*w.Command.RequestType); err != nil {
		return RawCommandInfo{}, err
	}
	return RawCommandInfo{UUID: *w.CommandUUID, RequestType: *w.Command.RequestType}, nil
}

// checkCommandUUID keeps identifiers safe to store as keys and to log.
func checkCommandUUID(id string) error {
	if id == "" || len(id) > maxCommandUUID {
		return fmt.Errorf("%w: CommandUUID must be 1-%d characters", ErrInvalidCommand, maxCommandUUID)
	}
	for _, c := range id {
		if !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: CommandUUID may hold only letters, digits, '.', '_' and '-'", ErrInvalidCommand)
		}
	}
	return nil
}

// checkRequestType accepts Apple's request-type shape: letters and digits.
func checkRequestType(rt string) error {
	if rt == "" || len(rt) > 128 {
		return fmt.Errorf("%w: RequestType must be 1-128 characters", ErrInvalidCommand)
	}
	for _, c := range rt {
		if !isAlnum(c) {
			return fmt.Errorf("%w: RequestType %q may hold only letters and digits", ErrInvalidCommand, rt)
		}
	}
	return nil
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// NewCommandUUID returns a random (version 4) UUID in upper case, the form
// Apple's examples use.
func NewCommandUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Platforms as DeviceTarget names them. Apple's schema lists iPadOS under
// iOS, so both share the iOS rules.
const (
	PlatformMacOS  = "macOS"
	PlatformIOS    = "iOS"
	PlatformIPadOS = "iPadOS"
	PlatformTVOS   = "tvOS"
)

// DeviceTarget is what ValidateFor needs to know about the receiving device.
// A zero OSVersion means "unknown": version gates are then not applied.
type DeviceTarget struct {
	Platform              string
	OSVersion             osversion.Version
	Supervised            bool
	EnforcedByDeclaration bool // a DDM software-update enforcement is active
}

// CommandRefusedError says why a command must not be sent to a device.
type CommandRefusedError struct {
	RequestType string
	Reason      string
}

func (e *CommandRefusedError) Error() string {
	return "mdm: " + e.RequestType + " refused: " + e.Reason
}

// platformRule is one supportedOS entry of a command in Apple's schema.
type platformRule struct {
	introduced osversion.Version
	supervised bool
}

// commandRules are a command's device requirements from Apple's schema.
type commandRules struct {
	platforms map[string]platformRule
	// removedInMajor is the first OS major that no longer has the command.
	removedInMajor int
}

type ruledPayload interface{ rules() commandRules }

// deviceValidator is implemented by payloads with per-key device rules.
type deviceValidator interface {
	validateFor(platform string, d DeviceTarget) string
}

// ValidateFor checks p against Apple's schema and against what the device
// can accept. It returns a *CommandRefusedError, or nil. Payloads this
// package does not know are only checked for schema validity if they can be.
func ValidateFor(p CommandPayload, d DeviceTarget) error {
	if p == nil {
		return &CommandRefusedError{Reason: "no payload"}
	}
	refuse := func(format string, args ...any) error {
		return &CommandRefusedError{RequestType: p.RequestType(), Reason: fmt.Sprintf(format, args...)}
	}
	if v, ok := p.(schemaValidator); ok {
		if err := v.Validate(); err != nil {
			return refuse("%v", err)
		}
	}
	r, ok := p.(ruledPayload)
	if !ok {
		return nil
	}
	platform, err := schemaPlatform(d.Platform)
	if err != nil {
		return refuse("%v", err)
	}
	rules := r.rules()
	rule, ok := rules.platforms[platform]
	if !ok {
		return refuse("not supported on %s", d.Platform)
	}
	known := !d.OSVersion.IsZero()
	if known && d.OSVersion.Less(rule.introduced) {
		return refuse("needs %s %s or later, device runs %s", d.Platform, rule.introduced, d.OSVersion)
	}
	if known && rules.removedInMajor > 0 && d.OSVersion.Major >= rules.removedInMajor {
		return refuse("removed in %s %d; use declarative software update instead", d.Platform, rules.removedInMajor)
	}
	if rule.supervised && !d.Supervised {
		return refuse("requires a supervised device")
	}
	if dv, ok := p.(deviceValidator); ok {
		if reason := dv.validateFor(platform, d); reason != "" {
			return refuse("%s", reason)
		}
	}
	return nil
}

func schemaPlatform(p string) (string, error) {
	switch p {
	case PlatformMacOS, PlatformIOS, PlatformTVOS:
		return p, nil
	case PlatformIPadOS:
		return PlatformIOS, nil
	}
	return "", fmt.Errorf("unknown platform %q", p)
}

// ResponseHeader is the part every command response shares. Typed
// responses embed it so they marshal back to a complete device plist.
type ResponseHeader struct {
	UDID         string           `plist:"UDID,omitempty"`
	EnrollmentID string           `plist:"EnrollmentID,omitempty"`
	UserID       string           `plist:"UserID,omitempty"`
	RequestType  string           `plist:"RequestType,omitempty"` // some macOS versions echo it
	CommandUUID  string           `plist:"CommandUUID"`
	Status       string           `plist:"Status"`
	ErrorChain   []ErrorChainItem `plist:"ErrorChain,omitempty"`
}

func (h *ResponseHeader) header() *ResponseHeader { return h }

// decodeResponse decodes raw into wire (which embeds ResponseHeader) and
// checks the header. hasPayload reports whether the response's required
// payload key was present; it must be when the device acknowledged.
func decodeResponse(raw []byte, requestType string, wire interface{ header() *ResponseHeader }, hasPayload func() bool) error {
	if err := DecodePlist(raw, wire); err != nil {
		return fmt.Errorf("%s response: %w", requestType, err)
	}
	h := wire.header()
	fail := func(format string, args ...any) error {
		return &DecodeError{Reason: requestType + " response: " + fmt.Sprintf(format, args...)}
	}
	switch h.Status {
	case StatusAcknowledged:
		if !hasPayload() {
			return fail("Acknowledged without its result")
		}
	case StatusError, StatusCommandFormatError, StatusNotNow:
	case "":
		return fail("missing Status")
	default:
		return fail("unexpected Status %q", h.Status)
	}
	if h.CommandUUID == "" {
		return fail("missing CommandUUID")
	}
	if h.RequestType != "" && h.RequestType != requestType {
		return fail("is for RequestType %q", h.RequestType)
	}
	return nil
}
