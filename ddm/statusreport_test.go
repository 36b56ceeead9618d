package ddm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// statusFixtures maps a golden name to its input under testdata/ddm.
var statusFixtures = map[string]string{
	"real-kmfddm":                "real/kmfddm/ddm-status-report-macOS-13.3.1a.json",
	"real-zentral":               "real/zentral/ddm-status-report-macOS-13.3.1a.json",
	"softwareupdate-downloading": "status/softwareupdate-downloading.json",
	"partial-install-state":      "status/partial-install-state.json",
	"failed-update":              "status/failed-update.json",
	"unknown-values":             "status/unknown-values.json",
	"errors-array":               "status/errors-array.json",
	"wrong-types":                "status/wrong-types.json",
	"full-report":                "status/full-report.json",
}

func parseFixture(t *testing.T, name string) *StatusReport {
	t.Helper()
	r, err := ParseStatusReport(golden.Read(t, golden.Path(t, "ddm/"+statusFixtures[name])))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func TestStatusReportGolden(t *testing.T) {
	for name := range statusFixtures {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(parseFixture(t, name), "", "  ")
			must(t, err)
			golden.Assert(t, golden.Path(t, "ddm/status/"+name+".parsed.json"), append(got, '\n'))
		})
	}
}

func TestStatusReportRealCaptures(t *testing.T) {
	k := parseFixture(t, "real-kmfddm")
	z := parseFixture(t, "real-zentral")
	for _, r := range []*StatusReport{k, z} {
		it := r.Items
		if *it.OSVersion != "13.3.1" || *it.OSBuildVersion != "22E261" || *it.OSSupplementalExtraVersion != "(a)" {
			t.Errorf("OS: %v %v %v", *it.OSVersion, *it.OSBuildVersion, *it.OSSupplementalExtraVersion)
		}
		if it.OSSupplementalBuildVersion != nil {
			t.Error("supplemental build-version invented")
		}
		if it.Declarations == nil || it.ClientCapabilities == nil || len(r.Errors) != 0 {
			t.Errorf("items: %+v", it)
		}
	}
	if k.Items.ModelIdentifier != nil || *k.Items.ModelFamily != "Mac" {
		t.Error("kmfddm sends only the model family")
	}
	if *z.Items.ModelIdentifier != "Macmini9,1" || *z.Items.ModelMarketingName != "Mac mini (M1, 2020)" {
		t.Errorf("zentral model: %v", *z.Items.ModelIdentifier)
	}
	cfg := z.Items.Declarations.Configurations
	if len(cfg) != 2 || cfg[0].Identifier != "zentral.blueprint.1.management-status-subscriptions" || cfg[0].ServerToken != "2" || !cfg[0].Active || cfg[0].Valid != "valid" {
		t.Errorf("zentral configurations: %+v", cfg)
	}
	// No problems: everything in real reports is understood.
	for _, r := range []*StatusReport{k, z} {
		if len(r.Problems) != 0 {
			t.Errorf("problems in a real report: %v", r.Problems)
		}
	}
}

func TestStatusReportSoftwareUpdate(t *testing.T) {
	r := parseFixture(t, "softwareupdate-downloading")
	it := r.Items
	if *it.InstallState != InstallStateDownloading || *it.PendingVersion != (PendingVersion{"26.1", "25B78", "2026-12-20T18:00:00"}) {
		t.Errorf("install state / pending: %v %+v", *it.InstallState, *it.PendingVersion)
	}
	if it.FailureReason.Count != 0 || it.InstallReason.DeclarationID != "tidemark.enforcement.macos-26.1" || *it.DeviceID != "J314sAP" || *it.BetaEnrollment != "" {
		t.Errorf("items: %+v %+v", it.FailureReason, it.InstallReason)
	}
	reasons := it.Declarations.Configurations[1].Reasons
	if len(reasons) != 1 || reasons[0].Code != "Error.ConfigurationCannotBeApplied" || !strings.Contains(string(reasons[0].Details), `"Identifier":"tidemark.settings.default"`) {
		t.Errorf("reasons: %+v", reasons)
	}
	if len(r.Problems) != 0 {
		t.Errorf("problems: %v", r.Problems)
	}
	f := parseFixture(t, "failed-update")
	if *f.Items.InstallState != InstallStateFailed || f.Items.FailureReason.Count != 2 || f.Items.InstallReason.Reasons == nil || f.Items.PendingVersion.OSVersion != "" {
		t.Errorf("failed-update: %+v", f.Items)
	}
}

func TestStatusReportUnknownValuesKeptAndFlagged(t *testing.T) {
	r := parseFixture(t, "unknown-values")
	if *r.Items.InstallState != "staging" || r.Items.InstallState.Known() {
		t.Errorf("install state %v", *r.Items.InstallState)
	}
	if r.Items.PendingVersion.TargetLocalDateTime != "2026-06-30T04:30:00Z" {
		t.Errorf("prefixed target-local-date-time not read: %+v", r.Items.PendingVersion)
	}
	if *r.Items.BatteryHealth != "swollen" || r.Items.Declarations.Configurations[0].Valid != "perhaps" {
		t.Error("undocumented values not kept")
	}
	wantPaths := []string{
		"ReportVersion", "device.model.number", "device.power.battery-health",
		"management.declarations.configurations[0].valid", "management.declarations.configurations[0].new-key",
		"management.declarations.profiles", "softwareupdate.install-reason.reason[1]", "softwareupdate.install-state", "test",
	}
	assertProblemPaths(t, r, wantPaths)
}

