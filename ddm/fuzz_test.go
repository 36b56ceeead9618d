package ddm

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

func FuzzParseStatusReport(f *testing.F) {
	for _, rel := range statusFixtures {
		f.Add(golden.Read(f, golden.Path(f, "ddm/"+rel)))
	}
	f.Add([]byte(`{"StatusItems":{"a.b":{"c":[1,{"d":null}]}},"Errors":[{"StatusItem":"x","Reasons":[{"Code":"c","Details":{"k":1e400}}]}]}`))
	f.Add([]byte(`{"StatusItems":{"softwareupdate":{"failure-reason":{"count":-1e20}}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := ParseStatusReport(raw)
		if err != nil {
			if r != nil {
				t.Fatal("report returned with an error")
			}
			return
		}
		if len(r.Problems) > MaxProblems+1 || len(r.Errors) > MaxStatusErrors {
			t.Fatalf("caps exceeded: %d problems, %d errors", len(r.Problems), len(r.Errors))
		}
		var s DeviceStatus
		s.Merge(r, time.Unix(0, 0))
		if _, err := json.Marshal(&s); err != nil {
			t.Fatalf("DeviceStatus does not encode: %v", err)
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"tokens", "declaration-items", "status", "declaration/configuration/a.b",
		"declaration/asset/%41", "../x", "//host/x", "declaration/configuration/%2e%2e", "declaration/activation/a%2Fb",
		"https://x/y", `declaration\asset\x`, "declaration/management/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEndpoint(s)
		if err != nil {
			return
		}
		if e.Kind != EndpointDeclaration {
			if s != e.Kind.String() {
				t.Fatalf("%q parsed as %v", s, e.Kind)
			}
			return
		}
		if p := identifierProblem(e.Identifier); p != "" || strings.ContainsAny(e.Identifier, "/\\%") || strings.HasPrefix(e.Identifier, ".") {
			t.Fatalf("%q gave unsafe identifier %q", s, e.Identifier)
		}
		again, err := ParseEndpoint("declaration/" + string(e.DeclType) + "/" + e.Identifier)
		if err != nil || again != e {
			t.Fatalf("%q: re-parse of %+v gave %+v, %v", s, e, again, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, d := range fixtureSet(f) {
		raw, err := Render(d)
		must(f, err)
		f.Add(raw)
	}
	f.Add([]byte(`{"Type":"com.apple.configuration.softwareupdate.settings","Identifier":"x","Payload":{"Beta":{"RequireProgram":{}},"Deferrals":{"MajorPeriodInDays":1e3}}}`))
	f.Add([]byte(`{"Type":"com.apple.activation.simple","Identifier":"a","Payload":{"StandardConfigurations":[null,1,"b"]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Parse(raw)
		if err != nil {
			return
		}
		_ = Validate(d, func(string) bool { return false })
		_ = ValidateForPlatform(d, "iOS")
		rendered, err := Render(d)
		if err != nil {
			t.Fatalf("parsed declaration does not render: %v", err)
		}
		back, err := Parse(rendered)
		if err != nil {
			t.Fatalf("rendered declaration does not parse: %v\n%s", err, rendered)
		}
		if ServerToken(back) != ServerToken(d) || back.ServerToken != ServerToken(d) {
			t.Fatalf("token not stable through Render: %s", rendered)
		}
	})
}
