package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func testDDMDeviceScoped(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	putDecl(t, s, decl("p1", `{"v":"global"}`), at(0), true)
	updateSet(t, s, "s1", []string{"p1"}, nil, at(0), true)
	assign(t, s, "s1", at(1), "a", "b")
	syncs(t, s)
	put := func(dev, payload string, want bool) {
		t.Helper()
		changed, err := s.PutDeviceDeclaration(ctx(t), dev, decl("p1", payload), at(2))
		noErr(t, "PutDeviceDeclaration", err)
		if changed != want {
			t.Fatalf("PutDeviceDeclaration(%s, %s) changed = %v, want %v", dev, payload, changed, want)
		}
	}
	put("a", `{"v":"a"}`, true)
	put("a", `{"v":"a"}`, false)
	wantSyncs(t, s, "device-scoped put", []string{"a"})
	if got := held(t, s, "a"); !reflect.DeepEqual(got, []string{`p1={"v":"a"}`}) {
		t.Fatalf("a holds %v, want its own p1", got)
	}
	putDecl(t, s, decl("p1", `{"v":"global2"}`), at(3), true)
	wantSyncs(t, s, "global change hidden on a", []string{"b"})
	_, err := s.PutDeviceDeclaration(ctx(t), "ghost", decl("p1", `{}`), at(3))
	wantErr(t, "device-scoped on unknown device", err, storage.ErrNotFound)
	changed, err := s.DeleteDeviceDeclaration(ctx(t), "a", "p1", at(4))
	if err != nil || !changed {
		t.Fatalf("DeleteDeviceDeclaration = %v, %v", changed, err)
	}
	wantSyncs(t, s, "device-scoped delete", []string{"a"})
	if got := held(t, s, "a"); !reflect.DeepEqual(got, []string{`p1={"v":"global2"}`}) {
		t.Fatalf("a holds %v after delete, want the global p1", got)
	}
	if changed, _ := s.DeleteDeviceDeclaration(ctx(t), "a", "p1", at(5)); changed {
		t.Fatal("second device-scoped delete changed something")
	}
	wantSyncs(t, s, "nothing deleted")
}

