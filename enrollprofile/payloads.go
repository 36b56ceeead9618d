package enrollprofile

// Field order does not matter: the plist encoder sorts dictionary keys.

type profile struct {
	PayloadContent      []any
	PayloadDescription  string
	PayloadDisplayName  string
	PayloadIdentifier   string
	PayloadOrganization string
	PayloadScope        string
	PayloadType         string
	PayloadUUID         string
	PayloadVersion      int
}

type scepPayload struct {
	PayloadContent     scepContent
	PayloadDescription string
	PayloadDisplayName string
	PayloadIdentifier  string
	PayloadType        string
	PayloadUUID        string
	PayloadVersion     int
}

type scepContent struct {
	URL        string `plist:"URL"`
	Name       string `plist:"Name"`
	Subject    [][][]string
	Challenge  string
	Keysize    int
	KeyType    string `plist:"Key Type"`
	KeyUsage   int    `plist:"Key Usage"`
	Retries    int
	RetryDelay int
}

type mdmPayload struct {
	AccessRights            int
	CheckInURL              string
	CheckOutWhenRemoved     bool
	IdentityCertificateUUID string
	PayloadDescription      string
	PayloadDisplayName      string
	PayloadIdentifier       string
	PayloadType             string
	PayloadUUID             string
	PayloadVersion          int
	ServerCapabilities      []string
	ServerURL               string
	SignMessage             bool
	Topic                   string
}

func newSCEPPayload(p Params, base string) scepPayload {
	return scepPayload{
		PayloadContent: scepContent{
			URL:  base + "/scep",
			Name: p.OrgName,
			// Apple's X.500 shape: a list of RDNs, each a list of [OID, value] pairs.
			Subject:    [][][]string{{{"CN", p.SubjectCN}}},
			Challenge:  p.Challenge,
			Keysize:    scepKeySize,
			KeyType:    "RSA",
			KeyUsage:   scepKeyUsage,
			Retries:    scepRetries,
			RetryDelay: scepRetryDelay,
		},
		PayloadDescription: "Requests the management identity certificate of this device.",
		PayloadDisplayName: p.OrgName + " device identity",
		PayloadIdentifier:  p.Identifier + ".scep",
		PayloadType:        "com.apple.security.scep",
		PayloadUUID:        p.SCEPPayloadUUID,
		PayloadVersion:     1,
	}
}

func newMDMPayload(p Params, base string) mdmPayload {
	return mdmPayload{
		AccessRights:            accessRightsAll,
		CheckInURL:              base + "/mdm/checkin",
		CheckOutWhenRemoved:     true,
		IdentityCertificateUUID: p.SCEPPayloadUUID,
		PayloadDescription:      "Lets " + p.OrgName + " manage this device.",
		PayloadDisplayName:      p.OrgName + " device management",
		PayloadIdentifier:       p.Identifier + ".mdm",
		PayloadType:             "com.apple.mdm",
		PayloadUUID:             p.MDMPayloadUUID,
		PayloadVersion:          1,
		ServerCapabilities:      serverCapabilities,
		ServerURL:               base + "/mdm",
		SignMessage:             true,
		Topic:                   p.Topic,
	}
}
