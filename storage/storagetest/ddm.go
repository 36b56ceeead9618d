package storagetest

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

// RunDDM runs the conformance tests of storage.DDMStore: declarations,
// sets, assignment indexes, the sync outbox and DDM status. newStore is as
// for Run.
func RunDDM(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := ddmTests()
	for _, name := range slices.Sorted(maps.Keys(tests)) {
		t.Run(name, func(t *testing.T) { tests[name](t, newStore(t)) })
	}
}

func ddmTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"PutUnchangedWritesNothing":      testDDMPutUnchanged,
		"ReferencesMustExist":            testDDMReferences,
		"DeleteRefusedWhileInUse":        testDDMDeleteInUse,
		"AssignSyncsExactlyAffected":     testDDMAssign,
		"ChangedPayloadSyncsHolders":     testDDMChangedPayload,
		"SetMembershipSyncsOnlyChanged":  testDDMSetMembership,
		"DeviceScopedOverridesGlobal":    testDDMDeviceScoped,
		"IndexesAfterDeleteAndUnassign":  testDDMIndexesAfterDelete,
		"LastModifiedStableAndMonotonic": testDDMLastModified,
		"StatusHistoryBoundedPerDevice":  testDDMStatus,
		"CheckinSeenOnce":                testDDMCheckin,
		"SyncQueueAck":                   testDDMSyncAck,
		"InvalidNamesRefused":            testDDMInvalidNames,
	}
}

func decl(id, payload string, refs ...string) storage.DeclarationRecord {
	typ := "com.apple.configuration.softwareupdate.enforcement.specific"
	if len(refs) > 0 {
		typ = "com.apple.activation.simple"
	}
	return storage.DeclarationRecord{Identifier: id, Type: typ, Payload: json.RawMessage(payload),
		ServerToken: "tok-" + payload, References: refs}
}

func putDecl(t *testing.T, s storage.Store, d storage.DeclarationRecord, when time.Time, want bool) {
	t.Helper()
	changed, err := s.PutDeclaration(ctx(t), d, when)
	noErr(t, "PutDeclaration("+d.Identifier+")", err)
	if changed != want {
		t.Fatalf("PutDeclaration(%s) changed = %v, want %v", d.Identifier, changed, want)
	}
}

func updateSet(t *testing.T, s storage.Store, name string, add, remove []string, when time.Time, want bool) {
	t.Helper()
	changed, err := s.UpdateSet(ctx(t), name, add, remove, when)
	noErr(t, "UpdateSet("+name+")", err)
	if changed != want {
		t.Fatalf("UpdateSet(%s, +%v, -%v) changed = %v, want %v", name, add, remove, changed, want)
	}
}

func assign(t *testing.T, s storage.Store, set string, when time.Time, ids ...string) []string {
	t.Helper()
	changed, err := s.AssignSet(ctx(t), set, ids, when)
	noErr(t, "AssignSet("+set+")", err)
	return changed
}

// syncs drains the DDM sync queue and returns the device lists in order.
func syncs(t *testing.T, s storage.Store) [][]string {
	t.Helper()
	items, err := s.DDMSyncs(ctx(t), 0)
	noErr(t, "DDMSyncs", err)
	out := [][]string{}
	var seqs []uint64
	for _, it := range items {
		if it.Kind != storage.OutboxDDMSync {
			t.Fatalf("DDM sync item of kind %q", it.Kind)
		}
		out = append(out, it.DeviceIDs)
		seqs = append(seqs, it.Seq)
	}
	noErr(t, "AckDDMSyncs", s.AckDDMSyncs(ctx(t), seqs...))
	return out
}

func wantSyncs(t *testing.T, s storage.Store, what string, want ...[]string) {
	t.Helper()
	if want == nil {
		want = [][]string{}
	}
	if got := syncs(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: sync items %v, want %v", what, got, want)
	}
}

func held(t *testing.T, s storage.Store, dev string) []string {
	t.Helper()
	dd, err := s.DeviceDeclarations(ctx(t), dev)
	noErr(t, "DeviceDeclarations("+dev+")", err)
	out := []string{}
	for _, d := range dd.Declarations {
		out = append(out, d.Identifier+"="+string(d.Payload))
	}
	return out
}

