package ddm

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEndpointAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want Endpoint
	}{
		{"tokens", Endpoint{Kind: EndpointTokens}},
		{"declaration-items", Endpoint{Kind: EndpointDeclarationItems}},
		{"status", Endpoint{Kind: EndpointStatus}},
		{"declaration/configuration/tidemark.enforcement.macos-26.1", Endpoint{EndpointDeclaration, KindConfiguration, "tidemark.enforcement.macos-26.1"}},
		{"declaration/activation/A_b-9", Endpoint{EndpointDeclaration, KindActivation, "A_b-9"}},
		{"declaration/asset/x", Endpoint{EndpointDeclaration, KindAsset, "x"}},
		{"declaration/management/x.y", Endpoint{EndpointDeclaration, KindManagement, "x.y"}},
		{"declaration/configuration/%41bc", Endpoint{EndpointDeclaration, KindConfiguration, "Abc"}},
		{"declaration/configuration/" + strings.Repeat("a", 255), Endpoint{EndpointDeclaration, KindConfiguration, strings.Repeat("a", 255)}},
	}
	for _, tt := range tests {
		got, err := ParseEndpoint(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseEndpointRefuses(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"Tokens", "not tokens"},
		{"tokens/", "ends with '/'"},
		{"/tokens", "leading '/'"},
		{"status?x=1", "not tokens"},
		{"declaration", "not tokens"},
		{"declaration/configuration", "not tokens"},
		{"declaration/configuration/", "ends with '/'"},
		{"declaration/configuration/a/b", "not tokens"},
		{"declaration/profile/a", "class must be"},
		{"declaration//a", "empty segment"},
		{"declaration/configuration//a", "empty segment"},
		{"../x", "dot-segment"},
		{"declaration/configuration/..", "dot-segment"},
		{"declaration/configuration/.", "dot-segment"},
		{"declaration/../tokens", "dot-segment"},
		{"//host/x", "leading '/'"},
		{"https://evil.example/declaration/configuration/a", "URL"},
		{"declaration/configuration/%2e%2e", "must not start with '.'"},
		{"declaration/configuration/%2E%2E", "must not start with '.'"},
		{"declaration/configuration/%2e", "must not start with '.'"},
		{"declaration/configuration/a%2fb", "contains '/'"},
		{"declaration/configuration/a%2Fb", "contains '/'"},
		{"declaration/configuration/a%5cb", `contains '\\'`},
		{"declaration/configuration/%252e%252e", "contains '%'"},
		{"declaration/configuration/a%zz", "percent-encoding"},
		{"declaration/configuration/a%00", "contains '\\x00'"},
		{`declaration\configuration\a`, "backslash"},
		{"declaration/configuration/a\x00", "control character"},
		{"declaration/configuration/a\nb", "control character"},
		{"declaration/configuration/a\u0085", "control character"},
		{"declaration/configuration/a b", "contains ' '"},
		{"declaration/configuration/\xff", "UTF-8"},
		{"declaration/configuration/" + strings.Repeat("a", 256), "longer than 255"},
		{"declaration/configuration/" + strings.Repeat("a", 600), "longer than 512"},
	}
	for _, tt := range tests {
		_, err := ParseEndpoint(tt.in)
		var ee *EndpointError
		if !errors.As(err, &ee) {
			t.Errorf("ParseEndpoint(%q) = %v, want *EndpointError", tt.in, err)
			continue
		}
		if !strings.Contains(ee.Reason, tt.reason) {
			t.Errorf("ParseEndpoint(%q) reason %q, want it to contain %q", tt.in, ee.Reason, tt.reason)
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseEndpoint(%q) error does not match ErrMalformed", tt.in)
		}
		if len(err.Error()) > 300 {
			t.Errorf("error message too long: %d bytes", len(err.Error()))
		}
	}
}

func TestEndpointKindString(t *testing.T) {
	for k, want := range map[EndpointKind]string{EndpointTokens: "tokens", EndpointDeclarationItems: "declaration-items", EndpointDeclaration: "declaration", EndpointStatus: "status", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q", k, k.String())
		}
	}
}
