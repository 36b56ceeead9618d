package ddm

import (
	"errors"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

func TestRenderGolden(t *testing.T) {
	names := []string{"enforcement", "settings", "status-subscriptions", "activation", "organization-info", "asset"}
	for i, d := range fixtureSet(t) {
		t.Run(names[i], func(t *testing.T) {
			got, err := Render(d)
			must(t, err)
			golden.Assert(t, golden.Path(t, "ddm/declarations/"+names[i]+".json"), got)
			// What a device receives must parse back to the same declaration.
			back, err := Parse(got)
			must(t, err)
			if back.ServerToken != ServerToken(d) || back.Identifier != d.Identifier || back.Type != d.Type {
				t.Errorf("round trip: got %+v", back)
			}
			if ServerToken(back) != ServerToken(d) {
				t.Error("server token changed through Render and Parse")
			}
		})
	}
}

func TestRenderUsesComputedServerToken(t *testing.T) {
	d := fixtureSet(t)[0]
	d.ServerToken = "stale"
	got, err := Render(d)
	must(t, err)
	if !strings.Contains(string(got), `"ServerToken":"`+ServerToken(d)+`"`) || strings.Contains(string(got), "stale") {
		t.Errorf("Render = %s", got)
	}
}

func TestRenderRefusesBrokenPayload(t *testing.T) {
	d := &Declaration{Type: TypeActivationSimple, Identifier: "a", Payload: []byte(`{"x":`)}
	if _, err := Render(d); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  string // substring; "" means success
	}{
		{"full", `{"Type":"com.apple.activation.simple","Identifier":"a","ServerToken":"t","Payload":{"StandardConfigurations":["b"]}}`, ""},
		{"no token", `{"Type":"com.apple.activation.simple","Identifier":"a","Payload":{}}`, ""},
		{"not json", `{"Type":`, "malformed"},
		{"trailing data", `{"Type":"x","Payload":{}} {}`, "data after"},
		{"array root", `[]`, "must be a JSON object"},
		{"duplicate key", `{"Type":"a","Type":"b","Payload":{}}`, `duplicate key "Type"`},
		{"nested duplicate", `{"Type":"a","Payload":{"x":{"y":1,"y":2}}}`, `duplicate key "y"`},
		{"unknown key", `{"Type":"a","Identifier":"b","Payload":{},"Extra":1}`, "Extra: unknown key"},
		{"wrong types", `{"Type":1,"Identifier":true,"Payload":{}}`, "Type: must be a string, not a number; Identifier: must be a string, not a boolean"},
		{"payload missing", `{"Type":"a","Identifier":"b"}`, "Payload: required key is missing"},
		{"payload array", `{"Type":"a","Identifier":"b","Payload":[]}`, "Payload: must be an object, not an array"},
		{"too deep", `{"Payload":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "nested deeper"},
		{"huge number", `{"Type":"a","Identifier":"b","Payload":{"n":1e999}}`, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil || d == nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v does not match ErrMalformed", err)
			}
		})
	}
}

func TestConstructorsValidate(t *testing.T) {
	if _, err := NewEnforcement("x", EnforcementSpecific{TargetOSVersion: "26.1"}); err == nil {
		t.Error("NewEnforcement accepted a missing TargetLocalDateTime")
	}
	if _, err := NewSettings("bad id/", SoftwareUpdateSettings{}); err == nil {
		t.Error("NewSettings accepted a bad identifier")
	}
	if _, err := NewStatusSubscriptions("s", nil); err == nil {
		t.Error("NewStatusSubscriptions accepted no items")
	}
	if _, err := NewActivation("a", nil); err == nil {
		t.Error("NewActivation accepted no configurations")
	}
}

func TestTypedPayloadAccessors(t *testing.T) {
	set := fixtureSet(t)
	e, err := set[0].Enforcement()
	must(t, err)
	if e != fixtureEnforcement() {
		t.Errorf("Enforcement() = %+v", e)
	}
	s, err := set[1].Settings()
	must(t, err)
	if *s.Deferrals.MajorPeriodInDays != 30 || s.AutomaticActions.Download != "AlwaysOn" {
		t.Errorf("Settings() = %+v", s)
	}
	if _, err := set[1].Enforcement(); err == nil {
		t.Error("Enforcement() accepted a settings declaration")
	}
	if _, err := set[0].Settings(); err == nil {
		t.Error("Settings() accepted an enforcement declaration")
	}
}

func TestDefaultStatusItemsAreSubscribable(t *testing.T) {
	items := DefaultStatusItems()
	if len(items) != 18 {
		t.Errorf("got %d items: %v", len(items), items)
	}
	for _, name := range items {
		if _, ok := itemDecoders[name]; !ok {
			t.Errorf("%s is subscribed but the status parser does not decode it", name)
		}
	}
}

func TestKind(t *testing.T) {
	tests := map[string]Kind{
		TypeActivationSimple:                                  KindActivation,
		TypeEnforcementSpecific:                               KindConfiguration,
		"com.apple.asset.credential.acme":                     KindAsset,
		"com.apple.management.properties":                     KindManagement,
		"com.apple.configuration":                             "",
		"com.apple.profile.x":                                 "",
		"org.example.configuration.x":                         "",
		"com.apple.configuration..x":                          "",
		"com.apple.configuration.x/y":                         "",
		"com.apple.configuration.-x":                          "",
		"com.apple.configuration." + strings.Repeat("a", 130): "",
	}
	for typ, want := range tests {
		d := &Declaration{Type: typ}
		if got := d.Kind(); got != want {
			t.Errorf("Kind(%q) = %q, want %q", typ, got, want)
		}
	}
}
