package ddm

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	enf   = TypeEnforcementSpecific
	set   = TypeSoftwareUpdateSettings
	subs  = TypeStatusSubscriptions
	act   = TypeActivationSimple
	okEnf = `"TargetOSVersion":"26.1","TargetLocalDateTime":"2026-12-20T18:00:00"`
)

// validateCases has one case per validation rule; each names the path and
// a part of the message that must name the key.
var validateCases = []struct {
	name, typ, id, payload string
	wantPath, wantMsg      string
}{
	{"type pattern", "com.example.configuration.x", "a", `{}`, "Type", "must look like com.apple."},
	{"type class", "com.apple.profile.x", "a", `{}`, "Type", "must look like"},
	{"identifier empty", act, "", `{"StandardConfigurations":["x"]}`, "Identifier", "must not be empty"},
	{"identifier charset", act, "a/b", `{"StandardConfigurations":["x"]}`, "Identifier", `contains '/'`},
	{"identifier dot", act, "..", `{"StandardConfigurations":["x"]}`, "Identifier", "must not start with '.'"},
	{"identifier length", act, strings.Repeat("a", 256), `{"StandardConfigurations":["x"]}`, "Identifier", "longer than 255"},
	{"payload not object", "com.apple.configuration.x", "a", `[1]`, "Payload", "must be an object"},
	{"payload malformed", "com.apple.configuration.x", "a", `{"a":}`, "Payload", "malformed"},

	{"TargetOSVersion required", enf, "a", `{"TargetLocalDateTime":"2026-12-20T18:00:00"}`, "Payload.TargetOSVersion", "required key is missing"},
	{"TargetLocalDateTime required", enf, "a", `{"TargetOSVersion":"26.1"}`, "Payload.TargetLocalDateTime", "required key is missing"},
	{"TargetOSVersion unparseable", enf, "a", `{"TargetOSVersion":"26.x","TargetLocalDateTime":"2026-12-20T18:00:00"}`, "Payload.TargetOSVersion", "not an OS version"},
	{"TargetOSVersion wrong type", enf, "a", `{"TargetOSVersion":26.1,"TargetLocalDateTime":"2026-12-20T18:00:00"}`, "Payload.TargetOSVersion", "must be a string, not a number"},
	{"TargetBuildVersion unparseable", enf, "a", `{` + okEnf + `,"TargetBuildVersion":"b25"}`, "Payload.TargetBuildVersion", "not a build version"},
	{"TargetLocalDateTime zone", enf, "a", `{"TargetOSVersion":"26.1","TargetLocalDateTime":"2026-12-20T18:00:00Z"}`, "Payload.TargetLocalDateTime", "without a time zone"},
	{"TargetLocalDateTime fraction", enf, "a", `{"TargetOSVersion":"26.1","TargetLocalDateTime":"2026-12-20T18:00:00.5"}`, "Payload.TargetLocalDateTime", "yyyy-mm-ddThh:mm:ss"},
	{"TargetLocalDateTime not a date", enf, "a", `{"TargetOSVersion":"26.1","TargetLocalDateTime":"2026-02-30T18:00:00"}`, "Payload.TargetLocalDateTime", "real local date"},
	{"TargetLocalDateTime date only", enf, "a", `{"TargetOSVersion":"26.1","TargetLocalDateTime":"2026-12-20"}`, "Payload.TargetLocalDateTime", "yyyy-mm-ddThh:mm:ss"},
	{"DetailsURL relative", enf, "a", `{` + okEnf + `,"DetailsURL":"/updates"}`, "Payload.DetailsURL", "absolute http or https URL"},
	{"DetailsURL scheme", enf, "a", `{` + okEnf + `,"DetailsURL":"javascript:alert(1)"}`, "Payload.DetailsURL", "absolute http or https URL"},
	{"DetailsURL no host", enf, "a", `{` + okEnf + `,"DetailsURL":"https:///x"}`, "Payload.DetailsURL", "absolute http or https URL"},
	{"DetailsURL space", enf, "a", `{` + okEnf + `,"DetailsURL":"https://x/a b"}`, "Payload.DetailsURL", "spaces"},
	{"enforcement unknown key", enf, "a", `{` + okEnf + `,"TargetOSVerison":"26.1"}`, "Payload.TargetOSVerison", `unknown key "TargetOSVerison"`},

	{"Notifications type", set, "a", `{"Notifications":"yes"}`, "Payload.Notifications", "must be a boolean, not a string"},
	{"deferral below range", set, "a", `{"Deferrals":{"MajorPeriodInDays":0}}`, "Payload.Deferrals.MajorPeriodInDays", "outside the range 1-90"},
	{"deferral above range", set, "a", `{"Deferrals":{"CombinedPeriodInDays":91}}`, "Payload.Deferrals.CombinedPeriodInDays", "outside the range 1-90"},
	{"deferral not integer", set, "a", `{"Deferrals":{"MinorPeriodInDays":1.5}}`, "Payload.Deferrals.MinorPeriodInDays", "must be an integer"},
	{"deferral huge", set, "a", `{"Deferrals":{"SystemPeriodInDays":99999999999999999999999}}`, "Payload.Deferrals.SystemPeriodInDays", "outside the range"},
	{"deferrals unknown key", set, "a", `{"Deferrals":{"MajorPeriod":3}}`, "Payload.Deferrals.MajorPeriod", `unknown key "MajorPeriod"`},
	{"cadence enum", set, "a", `{"RecommendedCadence":"Latest"}`, "Payload.RecommendedCadence", "not one of All, Oldest, Newest"},
	{"action enum", set, "a", `{"AutomaticActions":{"Download":"Always"}}`, "Payload.AutomaticActions.Download", "not one of Allowed, AlwaysOn, AlwaysOff"},
	{"action enum case", set, "a", `{"AutomaticActions":{"InstallOSUpdates":"alwayson"}}`, "Payload.AutomaticActions.InstallOSUpdates", "not one of"},
	{"rsr type", set, "a", `{"RapidSecurityResponse":{"EnableRollback":1}}`, "Payload.RapidSecurityResponse.EnableRollback", "must be a boolean"},
	{"rsr not object", set, "a", `{"RapidSecurityResponse":true}`, "Payload.RapidSecurityResponse", "must be an object, not a boolean"},
	{"settings unknown key", set, "a", `{"Notification":true}`, "Payload.Notification", `unknown key "Notification"`},
	{"beta enrollment enum", set, "a", `{"Beta":{"ProgramEnrollment":"On"}}`, "Payload.Beta.ProgramEnrollment", "not one of"},
	{"offer with AlwaysOff", set, "a", `{"Beta":{"ProgramEnrollment":"AlwaysOff","OfferPrograms":[{"Description":"d","Token":"t"}]}}`, "Payload.Beta.OfferPrograms", "only allowed when ProgramEnrollment is Allowed or AlwaysOn"},
	{"offer with require", set, "a", `{"Beta":{"ProgramEnrollment":"AlwaysOn","OfferPrograms":[{"Description":"d","Token":"t"}],"RequireProgram":{"Description":"d","Token":"t"}}}`, "Payload.Beta.OfferPrograms", "must not be present together with RequireProgram"},
	{"require without AlwaysOn", set, "a", `{"Beta":{"ProgramEnrollment":"Allowed","RequireProgram":{"Description":"d","Token":"t"}}}`, "Payload.Beta.RequireProgram", "only allowed when ProgramEnrollment is AlwaysOn"},
	{"require without enrollment", set, "a", `{"Beta":{"RequireProgram":{"Description":"d","Token":"t"}}}`, "Payload.Beta.RequireProgram", "only allowed when ProgramEnrollment is AlwaysOn"},
	{"program token required", set, "a", `{"Beta":{"OfferPrograms":[{"Description":"d"}]}}`, "Payload.Beta.OfferPrograms[0].Token", "required key is missing"},
	{"program token empty", set, "a", `{"Beta":{"ProgramEnrollment":"AlwaysOn","RequireProgram":{"Description":"d","Token":""}}}`, "Payload.Beta.RequireProgram.Token", "must not be empty"},
	{"program unknown key", set, "a", `{"Beta":{"OfferPrograms":[{"Description":"d","Token":"t","Name":"n"}]}}`, "Payload.Beta.OfferPrograms[0].Name", `unknown key "Name"`},
	{"offer not array", set, "a", `{"Beta":{"OfferPrograms":{"Description":"d","Token":"t"}}}`, "Payload.Beta.OfferPrograms", "must be an array, not an object"},

	{"StatusItems required", subs, "a", `{}`, "Payload.StatusItems", "required key is missing"},
	{"StatusItems empty", subs, "a", `{"StatusItems":[]}`, "Payload.StatusItems", "at least one status item"},
	{"status item name required", subs, "a", `{"StatusItems":[{}]}`, "Payload.StatusItems[0].Name", "required key is missing"},
	{"status item name charset", subs, "a", `{"StatusItems":[{"Name":"Device Model"}]}`, "Payload.StatusItems[0].Name", "not a status item name"},
	{"status item duplicate", subs, "a", `{"StatusItems":[{"Name":"device.model.family"},{"Name":"device.model.family"}]}`, "Payload.StatusItems[1].Name", "duplicate status item"},
	{"status item wrong type", subs, "a", `{"StatusItems":["device.model.family"]}`, "Payload.StatusItems[0]", "must be an object, not a string"},
	{"status item unknown key", subs, "a", `{"StatusItems":[{"Name":"device.model.family","Scope":"x"}]}`, "Payload.StatusItems[0].Scope", `unknown key "Scope"`},

	{"StandardConfigurations required", act, "a", `{}`, "Payload.StandardConfigurations", "required key is missing"},
	{"StandardConfigurations empty", act, "a", `{"StandardConfigurations":[]}`, "Payload.StandardConfigurations", "at least one configuration"},
	{"reference missing", act, "a", `{"StandardConfigurations":["ghost"]}`, "Payload.StandardConfigurations[0]", `configuration "ghost" does not exist`},
	{"reference twice", act, "a", `{"StandardConfigurations":["known","known"]}`, "Payload.StandardConfigurations[1]", "listed twice"},
	{"reference invalid", act, "a", `{"StandardConfigurations":["../x"]}`, "Payload.StandardConfigurations[0]", "must not start with '.'"},
	{"reference wrong type", act, "a", `{"StandardConfigurations":[7]}`, "Payload.StandardConfigurations[0]", "must be a string, not a number"},
	{"predicate type", act, "a", `{"StandardConfigurations":["known"],"Predicate":false}`, "Payload.Predicate", "must be a string"},
}

