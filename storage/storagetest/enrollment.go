package storagetest

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func enrollmentTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"NotEnrolledUntilTokenUpdate":   testNotEnrolledUntilTokenUpdate,
		"FirstEnrollmentReportedOnce":   testFirstEnrollmentOnce,
		"CheckOutStopsDelivery":         testCheckOut,
		"UnknownDevice":                 testUnknownDevice,
		"TouchLastSeenOnlyMovesForward": testTouchLastSeen,
		"UpdateDeviceReadModifyWrite":   testUpdateDevice,
		"DevicesFilterAndPagination":    testDevicesFilter,
	}
}

func testNotEnrolledUntilTokenUpdate(t *testing.T, s storage.Store) {
	authenticate(t, s, "a", certHash("a"), at(0))
	if device(t, s, "a").Enrolled {
		t.Fatal("device enrolled before its TokenUpdate")
	}
	wantErr(t, "Enqueue before TokenUpdate", s.Enqueue(ctx(t), command("c-1"), []string{"a"}), storage.ErrNotEnrolled)
	enrolled := true
	list, err := s.Devices(ctx(t), storage.DeviceFilter{Enrolled: &enrolled})
	noErr(t, "Devices", err)
	if len(list) != 0 {
		t.Fatalf("Devices(enrolled) = %d devices, want 0", len(list))
	}
	_, err = s.TokenUpdate(ctx(t), "a", pushTokens("a"), at(1))
	noErr(t, "TokenUpdate", err)
	d := device(t, s, "a")
	if !d.Enrolled || !d.EnrolledAt.Equal(at(1)) || d.PushMagic != "magic-a" || !bytes.Equal(d.PushToken, []byte("token-a")) {
		t.Fatalf("device after TokenUpdate = %+v", d)
	}
	if d.Topic != "com.apple.mgmt.External.test" {
		t.Fatalf("Topic = %q", d.Topic)
	}
}

func testFirstEnrollmentOnce(t *testing.T, s storage.Store) {
	authenticate(t, s, "a", certHash("a"), at(0))
	for i, want := range []bool{true, false, false} {
		tu := storage.TokenUpdate{Topic: "topic", PushMagic: "m", PushToken: []byte{byte(i)}}
		first, err := s.TokenUpdate(ctx(t), "a", tu, at(1+i))
		noErr(t, "TokenUpdate", err)
		if first != want {
			t.Fatalf("TokenUpdate #%d firstEnrollment = %v, want %v", i+1, first, want)
		}
	}
	d := device(t, s, "a")
	if !d.EnrolledAt.Equal(at(1)) || !bytes.Equal(d.PushToken, []byte{2}) {
		t.Fatalf("EnrolledAt %v (want %v), PushToken %v (want the latest, [2])", d.EnrolledAt, at(1), d.PushToken)
	}
}

func testCheckOut(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	noErr(t, "CheckOut", s.CheckOut(ctx(t), "a", at(10)))
	for _, idle := range []bool{true, false} {
		if got := next(t, s, "a", idle); got != "" {
			t.Fatalf("NextCommand(idle=%v) after CheckOut = %q, want none", idle, got)
		}
	}
	wantErr(t, "Enqueue after CheckOut", s.Enqueue(ctx(t), command("c-2"), []string{"a"}), storage.ErrNotEnrolled)
	_, err := s.Command(ctx(t), "c-2")
	wantErr(t, "Command(c-2) refused by Enqueue", err, storage.ErrNotFound)
	d := device(t, s, "a")
	if d.Enrolled || !d.CheckedOutAt.Equal(at(10)) {
		t.Fatalf("device after CheckOut: enrolled %v, CheckedOutAt %v", d.Enrolled, d.CheckedOutAt)
	}
}

func testUnknownDevice(t *testing.T, s storage.Store) {
	c := ctx(t)
	calls := map[string]func() error{
		"TokenUpdate":   func() error { _, err := s.TokenUpdate(c, "ghost", pushTokens("ghost"), at(1)); return err },
		"CheckOut":      func() error { return s.CheckOut(c, "ghost", at(1)) },
		"TouchLastSeen": func() error { return s.TouchLastSeen(c, "ghost", at(1)) },
		"Device":        func() error { _, err := s.Device(c, "ghost"); return err },
		"UpdateDevice": func() error {
			return s.UpdateDevice(c, "ghost", func(*storage.Device) (bool, error) { return true, nil })
		},
		"SetBootstrapToken": func() error { return s.SetBootstrapToken(c, "ghost", []byte("x"), at(1)) },
		"BootstrapToken":    func() error { _, err := s.BootstrapToken(c, "ghost"); return err },
		"UnlockToken":       func() error { _, err := s.UnlockToken(c, "ghost"); return err },
		"Enqueue":           func() error { return s.Enqueue(c, command("c-1"), []string{"ghost"}) },
		"Cancel":            func() error { return s.Cancel(c, "ghost", "c-1") },
		"Result":            func() error { _, err := s.Result(c, "ghost", "c-1"); return err },
	}
	for name, call := range calls {
		wantErr(t, name+"(ghost)", call(), storage.ErrNotFound)
	}
	if got := next(t, s, "ghost", true); got != "" {
		t.Fatalf("NextCommand(ghost) = %q, want none", got)
	}
	list, err := s.Devices(c, storage.DeviceFilter{})
	noErr(t, "Devices", err)
	if len(list) != 0 {
		t.Fatalf("calls for an unknown device created %d device(s)", len(list))
	}
}