func testDDMPutUnchanged(t *testing.T, s storage.Store) {
	putDecl(t, s, decl("d1", `{"a":1}`), at(0), true)
	putDecl(t, s, decl("d1", `{"a":1}`), at(5), false)
	got, err := s.Declaration(ctx(t), "d1")
	noErr(t, "Declaration", err)
	if !got.UpdatedAt.Equal(at(0)) || !got.CreatedAt.Equal(at(0)) {
		t.Fatalf("unchanged put moved the times: %+v", got)
	}
	putDecl(t, s, decl("d1", `{"a":2}`), at(9), true)
	got, err = s.Declaration(ctx(t), "d1")
	noErr(t, "Declaration", err)
	if !got.CreatedAt.Equal(at(0)) || !got.UpdatedAt.Equal(at(9)) || string(got.Payload) != `{"a":2}` {
		t.Fatalf("changed put: %+v", got)
	}
	_, err = s.Declaration(ctx(t), "nope")
	wantErr(t, "Declaration(nope)", err, storage.ErrNotFound)
	wantSyncs(t, s, "declarations in no set")
}

func testDDMReferences(t *testing.T, s storage.Store) {
	_, err := s.PutDeclaration(ctx(t), decl("act", `{}`, "missing"), at(0))
	wantErr(t, "activation of a missing configuration", err, storage.ErrNotFound)
	_, err = s.PutDeclaration(ctx(t), decl("act", `{}`, "act"), at(0))
	wantErr(t, "activation of itself", err, storage.ErrNotFound)
	putDecl(t, s, decl("cfg", `{}`), at(0), true)
	putDecl(t, s, decl("act", `{"x":1}`, "cfg"), at(1), true)
	_, acts, err := s.DeclarationUsage(ctx(t), "cfg")
	noErr(t, "DeclarationUsage", err)
	if !reflect.DeepEqual(acts, []string{"act"}) {
		t.Fatalf("cfg referenced by %v, want [act]", acts)
	}
	putDecl(t, s, decl("cfg2", `{}`), at(2), true)
	putDecl(t, s, decl("act", `{"x":2}`, "cfg2"), at(3), true)
	_, acts, _ = s.DeclarationUsage(ctx(t), "cfg")
	if len(acts) != 0 {
		t.Fatalf("reference index kept the old reference: %v", acts)
	}
}

func testDDMDeleteInUse(t *testing.T, s storage.Store) {
	putDecl(t, s, decl("cfg", `{}`), at(0), true)
	putDecl(t, s, decl("act", `{}`, "cfg"), at(0), true)
	updateSet(t, s, "s1", []string{"cfg"}, nil, at(1), true)
	_, err := s.DeleteDeclaration(ctx(t), "cfg")
	var inUse *storage.InUseError
	if !errors.As(err, &inUse) || !errors.Is(err, storage.ErrInUse) ||
		!reflect.DeepEqual(inUse.Sets, []string{"s1"}) || !reflect.DeepEqual(inUse.Activations, []string{"act"}) {
		t.Fatalf("DeleteDeclaration(cfg) = %v, want InUseError naming s1 and act", err)
	}
	updateSet(t, s, "s1", nil, []string{"cfg"}, at(2), true)
	changed, err := s.DeleteDeclaration(ctx(t), "act")
	noErr(t, "DeleteDeclaration(act)", err)
	if !changed {
		t.Fatal("DeleteDeclaration(act) changed = false")
	}
	changed, err = s.DeleteDeclaration(ctx(t), "cfg")
	if err != nil || !changed {
		t.Fatalf("DeleteDeclaration(cfg) after its users left = %v, %v", changed, err)
	}
	if changed, err = s.DeleteDeclaration(ctx(t), "cfg"); err != nil || changed {
		t.Fatalf("second delete = %v, %v; want unchanged", changed, err)
	}
}

