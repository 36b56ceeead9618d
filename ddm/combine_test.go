package ddm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// TestCombineRulesMatchSchema reads Apple's YAML (copied under testdata) and
// checks that every key with a combinetype has the same rule here, and that
// there is no rule for a key the YAML lacks.
func TestCombineRulesMatchSchema(t *testing.T) {
	want := schemaCombineTypes(t, golden.Read(t, golden.Path(t, "ddm/schema/softwareupdate.settings.yaml")))
	got := map[string]string{}
	for _, r := range settingsRules {
		got[r.path] = r.combinetype
	}
	if len(want) != 15 {
		t.Fatalf("parsed %d keys from the YAML, expected 15: %v", len(want), want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("combine rules differ from the schema:\n got %v\nwant %v", got, want)
	}
}

// schemaCombineTypes extracts "Parent.Key" → combinetype from the YAML's
// payloadkeys by indentation; enough for this file's regular layout.
func schemaCombineTypes(t *testing.T, yaml []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	keysAt := map[int]string{} // indentation of "- key:" → key name
	sc := bufio.NewScanner(bytes.NewReader(yaml))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if name, ok := strings.CutPrefix(trimmed, "- key: "); ok {
			keysAt[indent] = name
			for i := range keysAt {
				if i > indent {
					delete(keysAt, i)
				}
			}
			continue
		}
		if ct, ok := strings.CutPrefix(trimmed, "combinetype: "); ok {
			out[keyPath(keysAt, indent)] = ct
		}
	}
	must(t, sc.Err())
	return out
}

// keyPath joins the enclosing keys of a property at indent, skipping array
// item placeholders (none carry a combinetype here).
func keyPath(keysAt map[int]string, indent int) string {
	var parts []string
	for i := 0; i < indent; i++ {
		if k, ok := keysAt[i]; ok {
			parts = append(parts, k)
		}
	}
	return strings.Join(parts, ".")
}