func TestStatusReportWrongTypesSkipped(t *testing.T) {
	r := parseFixture(t, "wrong-types")
	it := r.Items
	if it.InstallState != nil || it.PendingVersion != nil || it.FailureReason != nil || it.InstallReason != nil ||
		it.DeviceID != nil || it.BetaEnrollment != nil || it.OSVersion != nil || it.ClientCapabilities != nil {
		t.Errorf("wrongly typed items kept: %+v", it)
	}
	if *it.OSFamily != "iOS" {
		t.Error("a good sibling of a bad item was lost")
	}
	if cfg := it.Declarations.Configurations; len(cfg) != 1 || cfg[0].Identifier != "d" {
		t.Errorf("configurations: %+v", cfg)
	}
	if r.FullReport || r.Errors != nil {
		t.Error("FullReport or Errors of the wrong type used")
	}
	assertProblemPaths(t, r, []string{
		"Errors", "FullReport",
		"device.model", "device.operating-system.supplemental", "device.operating-system.version",
		"management.client-capabilities", "management.declarations.activations",
		"management.declarations.configurations[0].identifier", "management.declarations.configurations[1].active",
		"management.declarations.configurations[2].reasons", "management.declarations.configurations[4]",
		"softwareupdate.beta-enrollment", "softwareupdate.device-id", "softwareupdate.failure-reason.count",
		"softwareupdate.install-reason.reason", "softwareupdate.install-state", "softwareupdate.pending-version",
	})
}

func TestStatusReportErrorsArray(t *testing.T) {
	r := parseFixture(t, "errors-array")
	if len(r.Errors) != 2 || r.Errors[0].StatusItem != ItemBatteryHealth || r.Errors[1].StatusItem != ItemDeviceID {
		t.Fatalf("errors: %+v", r.Errors)
	}
	reason := r.Errors[0].Reasons[0]
	if reason.Code != "Error.StatusItemUnavailable" || string(reason.Details) != `{"After":3600,"Retry":true}` {
		t.Errorf("reason: %+v", reason)
	}
	assertProblemPaths(t, r, []string{"Errors[2].StatusItem", "Errors[3]"})
}

func assertProblemPaths(t *testing.T, r *StatusReport, want []string) {
	t.Helper()
	got := map[string]bool{}
	for _, p := range r.Problems {
		got[p.Path] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("no problem recorded at %s; problems: %v", w, r.Problems)
		}
	}
	if len(r.Problems) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(r.Problems), len(want), r.Problems)
	}
}

func TestStatusReportMalformed(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `"x"`, `null`, `{"StatusItems":{}} x`, `{"a":1,"a":2}`,
		`{"StatusItems":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 41)} {
		_, err := ParseStatusReport([]byte(in))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseStatusReport(%.40q) = %v, want ErrMalformed", in, err)
		}
	}
	r, err := ParseStatusReport([]byte(`{}`))
	if err != nil || len(r.Problems) != 1 || r.Problems[0].Path != "StatusItems" {
		t.Errorf("empty object: %+v, %v", r, err)
	}
}

func TestStatusReportCaps(t *testing.T) {
	var decls []string
	for i := range MaxDeclarationStatuses + 10 {
		decls = append(decls, fmt.Sprintf(`{"identifier":"d%d","active":true,"valid":"valid","server-token":"t"}`, i))
	}
	var errs []string
	for range MaxStatusErrors + 5 {
		errs = append(errs, `{"StatusItem":"x"}`)
	}
	long := strings.Repeat("x", MaxStringLen+1)
	raw := `{"StatusItems":{"management":{"declarations":{"configurations":[` + strings.Join(decls, ",") + `]}},
		"softwareupdate":{"device-id":"` + long + `"}},"Errors":[` + strings.Join(errs, ",") + `]}`
	r, err := ParseStatusReport([]byte(raw))
	must(t, err)
	if n := len(r.Items.Declarations.Configurations); n != MaxDeclarationStatuses {
		t.Errorf("%d declarations kept, want %d", n, MaxDeclarationStatuses)
	}
	if len(r.Errors) != MaxStatusErrors || r.Items.DeviceID != nil {
		t.Errorf("%d errors kept; device-id %v", len(r.Errors), r.Items.DeviceID)
	}
	if len(r.Problems) != 3 {
		t.Errorf("want one problem per cap, got %v", r.Problems)
	}

	var items []string
	for i := range MaxStatusItems + 3 {
		items = append(items, fmt.Sprintf(`"i%03d":1`, i))
	}
	r, err = ParseStatusReport([]byte(`{"StatusItems":{"device":{"identifier":{"udid":"u"}},` + strings.Join(items, ",") + `}}`))
	must(t, err)
	if r.Items.UDID == nil || len(r.Problems) != MaxProblems+1 || r.Problems[MaxProblems].Message != "further problems omitted" {
		t.Errorf("unknown items: udid %v, %d problems", r.Items.UDID, len(r.Problems))
	}
	// Keys are walked in sorted order: items after the cap are skipped.
	items = items[:0]
	for i := range MaxStatusItems {
		items = append(items, fmt.Sprintf(`"a%03d":1`, i))
	}
	r, err = ParseStatusReport([]byte(`{"StatusItems":{"device":{"identifier":{"udid":"u"}},` + strings.Join(items, ",") + `}}`))
	must(t, err)
	if r.Items.UDID != nil {
		t.Error("item beyond MaxStatusItems kept")
	}
}

func TestStatusReportDottedAndNestedDuplicate(t *testing.T) {
	r, err := ParseStatusReport([]byte(`{"StatusItems":{"device":{"model":{"family":"Mac"}},"device.model.family":"iPad"}}`))
	must(t, err)
	if *r.Items.ModelFamily != "Mac" || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, "twice") {
		t.Errorf("family %v, problems %v", *r.Items.ModelFamily, r.Problems)
	}
}
