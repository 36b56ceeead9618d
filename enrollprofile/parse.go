package enrollprofile

import (
	"errors"
	"fmt"

	"github.com/smallstep/pkcs7"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// SimEnrollment is what a simulated device needs from a profile.
type SimEnrollment struct {
	SCEPURL    string
	Challenge  string
	SubjectCN  string // may hold a variable such as %HardwareUUID%
	KeySize    int
	ServerURL  string
	CheckInURL string
	Topic      string
}

// ErrNotEnrollmentProfile is returned when the profile lacks the SCEP or MDM
// payload, or they do not refer to each other.
var ErrNotEnrollmentProfile = errors.New("not an enrollment profile")

type parsedProfile struct {
	PayloadType    string
	PayloadContent []parsedPayload
}

// parsedPayload holds the keys of both payload types we read.
type parsedPayload struct {
	PayloadType             string
	PayloadUUID             string
	PayloadContent          *parsedSCEP
	ServerURL               string
	CheckInURL              string
	Topic                   string
	IdentityCertificateUUID string
}

type parsedSCEP struct {
	URL       string `plist:"URL"`
	Challenge string
	Keysize   int
	Subject   [][][]string
}

// ParseForSim reads an enrollment profile (XML, or CMS-signed XML) the way
// a device would, for the simulator.
func ParseForSim(profileData []byte) (SimEnrollment, error) {
	data, err := unwrapSigned(profileData)
	if err != nil {
		return SimEnrollment{}, err
	}
	var p parsedProfile
	if err := mdm.DecodePlist(data, &p); err != nil {
		return SimEnrollment{}, fmt.Errorf("enrollment profile: %w", err)
	}
	if p.PayloadType != "Configuration" {
		return SimEnrollment{}, fmt.Errorf("%w: top-level PayloadType %q", ErrNotEnrollmentProfile, p.PayloadType)
	}
	scep, mdmPayload, err := findPayloads(p.PayloadContent)
	if err != nil {
		return SimEnrollment{}, err
	}
	if mdmPayload.IdentityCertificateUUID != scep.PayloadUUID {
		return SimEnrollment{}, fmt.Errorf("%w: MDM identity %q is not the SCEP payload %q",
			ErrNotEnrollmentProfile, mdmPayload.IdentityCertificateUUID, scep.PayloadUUID)
	}
	return SimEnrollment{
		SCEPURL:    scep.PayloadContent.URL,
		Challenge:  scep.PayloadContent.Challenge,
		SubjectCN:  subjectCN(scep.PayloadContent.Subject),
		KeySize:    scep.PayloadContent.Keysize,
		ServerURL:  mdmPayload.ServerURL,
		CheckInURL: mdmPayload.CheckInURL,
		Topic:      mdmPayload.Topic,
	}, nil
}

// unwrapSigned returns the XML inside a CMS-signed profile, or data itself.
// The signature is not checked: the simulator trusts the server it talks to.
func unwrapSigned(data []byte) ([]byte, error) {
	if len(data) == 0 || data[0] != 0x30 { // DER SEQUENCE
		return data, nil
	}
	p7, err := pkcs7.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("enrollment profile: signed container: %w", err)
	}
	return p7.Content, nil
}

func findPayloads(payloads []parsedPayload) (scep, mdmPayload *parsedPayload, err error) {
	for i := range payloads {
		pl := &payloads[i]
		switch pl.PayloadType {
		case "com.apple.security.scep":
			if scep != nil {
				return nil, nil, fmt.Errorf("%w: more than one SCEP payload", ErrNotEnrollmentProfile)
			}
			scep = pl
		case "com.apple.mdm":
			if mdmPayload != nil {
				return nil, nil, fmt.Errorf("%w: more than one MDM payload", ErrNotEnrollmentProfile)
			}
			mdmPayload = pl
		}
	}
	if scep == nil || scep.PayloadContent == nil || scep.PayloadContent.URL == "" {
		return nil, nil, fmt.Errorf("%w: no SCEP payload with a URL", ErrNotEnrollmentProfile)
	}
	if mdmPayload == nil || mdmPayload.ServerURL == "" || mdmPayload.Topic == "" {
		return nil, nil, fmt.Errorf("%w: no MDM payload with ServerURL and Topic", ErrNotEnrollmentProfile)
	}
	return scep, mdmPayload, nil
}

// subjectCN returns the first CN value of an Apple X.500 subject array.
func subjectCN(subject [][][]string) string {
	for _, rdn := range subject {
		for _, pair := range rdn {
			if len(pair) == 2 && pair[0] == "CN" {
				return pair[1]
			}
		}
	}
	return ""
}
