package ddm

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

var lastModified = time.Date(2026, 11, 2, 9, 30, 15, 123456789, time.FixedZone("CET", 3600))

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}

func TestTokensGolden(t *testing.T) {
	got := marshal(t, Tokens(fixtureSet(t), lastModified))
	golden.Assert(t, golden.Path(t, "ddm/tokens.json"), got)
	if !strings.Contains(string(got), `"Timestamp":"2026-11-02T08:30:15Z"`) {
		t.Errorf("timestamp not in UTC whole seconds: %s", got)
	}
}

func TestDeclarationItemsGolden(t *testing.T) {
	golden.Assert(t, golden.Path(t, "ddm/declaration-items.json"), marshal(t, DeclarationItems(fixtureSet(t))))
	golden.Assert(t, golden.Path(t, "ddm/declaration-items-empty.json"), marshal(t, DeclarationItems(nil)))
}

func TestDeclarationItemsAgreeWithRender(t *testing.T) {
	set := fixtureSet(t)
	items := DeclarationItems(set)
	tokens := map[string]string{}
	for _, list := range [][]DeclarationItem{items.Declarations.Activations, items.Declarations.Configurations, items.Declarations.Assets, items.Declarations.Management} {
		for i, it := range list {
			tokens[it.Identifier] = it.ServerToken
			if i > 0 && list[i-1].Identifier >= it.Identifier {
				t.Errorf("not sorted by identifier: %v", list)
			}
		}
	}
	for _, d := range set {
		raw, err := Render(d)
		must(t, err)
		back, err := Parse(raw)
		must(t, err)
		if tokens[d.Identifier] != back.ServerToken {
			t.Errorf("%s: manifest token %q, rendered %q", d.Identifier, tokens[d.Identifier], back.ServerToken)
		}
	}
	if items.DeclarationsToken != DeclarationsToken(set) {
		t.Error("manifest and tokens endpoint disagree on DeclarationsToken")
	}
}

func TestDeclarationsTokenSkipsUnservable(t *testing.T) {
	set := fixtureSet(t)
	bad := append(append([]*Declaration{}, set...), nil,
		&Declaration{Type: "org.example.x", Identifier: "z", Payload: json.RawMessage(`{}`)})
	if DeclarationsToken(bad) != DeclarationsToken(set) {
		t.Error("an unservable declaration changed the token")
	}
}

// TestTokensOrderIndependent: the same set in any order gives the same
// tokens and manifest.
func TestTokensOrderIndependent(t *testing.T) {
	set := fixtureSet(t)
	wantToken := DeclarationsToken(set)
	wantItems := string(marshal(t, DeclarationItems(set)))
	rng := rand.New(rand.NewSource(20261102))
	for range 500 {
		perm := append([]*Declaration(nil), set...)
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		if got := DeclarationsToken(perm); got != wantToken {
			t.Fatalf("token %s for order %v, want %s", got, ids(perm), wantToken)
		}
		if got := string(marshal(t, DeclarationItems(perm))); got != wantItems {
			t.Fatalf("manifest differs for order %v", ids(perm))
		}
	}
}

// TestTokensChangeWithContent: any payload change (including one nested
// value), a new identifier, a type change, adding or removing a declaration
// changes the tokens; key order and spacing do not.
func TestTokensChangeWithContent(t *testing.T) {
	base := fixtureSet(t)
	baseToken := DeclarationsToken(base)
	mutations := map[string]func(ds []*Declaration){
		"payload value": func(ds []*Declaration) {
			ds[0].Payload = json.RawMessage(strings.Replace(string(ds[0].Payload), "26.1", "26.2", 1))
		},
		"nested value": func(ds []*Declaration) {
			ds[1].Payload = json.RawMessage(strings.Replace(string(ds[1].Payload), `"MinorPeriodInDays":7`, `"MinorPeriodInDays":8`, 1))
		},
		"key added": func(ds []*Declaration) {
			ds[4].Payload = json.RawMessage(`{"Name":"Example & Co","Email":"it@example.com","URL":"x"}`)
		},
		"identifier": func(ds []*Declaration) { ds[4].Identifier = "tidemark.org2" },
		"type":       func(ds []*Declaration) { ds[4].Type = "com.apple.management.properties" },
		"array order": func(ds []*Declaration) {
			ds[3].Payload = json.RawMessage(`{"StandardConfigurations":["tidemark.settings.default","tidemark.enforcement.macos-26.1","tidemark.status-subscriptions"]}`)
		},
	}
	for name, mutate := range mutations {
		ds := cloneSet(base)
		before := serverTokensOf(ds)
		mutate(ds)
		if DeclarationsToken(ds) == baseToken {
			t.Errorf("%s: DeclarationsToken unchanged", name)
		}
		changed := 0
		for i, tok := range serverTokensOf(ds) {
			if tok != before[i] {
				changed++
			}
		}
		if changed != 1 {
			t.Errorf("%s: %d server tokens changed, want exactly 1", name, changed)
		}
	}
	if DeclarationsToken(base[:len(base)-1]) == baseToken {
		t.Error("removing a declaration left the token unchanged")
	}
	if DeclarationsToken(nil) == baseToken || DeclarationsToken(nil) == "" {
		t.Error("empty set token")
	}
}

func TestServerTokenIgnoresFormatting(t *testing.T) {
	a := &Declaration{Type: "com.apple.configuration.x", Identifier: "i", Payload: json.RawMessage(`{"b":[1,2.50,{"y":1e2,"x":-0}],"a":"\u0026"}`)}
	b := &Declaration{Type: "com.apple.configuration.x", Identifier: "i", Payload: json.RawMessage("{ \"a\" : \"&\",\n \"b\": [1.0, 2.5, {\"x\":0, \"y\":100}] }")}
	if ServerToken(a) != ServerToken(b) || ServerToken(a) == "" {
		t.Errorf("tokens differ: %s %s", ServerToken(a), ServerToken(b))
	}
	c := &Declaration{Type: "com.apple.configuration.x", Identifier: "i", Payload: json.RawMessage(`{"a":"&","b":[1,2.5,{"x":0,"y":101}]}`)}
	if ServerToken(a) == ServerToken(c) {
		t.Error("different payloads, same token")
	}
	broken := &Declaration{Type: "com.apple.configuration.x", Identifier: "i", Payload: json.RawMessage(`{`)}
	if ServerToken(broken) != "" {
		t.Error("broken payload has a token")
	}
}

// serverTokensOf lists the server tokens of ds, for comparisons.
func serverTokensOf(ds []*Declaration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = ServerToken(d)
	}
	return out
}

func cloneSet(ds []*Declaration) []*Declaration {
	out := make([]*Declaration, len(ds))
	for i, d := range ds {
		c := *d
		c.Payload = append(json.RawMessage(nil), d.Payload...)
		out[i] = &c
	}
	return out
}

func ids(ds []*Declaration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Identifier
	}
	return out
}
