package ddm

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// EndpointKind is what a DeclarativeManagement check-in asks for.
type EndpointKind int

// The endpoints Apple defines.
const (
	EndpointTokens EndpointKind = iota + 1
	EndpointDeclarationItems
	EndpointDeclaration
	EndpointStatus
)

func (k EndpointKind) String() string {
	switch k {
	case EndpointTokens:
		return "tokens"
	case EndpointDeclarationItems:
		return "declaration-items"
	case EndpointDeclaration:
		return "declaration"
	case EndpointStatus:
		return "status"
	}
	return "unknown"
}

// Endpoint is a parsed Endpoint value. DeclType and Identifier are set only
// for EndpointDeclaration; Identifier is percent-decoded.
type Endpoint struct {
	Kind       EndpointKind
	DeclType   Kind
	Identifier string
}

// MaxEndpointLen bounds the Endpoint string.
const MaxEndpointLen = 512

// ParseEndpoint reads the Endpoint of a DeclarativeManagement check-in:
// "tokens", "declaration-items", "status" or
// "declaration/<activation|configuration|asset|management>/<identifier>".
// Anything else is refused with an *EndpointError: relative or absolute
// paths, URLs, empty segments, backslashes, control characters, and any
// identifier that after percent-decoding is not a valid identifier (so
// "%2e%2e" and "%2f" never reach storage).
func ParseEndpoint(s string) (Endpoint, error) {
	fail := func(reason string) (Endpoint, error) {
		return Endpoint{}, &EndpointError{Endpoint: s, Reason: reason}
	}
	if reason := endpointSyntaxProblem(s); reason != "" {
		return fail(reason)
	}
	switch s {
	case "tokens":
		return Endpoint{Kind: EndpointTokens}, nil
	case "declaration-items":
		return Endpoint{Kind: EndpointDeclarationItems}, nil
	case "status":
		return Endpoint{Kind: EndpointStatus}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] != "declaration" {
		return fail("not tokens, declaration-items, status or declaration/<class>/<identifier>")
	}
	kind := Kind(parts[1])
	switch kind {
	case KindActivation, KindConfiguration, KindAsset, KindManagement:
	default:
		return fail("declaration class must be activation, configuration, asset or management")
	}
	id, err := url.PathUnescape(parts[2])
	if err != nil {
		return fail("bad percent-encoding in identifier")
	}
	if p := identifierProblem(id); p != "" {
		return fail("identifier " + p)
	}
	return Endpoint{Kind: EndpointDeclaration, DeclType: kind, Identifier: id}, nil
}

// endpointSyntaxProblem rejects what is never part of a valid endpoint,
// before any decoding.
func endpointSyntaxProblem(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxEndpointLen:
		return "longer than 512 bytes"
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.Contains(s, ":"):
		return "must not be a URL"
	case strings.HasPrefix(s, "/"):
		return "must be relative, without a leading '/'"
	case strings.Contains(s, "\\"):
		return "contains a backslash"
	case strings.Contains(s, "//"):
		return "contains an empty segment"
	case strings.HasSuffix(s, "/"):
		return "ends with '/'"
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 {
			return "contains a control character"
		}
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "." || seg == ".." {
			return "contains a dot-segment"
		}
	}
	return ""
}
