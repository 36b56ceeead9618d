package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/storage"
	"github.com/tidemark-mdm/tidemark/storage/bolt"
)

var policyT0 = time.Date(2026, time.November, 21, 12, 0, 0, 0, time.UTC)

func newPolicyStore(t *testing.T) (*bolt.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tidemark.db")
	s := openAt(t, path)
	t.Cleanup(func() { s.Close() })
	return s, path
}

func samplePolicy(id string, version int) enforcement.Policy {
	days := 7
	return enforcement.Policy{
		ID: id, Name: "Policy " + id, Version: version,
		Scope:     enforcement.Scope{Platforms: []string{"macOS"}, Groups: []string{"pilot"}},
		Target:    enforcement.Target{Kind: enforcement.TargetVersion, OSVersion: "26.2"},
		Deadline:  enforcement.Deadline{DaysAfterPosting: &days, TimeOfDay: "17:00"},
		CreatedAt: policyT0, UpdatedAt: policyT0,
	}
}

func TestPolicyVersions(t *testing.T) {
	ctx := context.Background()
	s, _ := newPolicyStore(t)
	if _, err := s.Policy(ctx, "p1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("missing policy: %v", err)
	}
	if err := s.PutPolicy(ctx, samplePolicy("p1", 1), 1); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("create claiming a prior version: %v", err)
	}
	ev := storage.Event{At: policyT0, Kind: "policy_created", Message: "created"}
	if err := s.PutPolicy(ctx, samplePolicy("p1", 1), 0, ev); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPolicy(ctx, samplePolicy("p1", 1), 0); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("second create: %v", err)
	}
	if err := s.PutPolicy(ctx, samplePolicy("p1", 2), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPolicy(ctx, samplePolicy("p1", 3), 1); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("write based on version 1 after version 2: %v", err)
	}
	got, err := s.Policy(ctx, "p1")
	if err != nil || got.Version != 2 || got.Deadline.DaysAfterPosting == nil || *got.Deadline.DaysAfterPosting != 7 {
		t.Fatalf("stored policy: %+v %v", got, err)
	}
	if err := s.DeletePolicy(ctx, "p1", 1); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := s.DeletePolicy(ctx, "p1", 2, storage.Event{At: policyT0, Kind: "policy_deleted"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy(ctx, "p1", 2); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	events, err := s.Events(ctx, "", 0)
	if err != nil || len(events) != 2 || events[0].Kind != "policy_deleted" || events[1].Kind != "policy_created" {
		t.Fatalf("events written with the changes: %+v %v", events, err)
	}
}

func TestPolicyRefusals(t *testing.T) {
	ctx := context.Background()
	s, _ := newPolicyStore(t)
	for _, id := range []string{"", "a/b", "-x", "x\x00y"} {
		if err := s.PutPolicy(ctx, samplePolicy(id, 1), 0); !errors.Is(err, storage.ErrInvalidID) {
			t.Errorf("PutPolicy(%q): %v", id, err)
		}
	}
	// A failed write leaves no event behind: both are one transaction.
	_ = s.PutPolicy(ctx, samplePolicy("p1", 5), 4, storage.Event{At: policyT0, Kind: "policy_updated"})
	if ev, _ := s.Events(ctx, "", 0); len(ev) != 0 {
		t.Errorf("event of a refused write: %+v", ev)
	}
	if list, err := s.Policies(ctx); err != nil || len(list) != 0 {
		t.Errorf("Policies on an empty store: %v %v", list, err)
	}
}

// TestPolicyConcurrentWriters: of many writers based on the same version,
// exactly one wins.
func TestPolicyConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s, _ := newPolicyStore(t)
	if err := s.PutPolicy(ctx, samplePolicy("p1", 1), 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, stale := 0, 0
	for range 16 {
		wg.Go(func() {
			err := s.PutPolicy(ctx, samplePolicy("p1", 2), 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, storage.ErrStale):
				stale++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || stale != 15 {
		t.Fatalf("wins=%d stale=%d", wins, stale)
	}
}

func TestCatalogRecord(t *testing.T) {
	ctx := context.Background()
	s, _ := newPolicyStore(t)
	if _, err := s.StoredCatalog(ctx); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("before the first catalog: %v", err)
	}
	rec := storage.CatalogRecord{Raw: []byte(`{"PublicAssetSets":{}}`), Source: "upload", Fingerprint: "f1",
		LoadedAt: policyT0, CheckedAt: policyT0}
	if err := s.PutCatalog(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCatalog(ctx, storage.CatalogRecord{Source: "x", Fingerprint: "empty"}); !errors.Is(err, enforcement.ErrEmptyCatalog) {
		t.Fatalf("empty catalog stored: %v", err)
	}
	got, err := s.StoredCatalog(ctx)
	if err != nil || !reflect.DeepEqual(*got, rec) {
		t.Fatalf("stored catalog: %+v %v", got, err)
	}
	got.Raw[0] = 'X' // the caller owns its copy
	again, _ := s.StoredCatalog(ctx)
	if again.Raw[0] != '{' {
		t.Fatal("StoredCatalog returned bytes shared with the database")
	}
}

func TestGroupIndex(t *testing.T) {
	ctx := context.Background()
	s, _ := newPolicyStore(t)
	for _, id := range []string{"dev-a", "dev-b", "dev-c"} {
		enrollPolicyDevice(t, s, id)
	}
	set := func(id, group string, member, wantChanged bool) {
		t.Helper()
		ev := storage.Event{DeviceID: id, At: policyT0, Kind: "group_changed"}
		changed, err := s.SetDeviceGroup(ctx, id, group, member, ev)
		if err != nil || changed != wantChanged {
			t.Fatalf("SetDeviceGroup(%s, %s, %t) = %t, %v", id, group, member, changed, err)
		}
	}
	set("dev-a", "pilot", true, true)
	set("dev-a", "pilot", true, false)
	set("dev-b", "pilot", true, true)
	set("dev-b", "a", true, true)
	set("dev-c", "pilot.eu", true, true)
	set("dev-a", "zeta", true, true)
	set("dev-a", "zeta", false, true)
	set("dev-c", "zeta", false, false)

	wantGroups := []storage.GroupCount{{Name: "a", Members: 1}, {Name: "pilot", Members: 2}, {Name: "pilot.eu", Members: 1}}
	if got, err := s.Groups(ctx); err != nil || !reflect.DeepEqual(got, wantGroups) {
		t.Fatalf("Groups = %+v, %v", got, err)
	}
	if got, err := s.GroupMembers(ctx, "pilot"); err != nil || !reflect.DeepEqual(got, []string{"dev-a", "dev-b"}) {
		t.Fatalf("GroupMembers(pilot) = %v, %v", got, err)
	}
	d, err := s.Device(ctx, "dev-b")
	if err != nil || !reflect.DeepEqual(d.Groups, []string{"a", "pilot"}) {
		t.Fatalf("record groups: %v %v", d, err)
	}
	viaFilter, err := s.Devices(ctx, storage.DeviceFilter{Group: "pilot"})
	if err != nil || len(viaFilter) != 2 {
		t.Fatalf("DeviceFilter.Group agrees with the index: %d %v", len(viaFilter), err)
	}
	ev, _ := s.Events(ctx, "dev-a", 0)
	n := 0
	for _, e := range ev {
		if e.Kind == "group_changed" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("dev-a group events: %d, want one per actual change (3)", n)
	}
	if _, err := s.SetDeviceGroup(ctx, "nobody", "pilot", true); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown device: %v", err)
	}
	if _, err := s.SetDeviceGroup(ctx, "dev-a", "bad group", true); !errors.Is(err, storage.ErrInvalidID) {
		t.Errorf("bad group name: %v", err)
	}
}

// TestEnforcementRecordsSurviveReopen: policies, the catalog and the group
// index are on disk, not in memory.
func TestEnforcementRecordsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tidemark.db")
	s := openAt(t, path)
	enrollPolicyDevice(t, s, "dev-a")
	if err := s.PutPolicy(ctx, samplePolicy("p1", 1), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCatalog(ctx, storage.CatalogRecord{Raw: []byte(`{}`), Source: "s", Fingerprint: "f"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetDeviceGroup(ctx, "dev-a", "pilot", true); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path)
	s = openAt(t, path)
	defer s.Close()
	if p, err := s.Policy(ctx, "p1"); err != nil || p.Version != 1 || p.Name != "Policy p1" {
		t.Errorf("policy after reopen: %+v %v", p, err)
	}
	if c, err := s.StoredCatalog(ctx); err != nil || string(c.Raw) != `{}` || c.Fingerprint != "f" {
		t.Errorf("catalog after reopen: %+v %v", c, err)
	}
	if g, err := s.Groups(ctx); err != nil || len(g) != 1 || g[0].Members != 1 {
		t.Errorf("groups after reopen: %+v %v", g, err)
	}
}

func enrollPolicyDevice(t *testing.T, s *bolt.Store, id string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Authenticate(ctx, storage.Enrollment{DeviceID: id, CertHash: "hash-" + id}, policyT0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUpdate(ctx, id, storage.TokenUpdate{Topic: "t", PushMagic: "m", PushToken: []byte{1}}, policyT0); err != nil {
		t.Fatal(err)
	}
}

// TestGroupIndexHeals: a membership written around the GroupStore (the
// index lags the record) is indexed by the next SetDeviceGroup.
func TestGroupIndexHeals(t *testing.T) {
	ctx := context.Background()
	s, _ := newPolicyStore(t)
	enrollPolicyDevice(t, s, "dev-a")
	err := s.UpdateDevice(ctx, "dev-a", func(d *storage.Device) (bool, error) {
		d.Groups = []string{"pilot"}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Groups(ctx); len(g) != 0 {
		t.Fatalf("index before healing: %+v", g)
	}
	changed, err := s.SetDeviceGroup(ctx, "dev-a", "pilot", true)
	if err != nil || changed {
		t.Fatalf("SetDeviceGroup = %t, %v; want unchanged record", changed, err)
	}
	if m, _ := s.GroupMembers(ctx, "pilot"); !reflect.DeepEqual(m, []string{"dev-a"}) {
		t.Fatalf("index after healing: %v", m)
	}
}