func testTouchLastSeen(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	noErr(t, "TouchLastSeen", s.TouchLastSeen(ctx(t), "a", at(30)))
	if d := device(t, s, "a"); !d.LastSeen.Equal(at(30)) {
		t.Fatalf("LastSeen = %v, want %v", d.LastSeen, at(30))
	}
	noErr(t, "TouchLastSeen(older)", s.TouchLastSeen(ctx(t), "a", at(20)))
	if d := device(t, s, "a"); !d.LastSeen.Equal(at(30)) {
		t.Fatalf("an older stamp moved LastSeen back to %v", d.LastSeen)
	}
}

func testUpdateDevice(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	before := device(t, s, "a")
	boom := errors.New("boom")
	err := s.UpdateDevice(ctx(t), "a", func(d *storage.Device) (bool, error) { d.Groups = []string{"x"}; return true, boom })
	wantErr(t, "UpdateDevice returning an error", err, boom)
	noErr(t, "UpdateDevice(unchanged)", s.UpdateDevice(ctx(t), "a", func(d *storage.Device) (bool, error) {
		d.Groups = []string{"y"}
		return false, nil
	}))
	if after := device(t, s, "a"); !reflect.DeepEqual(before, after) {
		t.Fatalf("a failed or unchanged UpdateDevice wrote:\nbefore %+v\nafter  %+v", before, after)
	}
	noErr(t, "UpdateDevice", s.UpdateDevice(ctx(t), "a", func(d *storage.Device) (bool, error) {
		d.Groups, d.ID = []string{"lab"}, "hijack"
		return true, nil
	}))
	if d := device(t, s, "a"); !reflect.DeepEqual(d.Groups, []string{"lab"}) || d.ID != "a" {
		t.Fatalf("after UpdateDevice: id %q groups %v; want a, [lab]", d.ID, d.Groups)
	}
	_, err = s.Device(ctx(t), "hijack")
	wantErr(t, "Device(hijack)", err, storage.ErrNotFound)
}

func testDevicesFilter(t *testing.T, s storage.Store) {
	enroll(t, s, "d1", "d2", "d3")
	authenticate(t, s, "d4", certHash("d4"), at(0))
	noErr(t, "UpdateDevice", s.UpdateDevice(ctx(t), "d2", func(d *storage.Device) (bool, error) {
		d.Facts.Platform, d.Groups = "iOS", []string{"lab", "kiosk"}
		return true, nil
	}))
	yes, no := true, false
	cases := []struct {
		name   string
		filter storage.DeviceFilter
		want   []string
	}{
		{"All", storage.DeviceFilter{}, []string{"d1", "d2", "d3", "d4"}},
		{"Enrolled", storage.DeviceFilter{Enrolled: &yes}, []string{"d1", "d2", "d3"}},
		{"NotEnrolled", storage.DeviceFilter{Enrolled: &no}, []string{"d4"}},
		{"Platform", storage.DeviceFilter{Platform: "iOS"}, []string{"d2"}},
		{"Group", storage.DeviceFilter{Group: "kiosk"}, []string{"d2"}},
		{"UnknownGroup", storage.DeviceFilter{Group: "none"}, nil},
		{"Limit", storage.DeviceFilter{Limit: 2}, []string{"d1", "d2"}},
		{"After", storage.DeviceFilter{After: "d2", Limit: 2}, []string{"d3", "d4"}},
		{"AfterMissingID", storage.DeviceFilter{After: "d25"}, []string{"d3", "d4"}},
		{"AfterLast", storage.DeviceFilter{After: "d4"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			list, err := s.Devices(ctx(t), c.filter)
			noErr(t, "Devices", err)
			var got []string
			for _, d := range list {
				got = append(got, d.ID)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Devices(%+v) = %v, want %v", c.filter, got, c.want)
			}
		})
	}
}