func testDDMIndexesAfterDelete(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	putDecl(t, s, decl("d1", `{}`), at(0), true)
	updateSet(t, s, "s1", []string{"d1"}, nil, at(0), true)
	assign(t, s, "s1", at(1), "a", "b")
	set, err := s.Set(ctx(t), "s1")
	noErr(t, "Set", err)
	if !reflect.DeepEqual(set.Devices, []string{"a", "b"}) || set.DeviceCount != 2 || !reflect.DeepEqual(set.Declarations, []string{"d1"}) {
		t.Fatalf("Set = %+v", set)
	}
	if _, err := s.UnassignSet(ctx(t), "s1", []string{"a"}, at(2)); err != nil {
		t.Fatal(err)
	}
	dd, err := s.DeviceDeclarations(ctx(t), "a")
	noErr(t, "DeviceDeclarations", err)
	if len(dd.Sets) != 0 || len(dd.Declarations) != 0 {
		t.Fatalf("a after unassign: %+v", dd)
	}
	if set, _ = s.Set(ctx(t), "s1"); !reflect.DeepEqual(set.Devices, []string{"b"}) {
		t.Fatalf("s1 devices after unassign: %v", set.Devices)
	}
	if _, err := s.DeleteSet(ctx(t), "s1", at(3)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Set(ctx(t), "s1")
	wantErr(t, "Set after delete", err, storage.ErrNotFound)
	sets, _, err := s.DeclarationUsage(ctx(t), "d1")
	noErr(t, "DeclarationUsage", err)
	if dd, _ = s.DeviceDeclarations(ctx(t), "b"); len(sets) != 0 || len(dd.Sets) != 0 {
		t.Fatalf("indexes kept the deleted set: usage %v, b's sets %v", sets, dd.Sets)
	}
	all, err := s.Sets(ctx(t))
	noErr(t, "Sets", err)
	if len(all) != 0 {
		t.Fatalf("Sets after delete = %+v", all)
	}
	if changed, err := s.DeleteDeclaration(ctx(t), "d1"); err != nil || !changed {
		t.Fatalf("d1 is in no set any more, delete = %v, %v", changed, err)
	}
}

func testDDMLastModified(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	putDecl(t, s, decl("d1", `{}`), at(0), true)
	putDecl(t, s, decl("d2", `{}`), at(1), true)
	updateSet(t, s, "s1", []string{"d1", "d2"}, nil, at(2), true)
	assign(t, s, "s1", at(3), "a")
	lm := func() string {
		dd, err := s.DeviceDeclarations(ctx(t), "a")
		noErr(t, "DeviceDeclarations", err)
		return dd.LastModified.Format("15:04")
	}
	if got := lm(); got != "09:33" {
		t.Fatalf("after assign: %s, want 09:33", got)
	}
	putDecl(t, s, decl("d1", `{}`), at(10), false)
	updateSet(t, s, "s1", []string{"d1"}, nil, at(11), false)
	assign(t, s, "s1", at(12), "a")
	if got := lm(); got != "09:33" {
		t.Fatalf("unchanged writes moved LastModified to %s", got)
	}
	putDecl(t, s, decl("d2", `{"x":1}`), at(13), true)
	if got := lm(); got != "09:43" {
		t.Fatalf("after d2 changed: %s, want 09:43", got)
	}
	updateSet(t, s, "s1", nil, []string{"d2"}, at(14), true)
	if got := lm(); got != "09:44" {
		t.Fatalf("after d2 left the set: %s, want 09:44", got)
	}
}

func testDDMStatus(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	for i := range 5 {
		err := s.AddDDMStatus(ctx(t), "a", storage.DDMStatusUpdate{
			At: at(i), Report: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Keep: 3,
			Latest: func(old []byte) ([]byte, error) { return fmt.Appendf(nil, "%s+%d", old, i), nil },
			Facts:  func(d *storage.Device) bool { d.Facts.OSVersion = fmt.Sprintf("26.%d", i); return true },
		})
		noErr(t, "AddDDMStatus", err)
	}
	hist, err := s.DDMStatusHistory(ctx(t), "a", 0)
	noErr(t, "DDMStatusHistory", err)
	var got []string
	for _, e := range hist {
		got = append(got, string(e.Report))
	}
	if !reflect.DeepEqual(got, []string{`{"n":4}`, `{"n":3}`, `{"n":2}`}) {
		t.Fatalf("history = %v, want the 3 newest, newest first", got)
	}
	if limited, _ := s.DDMStatusHistory(ctx(t), "a", 1); len(limited) != 1 || !limited[0].At.Equal(at(4)) {
		t.Fatalf("history(1) = %+v", limited)
	}
	latest, err := s.Blob(ctx(t), storage.DDMStatusCollection, "a")
	if err != nil || string(latest) != "+0+1+2+3+4" {
		t.Fatalf("latest = %q, %v", latest, err)
	}
	if v := device(t, s, "a").Facts.OSVersion; v != "26.4" {
		t.Fatalf("facts OSVersion = %q", v)
	}
	if other, _ := s.DDMStatusHistory(ctx(t), "b", 0); len(other) != 0 {
		t.Fatalf("b got a's history: %+v", other)
	}
	if _, err := s.Blob(ctx(t), storage.DDMStatusCollection, "b"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("b's latest status: %v", err)
	}
	err = s.AddDDMStatus(ctx(t), "ghost", storage.DDMStatusUpdate{At: at(0), Report: json.RawMessage(`{}`), Keep: 3})
	wantErr(t, "status of unknown device", err, storage.ErrNotFound)
}

func testDDMCheckin(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	for i, want := range []bool{true, false} {
		changed, err := s.MarkDDMCheckin(ctx(t), "a", at(5+i))
		noErr(t, "MarkDDMCheckin", err)
		if changed != want {
			t.Fatalf("MarkDDMCheckin #%d changed = %v", i+1, changed)
		}
	}
	dd, err := s.DeviceDeclarations(ctx(t), "a")
	noErr(t, "DeviceDeclarations", err)
	if !dd.CheckinSeen || !dd.CheckinAt.Equal(at(5)) || !dd.LastModified.IsZero() {
		t.Fatalf("after first check-in: %+v", dd)
	}
	_, err = s.MarkDDMCheckin(ctx(t), "ghost", at(5))
	wantErr(t, "check-in of unknown device", err, storage.ErrNotFound)
}

func testDDMSyncAck(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	noErr(t, "RequestDDMSync", s.RequestDDMSync(ctx(t), []string{"b", "a", "b"}, at(1)))
	noErr(t, "RequestDDMSync", s.RequestDDMSync(ctx(t), []string{"a"}, at(2)))
	items, err := s.DDMSyncs(ctx(t), 1)
	noErr(t, "DDMSyncs", err)
	if len(items) != 1 || !reflect.DeepEqual(items[0].DeviceIDs, []string{"a", "b"}) || !items[0].CreatedAt.Equal(at(1)) {
		t.Fatalf("DDMSyncs(1) = %+v", items)
	}
	noErr(t, "AckDDMSyncs", s.AckDDMSyncs(ctx(t), items[0].Seq))
	wantSyncs(t, s, "after ack", []string{"a"})
	if pushes, _ := s.Outbox(ctx(t), 0); len(pushes) != 0 {
		t.Fatalf("DDM syncs leaked into the push outbox: %+v", pushes)
	}
}

func testDDMInvalidNames(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	for _, bad := range []string{"", ".hidden", "a\x00b", "a/b", "../x"} {
		_, err := s.PutDeclaration(ctx(t), decl(bad, `{}`), at(0))
		wantErr(t, fmt.Sprintf("PutDeclaration(%q)", bad), err, storage.ErrInvalidID)
		_, err = s.UpdateSet(ctx(t), bad, nil, nil, at(0))
		wantErr(t, fmt.Sprintf("UpdateSet(%q)", bad), err, storage.ErrInvalidID)
	}
	_, err := s.AssignSet(ctx(t), "s", []string{"a\x00"}, at(0))
	wantErr(t, "AssignSet(bad device)", err, storage.ErrInvalidID)
}