func TestValidateRules(t *testing.T) {
	known := func(id string) bool { return id == "known" }
	for _, tt := range validateCases {
		t.Run(tt.name, func(t *testing.T) {
			d := &Declaration{Type: tt.typ, Identifier: tt.id, Payload: json.RawMessage(tt.payload)}
			err := Validate(d, known)
			verrs, ok := err.(ValidationErrors)
			if !ok {
				t.Fatalf("Validate = %v (%T), want ValidationErrors", err, err)
			}
			key := tt.wantPath[strings.LastIndex(tt.wantPath, ".")+1:]
			for _, e := range verrs {
				if e.Path == tt.wantPath && strings.Contains(e.Message, tt.wantMsg) {
					if !strings.Contains(e.Error(), key) || !strings.Contains(err.Error(), key) {
						t.Errorf("message %q does not name %s", e.Error(), key)
					}
					return
				}
			}
			t.Errorf("want %s: …%s…; got %v", tt.wantPath, tt.wantMsg, verrs)
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	d := &Declaration{Type: TypeSoftwareUpdateSettings, Identifier: "", Payload: json.RawMessage(`{
		"Notifications": 1,
		"Deferrals": {"MajorPeriodInDays": 0, "Bogus": 1},
		"AutomaticActions": {"Download": "x"},
		"Beta": {"ProgramEnrollment": "AlwaysOff", "OfferPrograms": [{"Description": 2, "Token": "t"}]},
		"Extra": {}
	}`)}
	err := Validate(d, nil)
	verrs, _ := err.(ValidationErrors)
	want := []string{
		"Identifier",
		"Payload.AutomaticActions.Download",
		"Payload.Beta.OfferPrograms[0].Description",
		"Payload.Beta.OfferPrograms",
		"Payload.Deferrals.MajorPeriodInDays",
		"Payload.Deferrals.Bogus",
		"Payload.Notifications",
		"Payload.Extra", // unknown keys come after the known ones
	}
	var got []string
	for _, e := range verrs {
		got = append(got, e.Path)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("paths:\n got %v\nwant %v\n(%v)", got, want, err)
	}
}

func TestValidateAcceptsGoodDeclarations(t *testing.T) {
	set := fixtureSet(t)
	ids := map[string]bool{}
	for _, d := range set {
		ids[d.Identifier] = true
	}
	for _, d := range set {
		if err := Validate(d, func(id string) bool { return ids[id] }); err != nil {
			t.Errorf("%s: %v", d.Identifier, err)
		}
	}
	beta := &Declaration{Type: TypeSoftwareUpdateSettings, Identifier: "b", Payload: json.RawMessage(
		`{"Beta":{"OfferPrograms":[{"Description":"d","Token":"t"}]},"RecommendedCadence":"Newest","Deferrals":{"CombinedPeriodInDays":90}}`)}
	if err := Validate(beta, nil); err != nil {
		t.Errorf("unsupervised OfferPrograms without ProgramEnrollment: %v", err)
	}
	if err := Validate(nil, nil); err == nil {
		t.Error("Validate(nil) = nil")
	}
}

func TestValidateForPlatform(t *testing.T) {
	mac := `{"Deferrals":{"MajorPeriodInDays":1,"MinorPeriodInDays":1,"SystemPeriodInDays":1},"AllowStandardUserOSUpdates":true,"AutomaticActions":{"InstallSecurityUpdate":"AlwaysOn","Download":"Allowed"}}`
	ios := `{"Deferrals":{"CombinedPeriodInDays":1},"RecommendedCadence":"All","Beta":{"ProgramEnrollment":"Allowed"},"Notifications":true}`
	tests := []struct {
		payload, platform string
		want              []string
	}{
		{mac, "macOS", nil},
		{ios, "iOS", nil},
		{ios, "iPadOS", nil},
		{mac, "iOS", []string{"Deferrals.MajorPeriodInDays", "Deferrals.MinorPeriodInDays", "Deferrals.SystemPeriodInDays", "AutomaticActions.InstallSecurityUpdate", "AllowStandardUserOSUpdates"}},
		{ios, "macOS", []string{"RecommendedCadence", "Deferrals.CombinedPeriodInDays", "Beta"}},
		{mac, "tvOS", nil},
	}
	for _, tt := range tests {
		d := &Declaration{Type: TypeSoftwareUpdateSettings, Identifier: "s", Payload: json.RawMessage(tt.payload)}
		err := ValidateForPlatform(d, tt.platform)
		verrs, _ := err.(ValidationErrors)
		if len(verrs) != len(tt.want) {
			t.Errorf("%s: got %v, want keys %v", tt.platform, err, tt.want)
			continue
		}
		for i, key := range tt.want {
			if verrs[i].Path != "Payload."+key || !strings.Contains(verrs[i].Message, key) || !strings.Contains(verrs[i].Message, tt.platform) {
				t.Errorf("%s: error %d = %v, want one naming %s", tt.platform, i, verrs[i], key)
			}
		}
	}
	d := &Declaration{Type: TypeSoftwareUpdateSettings, Identifier: "s", Payload: json.RawMessage(mac)}
	if err := ValidateForPlatform(d, "Windows"); err == nil {
		t.Error("unknown platform accepted")
	}
	enf := fixtureSet(t)[0]
	if err := ValidateForPlatform(enf, "iOS"); err != nil {
		t.Errorf("enforcement on iOS: %v", err)
	}
}