func TestEffectiveSettingsEveryKey(t *testing.T) {
	p1 := BetaProgram{"Public beta", "tok-1"}
	p2 := BetaProgram{"Developer beta", "tok-2"}
	tests := []struct {
		key     string
		ds      []SoftwareUpdateSettings
		want    SoftwareUpdateSettings
		decider []int
	}{
		{"Notifications", []SoftwareUpdateSettings{{Notifications: ptr(true)}, {}, {Notifications: ptr(false)}, {Notifications: ptr(false)}},
			SoftwareUpdateSettings{Notifications: ptr(false)}, []int{2}},
		{"Notifications", []SoftwareUpdateSettings{{Notifications: ptr(true)}, {Notifications: ptr(true)}},
			SoftwareUpdateSettings{Notifications: ptr(true)}, []int{0}},
		{"Deferrals.CombinedPeriodInDays", []SoftwareUpdateSettings{{Deferrals: &Deferrals{CombinedPeriodInDays: ptr(30)}}, {Deferrals: &Deferrals{CombinedPeriodInDays: ptr(60)}}, {Deferrals: &Deferrals{CombinedPeriodInDays: ptr(60)}}},
			SoftwareUpdateSettings{Deferrals: &Deferrals{CombinedPeriodInDays: ptr(60)}}, []int{1}},
		{"Deferrals.MajorPeriodInDays", []SoftwareUpdateSettings{{Deferrals: &Deferrals{MajorPeriodInDays: ptr(90)}}, {Deferrals: &Deferrals{MajorPeriodInDays: ptr(1)}}},
			SoftwareUpdateSettings{Deferrals: &Deferrals{MajorPeriodInDays: ptr(90)}}, []int{0}},
		{"Deferrals.MinorPeriodInDays", []SoftwareUpdateSettings{{Deferrals: &Deferrals{}}, {Deferrals: &Deferrals{MinorPeriodInDays: ptr(14)}}},
			SoftwareUpdateSettings{Deferrals: &Deferrals{MinorPeriodInDays: ptr(14)}}, []int{1}},
		{"Deferrals.SystemPeriodInDays", []SoftwareUpdateSettings{{Deferrals: &Deferrals{SystemPeriodInDays: ptr(2)}}, {Deferrals: &Deferrals{SystemPeriodInDays: ptr(5)}}},
			SoftwareUpdateSettings{Deferrals: &Deferrals{SystemPeriodInDays: ptr(5)}}, []int{1}},
		{"RecommendedCadence", []SoftwareUpdateSettings{{RecommendedCadence: "Newest"}, {RecommendedCadence: "All"}, {RecommendedCadence: "Oldest"}},
			SoftwareUpdateSettings{RecommendedCadence: "Newest"}, []int{0}},
		{"RecommendedCadence", []SoftwareUpdateSettings{{RecommendedCadence: "All"}, {RecommendedCadence: "Oldest"}, {RecommendedCadence: "bogus"}},
			SoftwareUpdateSettings{RecommendedCadence: "Oldest"}, []int{1}},
		{"AutomaticActions.Download", []SoftwareUpdateSettings{{AutomaticActions: &AutomaticActions{Download: "AlwaysOn"}}, {AutomaticActions: &AutomaticActions{Download: "Allowed"}}},
			SoftwareUpdateSettings{AutomaticActions: &AutomaticActions{Download: "AlwaysOn"}}, []int{0}},
		{"AutomaticActions.InstallOSUpdates", []SoftwareUpdateSettings{{AutomaticActions: &AutomaticActions{InstallOSUpdates: "AlwaysOn"}}, {AutomaticActions: &AutomaticActions{InstallOSUpdates: "AlwaysOff"}}},
			SoftwareUpdateSettings{AutomaticActions: &AutomaticActions{InstallOSUpdates: "AlwaysOff"}}, []int{1}},
		{"AutomaticActions.InstallSecurityUpdate", []SoftwareUpdateSettings{{AutomaticActions: &AutomaticActions{InstallSecurityUpdate: "Allowed"}}, {}},
			SoftwareUpdateSettings{AutomaticActions: &AutomaticActions{InstallSecurityUpdate: "Allowed"}}, []int{0}},
		{"RapidSecurityResponse.Enable", []SoftwareUpdateSettings{{RapidSecurityResponse: &RapidSecurityResponse{Enable: ptr(true)}}, {RapidSecurityResponse: &RapidSecurityResponse{Enable: ptr(false)}}},
			SoftwareUpdateSettings{RapidSecurityResponse: &RapidSecurityResponse{Enable: ptr(false)}}, []int{1}},
		{"RapidSecurityResponse.EnableRollback", []SoftwareUpdateSettings{{RapidSecurityResponse: &RapidSecurityResponse{EnableRollback: ptr(true)}}, {RapidSecurityResponse: &RapidSecurityResponse{}}},
			SoftwareUpdateSettings{RapidSecurityResponse: &RapidSecurityResponse{EnableRollback: ptr(true)}}, []int{0}},
		{"AllowStandardUserOSUpdates", []SoftwareUpdateSettings{{AllowStandardUserOSUpdates: ptr(false)}, {AllowStandardUserOSUpdates: ptr(true)}},
			SoftwareUpdateSettings{AllowStandardUserOSUpdates: ptr(false)}, []int{0}},
		{"Beta.ProgramEnrollment", []SoftwareUpdateSettings{{Beta: &Beta{ProgramEnrollment: "AlwaysOff"}}, {Beta: &Beta{ProgramEnrollment: "AlwaysOn"}}},
			SoftwareUpdateSettings{Beta: &Beta{ProgramEnrollment: "AlwaysOff"}}, []int{0}},
		{"Beta.OfferPrograms", []SoftwareUpdateSettings{{Beta: &Beta{OfferPrograms: []BetaProgram{p1}}}, {}, {Beta: &Beta{OfferPrograms: []BetaProgram{p2, p1}}}},
			SoftwareUpdateSettings{Beta: &Beta{OfferPrograms: []BetaProgram{p1, p2}}}, []int{0, 2}},
		{"Beta.RequireProgram", []SoftwareUpdateSettings{{Beta: &Beta{ProgramEnrollment: "AlwaysOn"}}, {Beta: &Beta{RequireProgram: &p2}}, {Beta: &Beta{RequireProgram: &p1}}},
			SoftwareUpdateSettings{Beta: &Beta{ProgramEnrollment: "AlwaysOn", RequireProgram: &p2}}, []int{1}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.key] = true
		got, prov := EffectiveSettings(tt.ds)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %s, want %s", tt.key, js(t, got), js(t, tt.want))
		}
		if !reflect.DeepEqual(prov[tt.key], tt.decider) {
			t.Errorf("%s: decided by %v, want %v (all: %v)", tt.key, prov[tt.key], tt.decider, prov)
		}
	}
	for _, r := range settingsRules {
		if !covered[r.path] {
			t.Errorf("no combine test for %s", r.path)
		}
	}
}

func TestEffectiveSettingsEmptyAndUnset(t *testing.T) {
	got, prov := EffectiveSettings(nil)
	if !reflect.DeepEqual(got, SoftwareUpdateSettings{}) || len(prov) != 0 {
		t.Errorf("no declarations: %s %v", js(t, got), prov)
	}
	got, prov = EffectiveSettings([]SoftwareUpdateSettings{{Deferrals: &Deferrals{}, Beta: &Beta{}}, {}})
	if !reflect.DeepEqual(got, SoftwareUpdateSettings{}) || len(prov) != 0 {
		t.Errorf("empty containers must not produce keys: %s %v", js(t, got), prov)
	}
	one := fixtureSettings()
	got, _ = EffectiveSettings([]SoftwareUpdateSettings{one})
	if js(t, got) != js(t, one) {
		t.Errorf("one declaration is its own effective setting:\n%s\n%s", js(t, got), js(t, one))
	}
}

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}
