// Package enrollprofile builds the .mobileconfig a device installs to enroll
// (a SCEP payload for its identity plus the MDM payload that uses it) and
// reads one back for the simulator.
package enrollprofile

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/micromdm/plist"
)

// Fixed profile values. AccessRights 8191 grants every right Apple defines
// (bits 0-12); SCEP Key Usage 5 is signing (1) + encryption (4).
const (
	accessRightsAll  = 8191
	scepKeyUsage     = 5
	scepKeySize      = 2048
	scepRetries      = 3
	scepRetryDelay   = 10
	defaultSubjectCN = "%HardwareUUID%"
	defaultOrgName   = "Tidemark"
	defaultID        = "com.tidemark.enroll"
	topicPrefix      = "com.apple.mgmt."
)

// serverCapabilities tells the device what this server supports: bootstrap
// token escrow (needed for updates on Apple silicon) and user channels.
var serverCapabilities = []string{"com.apple.mdm.bootstraptoken", "com.apple.mdm.per-user-connections"}

// Params describes one enrollment profile. The UUIDs are optional: missing
// ones are derived from the other fields, so equal Params give equal bytes.
type Params struct {
	PublicURL string // base URL devices reach, e.g. https://mdm.example.com
	Topic     string // APNs topic of the push certificate, com.apple.mgmt.External.<uuid>
	Challenge string // SCEP challenge password
	OrgName   string // shown to the user; default "Tidemark"

	Identifier      string // PayloadIdentifier of the profile; default "com.tidemark.enroll"
	SubjectCN       string // CN the device requests; default "%HardwareUUID%"
	ProfileUUID     string
	SCEPPayloadUUID string
	MDMPayloadUUID  string
}

// TopicForInstall returns the APNs MDM topic for a push certificate UID.
func TopicForInstall(uuid string) string { return topicPrefix + "External." + uuid }

var uuidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// Build returns the unsigned XML .mobileconfig for p.
func Build(p Params) ([]byte, error) {
	base, err := normalise(&p)
	if err != nil {
		return nil, err
	}
	doc := profile{
		PayloadContent: []any{
			newSCEPPayload(p, base),
			newMDMPayload(p, base),
		},
		PayloadDescription:  "Enrolls this device in " + p.OrgName + " device management.",
		PayloadDisplayName:  p.OrgName + " MDM enrollment",
		PayloadIdentifier:   p.Identifier,
		PayloadOrganization: p.OrgName,
		PayloadScope:        "System",
		PayloadType:         "Configuration",
		PayloadUUID:         p.ProfileUUID,
		PayloadVersion:      1,
	}
	out, err := plist.MarshalIndent(doc, "\t")
	if err != nil {
		return nil, fmt.Errorf("encode enrollment profile: %w", err)
	}
	return out, nil
}

// normalise validates p, fills defaults and derived UUIDs, and returns the
// base URL without a trailing slash.
func normalise(p *Params) (string, error) {
	base, err := checkPublicURL(p.PublicURL)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(p.Topic, topicPrefix) || len(p.Topic) == len(topicPrefix) {
		return "", fmt.Errorf("enrollment profile: topic %q is not an MDM push topic (%s...)", p.Topic, topicPrefix)
	}
	if p.Challenge == "" {
		return "", errors.New("enrollment profile: SCEP challenge is empty")
	}
	p.OrgName = orDefault(p.OrgName, defaultOrgName)
	p.Identifier = orDefault(p.Identifier, defaultID)
	p.SubjectCN = orDefault(p.SubjectCN, defaultSubjectCN)
	if p.ProfileUUID == "" {
		p.ProfileUUID = deriveUUID("profile", base, p.Topic, p.Challenge, p.OrgName, p.Identifier, p.SubjectCN)
	}
	p.SCEPPayloadUUID = orDefault(p.SCEPPayloadUUID, deriveUUID("scep", p.ProfileUUID))
	p.MDMPayloadUUID = orDefault(p.MDMPayloadUUID, deriveUUID("mdm", p.ProfileUUID))
	for _, u := range []string{p.ProfileUUID, p.SCEPPayloadUUID, p.MDMPayloadUUID} {
		if !uuidPattern.MatchString(u) {
			return "", fmt.Errorf("enrollment profile: %q is not a UUID", u)
		}
	}
	return base, nil
}

func checkPublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("enrollment profile: public URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("enrollment profile: public URL %q must be http(s)://host[/path] (devices require https outside tests)", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// deriveUUID makes a stable RFC 9562 version-8 UUID from length-prefixed
// parts, so different inputs cannot collide by concatenation.
func deriveUUID(parts ...string) string {
	h := sha256.New()
	for _, part := range parts {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}
