package ddm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Declaration types this package knows in detail; any other type that passes
// the type check is kept as generic JSON.
const (
	TypeEnforcementSpecific    = "com.apple.configuration.softwareupdate.enforcement.specific"
	TypeSoftwareUpdateSettings = "com.apple.configuration.softwareupdate.settings"
	TypeStatusSubscriptions    = "com.apple.configuration.management.status-subscriptions"
	TypeActivationSimple       = "com.apple.activation.simple"
)

// Kind is a declaration's class, the middle word of its type and of its
// declaration endpoint.
type Kind string

// The four classes of declaration Apple defines.
const (
	KindActivation    Kind = "activation"
	KindConfiguration Kind = "configuration"
	KindAsset         Kind = "asset"
	KindManagement    Kind = "management"
)

// Limits on names. Apple sets none; these keep identifiers safe inside an
// endpoint path and storage keys.
const (
	MaxIdentifierLen = 255
	maxTypeLen       = 128
)

// Declaration is one declaration as a device receives it. ServerToken is
// ignored when serving: Render and DeclarationItems always use the token
// computed from the content (see ServerToken), so the two never disagree.
type Declaration struct {
	Type        string          `json:"Type"`
	Identifier  string          `json:"Identifier"`
	ServerToken string          `json:"ServerToken,omitempty"`
	Payload     json.RawMessage `json:"Payload"`
}

// Kind returns the declaration's class from its type, or "" when the type
// does not look like com.apple.<class>.<name>.
func (d *Declaration) Kind() Kind {
	k, ok := kindOfType(d.Type)
	if !ok {
		return ""
	}
	return k
}

// Parse reads a declaration document. It checks the envelope only
// (well-formed JSON, an object with string Type/Identifier/ServerToken, an
// object Payload, no other keys); Validate checks the content.
func Parse(raw []byte) (*Declaration, error) {
	tree, err := decodeTree(raw)
	if err != nil {
		return nil, err
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: declaration must be a JSON object", ErrMalformed)
	}
	var errs ValidationErrors
	d := &Declaration{}
	d.Type = envelopeString(obj, "Type", &errs)
	d.Identifier = envelopeString(obj, "Identifier", &errs)
	d.ServerToken = envelopeString(obj, "ServerToken", &errs)
	if p, present := obj["Payload"]; !present {
		errs.add("Payload", "required key is missing")
	} else if _, isObj := p.(map[string]any); !isObj {
		errs.add("Payload", "must be an object, not "+jsonTypeName(p))
	} else if d.Payload, err = canonical(p); err != nil {
		errs.add("Payload", err.Error())
	}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "Type", "Identifier", "ServerToken", "Payload":
		default:
			errs.add(k, "unknown key")
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, errs)
	}
	return d, nil
}

// envelopeString reads an optional string key of the declaration envelope.
func envelopeString(obj map[string]any, key string, errs *ValidationErrors) string {
	v, present := obj[key]
	if !present {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		errs.add(key, "must be a string, not "+jsonTypeName(v))
	}
	return s
}

// Render returns the declaration document a device fetches: Type,
// Identifier, the computed ServerToken and the canonical Payload.
func Render(d *Declaration) ([]byte, error) {
	if d == nil {
		return nil, errors.New("ddm: render: no declaration")
	}
	payload, err := canonicalRaw(d.Payload)
	if err != nil {
		return nil, fmt.Errorf("ddm: render %s: %w", quoteShort(d.Identifier), err)
	}
	token := serverToken(d.Type, d.Identifier, payload)
	// Fixed key order, as Apple documents it; the payload is canonical.
	var buf bytes.Buffer
	buf.WriteString(`{"Type":`)
	writeString(&buf, d.Type)
	buf.WriteString(`,"Identifier":`)
	writeString(&buf, d.Identifier)
	buf.WriteString(`,"ServerToken":`)
	writeString(&buf, token)
	buf.WriteString(`,"Payload":`)
	buf.Write(payload)
	buf.WriteString("}")
	return buf.Bytes(), nil
}

// DecodePayload decodes the payload into v, refusing unknown keys.
func (d *Declaration) DecodePayload(v any) error {
	dec := json.NewDecoder(bytes.NewReader(d.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("ddm: payload of %s: %w", quoteShort(d.Identifier), err)
	}
	return nil
}

// kindOfType splits "com.apple.<class>.<name>" and checks the charset: dot
// separated words of letters, digits and hyphens.
func kindOfType(t string) (Kind, bool) {
	if len(t) > maxTypeLen || !strings.HasPrefix(t, "com.apple.") {
		return "", false
	}
	parts := strings.Split(t[len("com.apple."):], ".")
	if len(parts) < 2 {
		return "", false
	}
	for _, p := range parts {
		if !isTypeWord(p) {
			return "", false
		}
	}
	switch k := Kind(parts[0]); k {
	case KindActivation, KindConfiguration, KindAsset, KindManagement:
		return k, true
	}
	return "", false
}

func isTypeWord(w string) bool {
	if w == "" || w[0] == '-' || w[len(w)-1] == '-' {
		return false
	}
	for _, c := range w {
		if !(isAlnum(c) || c == '-') {
			return false
		}
	}
	return true
}

// identifierProblem returns why id is not a usable declaration identifier,
// or "". Allowed: letters, digits, '.', '-', '_'; not starting with '.'
// (so no dot-segment can ever be an identifier); at most MaxIdentifierLen.
func identifierProblem(id string) string {
	switch {
	case id == "":
		return "must not be empty"
	case len(id) > MaxIdentifierLen:
		return fmt.Sprintf("longer than %d bytes", MaxIdentifierLen)
	case id[0] == '.':
		return "must not start with '.'"
	}
	for _, c := range id {
		if !(isAlnum(c) || c == '.' || c == '-' || c == '_') {
			return fmt.Sprintf("contains %q; allowed are letters, digits, '.', '-' and '_'", c)
		}
	}
	return ""
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
