package policysvc

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

func TestCatalogImport(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.svc.Catalog(ctx); !errors.Is(err, enforcement.ErrNoCatalog) {
		t.Fatalf("before any import: %v", err)
	}
	hooks := 0
	e.svc.OnCatalogChange(func() { hooks++ })

	change, err := e.svc.ImportCatalog(ctx, fixtureRaw(t), "fixture.json", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !change.Changed || change.Releases != 25 || len(change.Added) != 25 || change.PreviousFingerprint != "" || hooks != 1 {
		t.Fatalf("first import: %+v hooks=%d", change, hooks)
	}
	cat, err := e.svc.Catalog(ctx)
	if err != nil || cat.Fingerprint() != change.Fingerprint {
		t.Fatalf("cached catalog: %v", err)
	}

	// The same content again: confirmed, not changed.
	e.clock.Add(time.Hour)
	pretty := bytes.ReplaceAll(fixtureRaw(t), []byte("\n"), []byte("\n  "))
	again, err := e.svc.ImportCatalog(ctx, pretty, "elsewhere", "bob")
	if err != nil || again.Changed || hooks != 1 {
		t.Fatalf("re-import: %+v %v hooks=%d", again, err, hooks)
	}
	rec, err := e.store.StoredCatalog(ctx)
	if err != nil || !rec.CheckedAt.Equal(fixtureNow.Add(time.Hour)) || !rec.LoadedAt.Equal(fixtureNow) || rec.Source != "fixture.json" {
		t.Fatalf("stored record after confirmation: %+v %v", rec, err)
	}
	events := e.serverEvents(t)
	if !slices.Equal(kinds(events), []string{"catalog_changed"}) {
		t.Fatalf("events: %v", kinds(events))
	}
	if ev := events[0]; ev.Data["actor"] != "alice" || ev.Data["source"] != "fixture.json" || !strings.Contains(ev.Message, "25 releases") {
		t.Errorf("event: %+v", ev)
	}
}

func TestCatalogRefusalKeepsLastGoodCopy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.importFixture(t)
	before, _ := e.svc.Catalog(ctx)
	for name, body := range map[string]string{
		"empty":       "",
		"garbage":     "<html>Service Unavailable</html>",
		"no releases": `{"PublicAssetSets":{},"AssetSets":{}}`,
		"bad entries": `{"PublicAssetSets":{"macOS":[{"ProductVersion":"x","Build":"","PostingDate":"soon"}]}}`,
	} {
		_, err := e.svc.ImportCatalog(ctx, []byte(body), "upload", "test")
		var refused *CatalogRefusedError
		if !errors.As(err, &refused) {
			t.Errorf("%s: %v, want a CatalogRefusedError", name, err)
		}
	}
	after, _ := e.svc.Catalog(ctx)
	rec, _ := e.store.StoredCatalog(ctx)
	if after != before || rec.Fingerprint != before.Fingerprint() {
		t.Fatal("a refused document replaced the catalog")
	}
	if n := len(e.serverEvents(t)); n != 1 {
		t.Errorf("%d events, want only the first import's", n)
	}
}

func TestCatalogChangeListsReleases(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.importFixture(t)
	// Drop macOS 13.7.8 and rename 26.2's build: one gone, one new, one gone.
	raw := bytes.Replace(fixtureRaw(t), []byte(`"ProductVersion": "13.7.8"`), []byte(`"ProductVersion": "bogus"`), -1)
	raw = bytes.Replace(raw, []byte(`"25C56"`), []byte(`"25C57"`), -1)
	change, err := e.svc.ImportCatalog(ctx, raw, "upload", "test")
	if err != nil {
		t.Fatal(err)
	}
	if !change.Changed || !slices.Equal(change.Added, []string{"macOS 26.2 (25C57)"}) ||
		!slices.Equal(change.Removed, []string{"macOS 26.2 (25C56)", "macOS 13.7.8 (22H730)"}) || len(change.Warnings) == 0 {
		t.Fatalf("change: %+v", change)
	}
}

// TestCatalogReload: a new service over the same store starts with the
// stored catalog; one that no longer parses is ignored, not fatal.
func TestCatalogReload(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.importFixture(t)
	svc := e.service(t)
	cat, err := svc.Catalog(ctx)
	if err != nil || len(cat.Releases()) != 25 {
		t.Fatalf("reloaded catalog: %v", err)
	}
	if sum := svc.CatalogSummary(""); !sum.Loaded || sum.Source != "fixture" || sum.LoadedAt == nil {
		t.Errorf("reloaded summary: %+v", sum)
	}
}

func TestCatalogSummary(t *testing.T) {
	e := newEnv(t)
	if sum := e.svc.CatalogSummary(""); sum.Loaded || sum.Platforms == nil || sum.Fetch != nil {
		t.Fatalf("empty summary: %+v", sum)
	}
	e.importFixture(t)
	sum := e.svc.CatalogSummary("iPadOS")
	if len(sum.Platforms) != 1 || sum.Platforms[0].Platform != "iOS" {
		t.Fatalf("iPadOS filter: %+v", sum.Platforms)
	}
	byBuild := map[string]ReleaseSummary{}
	for _, r := range e.svc.CatalogSummary("").Platforms[1].Releases {
		byBuild[r.Build] = r
	}
	for build, want := range map[string]ReleaseSummary{
		"25C56":      {Version: "26.2", Kind: enforcement.KindOS, Posted: "2026-11-17", Expires: "2027-02-19", DeviceCount: 62, Flags: []string{FlagPublic, FlagMDM}},
		"25B78":      {Version: "26.1", Kind: enforcement.KindOS, Posted: "2026-10-20", Expires: "2026-12-08", DeviceCount: 63, Flags: []string{FlagMDM}},
		"25A362":     {Version: "26.0.1", Kind: enforcement.KindOS, Posted: "2026-09-29", Expires: "2026-11-10", DeviceCount: 62, Flags: []string{FlagMDM, FlagExpired}},
		"25C771056a": {Version: "26.2 (a)", Kind: enforcement.KindSecurityImprovement, PrerequisiteBuild: "25C56", Posted: "2026-11-20", Expires: "2027-02-19", DeviceCount: 62, Flags: []string{FlagPublic}},
	} {
		got := byBuild[build]
		want.Build = build
		if !slices.Equal(got.Flags, want.Flags) || got.Version != want.Version || got.Kind != want.Kind ||
			got.Posted != want.Posted || got.Expires != want.Expires || got.DeviceCount != want.DeviceCount ||
			got.PrerequisiteBuild != want.PrerequisiteBuild {
			t.Errorf("%s: got %+v\nwant %+v", build, got, want)
		}
	}
	vision := e.svc.CatalogSummary("visionOS").Platforms[0].Releases
	if last := vision[len(vision)-1]; !slices.Contains(last.Flags, FlagNoDeviceList) {
		t.Errorf("visionOS 26.1 without a device list: %+v", last)
	}
}