func testDDMAssign(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b", "c")
	putDecl(t, s, decl("d1", `{}`), at(0), true)
	updateSet(t, s, "s1", []string{"d1"}, nil, at(1), true)
	updateSet(t, s, "s1", []string{"d1"}, nil, at(2), false)
	wantSyncs(t, s, "set with no devices")
	if got := assign(t, s, "s1", at(3), "b", "a"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("AssignSet changed %v, want [a b]", got)
	}
	wantSyncs(t, s, "assign", []string{"a", "b"})
	if got := assign(t, s, "s1", at(4), "a", "b", "c"); !reflect.DeepEqual(got, []string{"c"}) {
		t.Fatalf("AssignSet again changed %v, want [c]", got)
	}
	wantSyncs(t, s, "re-assign", []string{"c"})
	_, err := s.AssignSet(ctx(t), "s1", []string{"ghost"}, at(5))
	wantErr(t, "assign unknown device", err, storage.ErrNotFound)
	_, err = s.AssignSet(ctx(t), "nope", []string{"a"}, at(5))
	wantErr(t, "assign unknown set", err, storage.ErrNotFound)
	// A second set holding the same declaration changes nothing on a.
	updateSet(t, s, "s2", []string{"d1"}, nil, at(6), true)
	if got := assign(t, s, "s2", at(7), "a"); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("AssignSet(s2) changed %v", got)
	}
	wantSyncs(t, s, "assignment that adds nothing new")
	changed, err := s.UnassignSet(ctx(t), "s1", []string{"a", "b"}, at(8))
	noErr(t, "UnassignSet", err)
	if !reflect.DeepEqual(changed, []string{"a", "b"}) {
		t.Fatalf("UnassignSet changed %v", changed)
	}
	wantSyncs(t, s, "unassign (a still holds d1 through s2)", []string{"b"})
}

func testDDMChangedPayload(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b", "c")
	putDecl(t, s, decl("d1", `{"v":1}`), at(0), true)
	putDecl(t, s, decl("d2", `{"v":1}`), at(0), true)
	updateSet(t, s, "s1", []string{"d1"}, nil, at(1), true)
	updateSet(t, s, "s2", []string{"d1", "d2"}, nil, at(1), true)
	assign(t, s, "s1", at(2), "a")
	assign(t, s, "s2", at(2), "a", "b")
	syncs(t, s)
	putDecl(t, s, decl("d1", `{"v":1}`), at(3), false)
	wantSyncs(t, s, "unchanged put")
	putDecl(t, s, decl("d1", `{"v":2}`), at(4), true)
	wantSyncs(t, s, "d1 changed", []string{"a", "b"})
	putDecl(t, s, decl("d2", `{"v":2}`), at(5), true)
	wantSyncs(t, s, "d2 changed", []string{"a", "b"})
	if got := held(t, s, "a"); !reflect.DeepEqual(got, []string{`d1={"v":2}`, `d2={"v":2}`}) {
		t.Fatalf("a holds %v", got)
	}
	if got := held(t, s, "c"); len(got) != 0 {
		t.Fatalf("c holds %v", got)
	}
}

func testDDMSetMembership(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	putDecl(t, s, decl("d1", `{}`), at(0), true)
	putDecl(t, s, decl("d2", `{}`), at(0), true)
	updateSet(t, s, "s1", nil, nil, at(1), true)
	updateSet(t, s, "s2", []string{"d1"}, nil, at(1), true)
	assign(t, s, "s1", at(2), "a", "b")
	assign(t, s, "s2", at(2), "a")
	syncs(t, s)
	updateSet(t, s, "s1", []string{"d1"}, nil, at(3), true)
	wantSyncs(t, s, "add d1 to s1 (a has it through s2)", []string{"b"})
	updateSet(t, s, "s1", nil, []string{"d2"}, at(4), false)
	wantSyncs(t, s, "remove a declaration not in the set")
	_, err := s.UpdateSet(ctx(t), "s1", []string{"ghost"}, nil, at(5))
	wantErr(t, "add a missing declaration", err, storage.ErrNotFound)
	changed, err := s.DeleteSet(ctx(t), "s1", at(6))
	if err != nil || !changed {
		t.Fatalf("DeleteSet = %v, %v", changed, err)
	}
	wantSyncs(t, s, "delete s1", []string{"b"})
}
