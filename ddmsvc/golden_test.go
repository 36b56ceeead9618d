package ddmsvc_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/sim"
)

const (
	enfDoc = `{"Type":"com.apple.configuration.softwareupdate.enforcement.specific","Identifier":"tidemark.enforce.macos-26.1",
"Payload":{"TargetLocalDateTime":"2026-12-20T18:00:00","TargetOSVersion":"26.1","TargetBuildVersion":"25B78","DetailsURL":"https://it.example.com/26.1"}}`
	actDoc = `{"Type":"com.apple.activation.simple","Identifier":"tidemark.activation.fleet",
"Payload":{"StandardConfigurations":["tidemark.enforce.macos-26.1"]}}`
	settingsDoc = `{"Type":"com.apple.configuration.softwareupdate.settings","Identifier":"tidemark.settings.notify",
"Payload":{"Notifications":false,"Deferrals":{"MajorPeriodInDays":30}}}`
)

// goldenStack enrolls one Mac and gives it a set with an enforcement
// declaration, its activation and a (not activated) settings declaration.
func goldenStack(t testing.TB) (*stack, *sim.Device) {
	t.Helper()
	s := newStack(t)
	d := s.enroll(t, mac(1, "15.7.1"))
	ctx := context.Background()
	s.clock.set(t0.Add(time.Hour))
	for _, doc := range []string{enfDoc, settingsDoc, actDoc} {
		if _, _, err := s.svc.PutDeclaration(ctx, []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	s.clock.set(t0.Add(2 * time.Hour))
	if _, err := s.svc.UpdateSet(ctx, "fleet", []string{"tidemark.enforce.macos-26.1", "tidemark.activation.fleet", "tidemark.settings.notify"}, nil); err != nil {
		t.Fatal(err)
	}
	s.clock.set(t0.Add(3 * time.Hour))
	if _, err := s.svc.Assign(ctx, "fleet", []string{d.UDID()}, false); err != nil {
		t.Fatal(err)
	}
	s.clock.set(t0.Add(4 * time.Hour))
	return s, d
}

func serve(t *testing.T, d *sim.Device, endpoint string) []byte {
	t.Helper()
	resp, err := d.Declarative(context.Background(), endpoint, nil)
	if err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
	if resp.ContentType != "application/json" {
		t.Errorf("%s: Content-Type %q", endpoint, resp.ContentType)
	}
	return resp.Body
}

// TestGoldenDocuments pins the documents a device is served, byte for
// byte, through the signed HTTP path.
func TestGoldenDocuments(t *testing.T) {
	_, d := goldenStack(t)
	golden.Assert(t, golden.Path(t, "ddmsvc/tokens.json"), serve(t, d, "tokens"))
	items := serve(t, d, "declaration-items")
	golden.Assert(t, golden.Path(t, "ddmsvc/declaration-items.json"), items)
	var manifest ddm.DeclarationItemsResponse
	if err := json.Unmarshal(items, &manifest); err != nil {
		t.Fatal(err)
	}
	m := manifest.Declarations
	for kind, list := range map[ddm.Kind][]ddm.DeclarationItem{ddm.KindActivation: m.Activations, ddm.KindConfiguration: m.Configurations} {
		for _, it := range list {
			body := serve(t, d, "declaration/"+string(kind)+"/"+url.PathEscape(it.Identifier))
			golden.Assert(t, golden.Path(t, "ddmsvc/declaration-"+it.Identifier+".json"), body)
			var got ddm.Declaration
			if err := json.Unmarshal(body, &got); err != nil || got.ServerToken != it.ServerToken {
				t.Errorf("%s: served token %q, manifest %q (%v)", it.Identifier, got.ServerToken, it.ServerToken, err)
			}
		}
	}
	if len(m.Activations) != 2 || len(m.Configurations) != 3 || len(m.Assets) != 0 || len(m.Management) != 0 {
		t.Fatalf("manifest: %+v", m)
	}
}

// TestGoldenStatusOfRealReport stores a real macOS status report and pins
// the merged status the server keeps.
func TestGoldenStatusOfRealReport(t *testing.T) {
	s, d := goldenStack(t)
	report := golden.Read(t, golden.Path(t, "ddm/real/kmfddm/ddm-status-report-macOS-13.3.1a.json"))
	if _, err := d.Declarative(context.Background(), "status", report); err != nil {
		t.Fatal(err)
	}
	st, err := s.svc.Status(context.Background(), d.UDID())
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "ddmsvc/real-kmfddm.devicestatus.json"), append(out, '\n'))
	dev, err := s.store.Device(context.Background(), d.UDID())
	if err != nil || dev.Facts.OSVersion != "13.3.1" {
		t.Fatalf("facts after the report: %+v %v", dev.Facts, err)
	}
}

// TestPreviews checks the admin previews against the golden stack: the
// unactivated settings declaration does not count, the queue names the
// enforcement declaration.
func TestPreviews(t *testing.T) {
	s, d := goldenStack(t)
	ctx := context.Background()
	eff, err := s.svc.EffectiveSettings(ctx, d.UDID())
	if err != nil {
		t.Fatal(err)
	}
	if len(eff.Declarations) != 0 || len(eff.Inactive) != 1 || eff.Settings.Notifications != nil {
		t.Fatalf("unactivated settings counted: %+v", eff)
	}
	act := `{"Type":"com.apple.activation.simple","Identifier":"tidemark.activation.fleet",
"Payload":{"StandardConfigurations":["tidemark.enforce.macos-26.1","tidemark.settings.notify"]}}`
	if _, _, err := s.svc.PutDeclaration(ctx, []byte(act)); err != nil {
		t.Fatal(err)
	}
	eff, err = s.svc.EffectiveSettings(ctx, d.UDID())
	if err != nil {
		t.Fatal(err)
	}
	if eff.Settings.Notifications == nil || *eff.Settings.Notifications || eff.Provenance["Deferrals.MajorPeriodInDays"][0] != "tidemark.settings.notify" {
		t.Fatalf("effective settings: %+v", eff)
	}
	q, err := s.svc.EnforcementQueue(ctx, d.UDID())
	if err != nil {
		t.Fatal(err)
	}
	if q.InstalledFrom != "device-facts" || len(q.Queue) != 1 || q.Queue[0].Identifier != "tidemark.enforce.macos-26.1" {
		t.Fatalf("queue preview: %+v", q)
	}
	view, err := s.svc.DeviceDeclarations(ctx, d.UDID())
	if err != nil {
		t.Fatal(err)
	}
	if !view.DDMCapable || len(view.Declarations) != 5 || len(view.Warnings) != 0 {
		t.Fatalf("declarations view: %+v", view)
	}
	_ = ddmsvc.SourceBuiltin
}
