package storagetest

import (
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func bindingTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"NewDevice":                    testAuthenticateNewDevice,
		"CheckBinding":                 testCheckBinding,
		"PeerCertRefusedForNewDevice":  testPeerCertNewDevice,
		"PeerCertRefusedForKnownPeer":  testPeerCertKnownDevice,
		"ReenrollWithNewCert":          testReenrollNewCert,
		"ReenrolledDeviceStartsAfresh": testReenrolledStartsAfresh,
		"EmptyCertHashRefused":         testEmptyCertHash,
	}
}

func testAuthenticateNewDevice(t *testing.T, s storage.Store) {
	if re := authenticate(t, s, "mac-1", certHash("mac-1"), at(0)); re {
		t.Fatal("Authenticate of a new device reported reenrolled=true")
	}
	d := device(t, s, "mac-1")
	if d.ID != "mac-1" || d.CertHash != certHash("mac-1") || d.Enrolled {
		t.Fatalf("device = id %q hash %q enrolled %v; want mac-1, its hash, not enrolled", d.ID, d.CertHash, d.Enrolled)
	}
	if !d.FirstSeen.Equal(at(0)) || !d.LastSeen.Equal(at(0)) || !d.CertNotAfter.Equal(at(0).AddDate(1, 0, 0)) {
		t.Fatalf("times = first %v last %v notAfter %v", d.FirstSeen, d.LastSeen, d.CertNotAfter)
	}
	if d.Facts.Platform != "macOS" || d.Facts.OSVersion != "15.3" || d.Facts.SerialNumber != "SN-mac-1" {
		t.Fatalf("facts not stored: %+v", d.Facts)
	}
	noErr(t, "CheckBinding", s.CheckBinding(ctx(t), "mac-1", certHash("mac-1")))
}

func testCheckBinding(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	cases := []struct {
		name, id, hash string
		want           error
	}{
		{"Bound", "a", certHash("a"), nil},
		{"UnknownHash", "a", "sha256:nobody", storage.ErrCertMismatch},
		{"HashOfPeer", "a", certHash("b"), storage.ErrCertBoundToPeer},
		{"EmptyHash", "a", "", storage.ErrCertMismatch},
		{"UnknownDeviceUnknownHash", "ghost", "sha256:nobody", storage.ErrCertMismatch},
		{"UnknownDeviceHashOfPeer", "ghost", certHash("b"), storage.ErrCertBoundToPeer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.CheckBinding(ctx(t), c.id, c.hash)
			if c.want == nil {
				noErr(t, "CheckBinding", err)
				return
			}
			wantErr(t, "CheckBinding", err, c.want)
		})
	}
}

// deviceState is everything a refused Authenticate must leave untouched.
type deviceState struct {
	Device *storage.Device
	Err    string
	Queue  []string
	Events []storage.Event
}

func stateOf(t *testing.T, s storage.Store, id string) deviceState {
	t.Helper()
	d, err := s.Device(ctx(t), id)
	st := deviceState{Device: d, Queue: queueUUIDs(t, s, id)}
	if err != nil {
		st.Err = err.Error()
	}
	st.Events, err = s.Events(ctx(t), id, 0)
	noErr(t, "Events", err)
	return st
}

func testPeerCertNewDevice(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-a", "a")
	beforeA := stateOf(t, s, "a")
	_, err := s.Authenticate(ctx(t), storage.Enrollment{DeviceID: "b", CertHash: certHash("a")}, at(10))
	wantErr(t, "Authenticate(b, hash of a)", err, storage.ErrCertBoundToPeer)
	_, err = s.Device(ctx(t), "b")
	wantErr(t, "Device(b) after refusal", err, storage.ErrNotFound)
	if after := stateOf(t, s, "a"); !reflect.DeepEqual(beforeA, after) {
		t.Fatalf("device a changed:\nbefore %+v\nafter  %+v", beforeA, after)
	}
	noErr(t, "CheckBinding(a)", s.CheckBinding(ctx(t), "a", certHash("a")))
	wantErr(t, "CheckBinding(b, hash of a)", s.CheckBinding(ctx(t), "b", certHash("a")), storage.ErrCertBoundToPeer)
}

func testPeerCertKnownDevice(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	enqueue(t, s, "c-a", "a")
	enqueue(t, s, "c-b", "b")
	beforeA, beforeB := stateOf(t, s, "a"), stateOf(t, s, "b")
	_, err := s.Authenticate(ctx(t), storage.Enrollment{DeviceID: "b", CertHash: certHash("a")}, at(10))
	wantErr(t, "Authenticate(b, hash of a)", err, storage.ErrCertBoundToPeer)
	if after := stateOf(t, s, "a"); !reflect.DeepEqual(beforeA, after) {
		t.Fatalf("device a changed:\nbefore %+v\nafter  %+v", beforeA, after)
	}
	if after := stateOf(t, s, "b"); !reflect.DeepEqual(beforeB, after) {
		t.Fatalf("device b changed:\nbefore %+v\nafter  %+v", beforeB, after)
	}
	noErr(t, "CheckBinding(a)", s.CheckBinding(ctx(t), "a", certHash("a")))
	noErr(t, "CheckBinding(b)", s.CheckBinding(ctx(t), "b", certHash("b")))
}

// withSecretsAndQueue gives an enrolled device everything re-enrollment drops.
func withSecretsAndQueue(t *testing.T, s storage.Store, id string) {
	t.Helper()
	enroll(t, s, id)
	tu := pushTokens(id)
	tu.UnlockToken = []byte("unlock-" + id)
	_, err := s.TokenUpdate(ctx(t), id, tu, at(2))
	noErr(t, "TokenUpdate with unlock token", err)
	noErr(t, "SetBootstrapToken", s.SetBootstrapToken(ctx(t), id, []byte("sealed-"+id), at(2)))
	enqueue(t, s, "c-1", id)
	enqueue(t, s, "c-2", id)
}

func testReenrollNewCert(t *testing.T, s storage.Store) {
	withSecretsAndQueue(t, s, "a")
	if re := authenticate(t, s, "a", "sha256:new", at(20)); !re {
		t.Fatal("Authenticate with a new certificate reported reenrolled=false")
	}
	wantErr(t, "CheckBinding(old hash)", s.CheckBinding(ctx(t), "a", certHash("a")), storage.ErrCertMismatch)
	noErr(t, "CheckBinding(new hash)", s.CheckBinding(ctx(t), "a", "sha256:new"))
	if q := queueUUIDs(t, s, "a"); len(q) != 0 {
		t.Fatalf("queue after re-enrollment = %v, want empty", q)
	}
	_, err := s.BootstrapToken(ctx(t), "a")
	wantErr(t, "BootstrapToken after re-enrollment", err, storage.ErrNotFound)
	_, err = s.UnlockToken(ctx(t), "a")
	wantErr(t, "UnlockToken after re-enrollment", err, storage.ErrNotFound)
	d := device(t, s, "a")
	if d.Enrolled || d.BootstrapEscrowed || d.HasUnlockToken || d.PushToken != nil || d.CertHash != "sha256:new" {
		t.Fatalf("device after re-enrollment = %+v", d)
	}
	if !d.FirstSeen.Equal(at(0)) {
		t.Fatalf("FirstSeen = %v, want the first enrollment's %v", d.FirstSeen, at(0))
	}
	evs, err := s.Events(ctx(t), "a", 1)
	noErr(t, "Events", err)
	if len(evs) != 1 || evs[0].Kind != "reenrolled" || evs[0].DeviceID != "a" || !evs[0].At.Equal(at(20)) {
		t.Fatalf("newest event = %+v, want a reenrolled event at %v", evs, at(20))
	}
}

func testReenrolledStartsAfresh(t *testing.T, s storage.Store) {
	withSecretsAndQueue(t, s, "a")
	authenticate(t, s, "a", "sha256:new", at(20))
	if got := next(t, s, "a", true); got != "" {
		t.Fatalf("NextCommand before TokenUpdate = %q, want none", got)
	}
	report(t, s, "a", "c-1", "Acknowledged", storage.ReportUnknownCommand)
	first, err := s.TokenUpdate(ctx(t), "a", pushTokens("a"), at(21))
	if err != nil || !first {
		t.Fatalf("TokenUpdate after re-enrollment = %v, %v; want first enrollment", first, err)
	}
	if got := next(t, s, "a", true); got != "" {
		t.Fatalf("NextCommand after re-enrollment = %q, want the dropped queue to stay dropped", got)
	}
	_, err = s.Authenticate(ctx(t), storage.Enrollment{DeviceID: "b", CertHash: "sha256:new"}, at(22))
	wantErr(t, "Authenticate(b, a's new hash)", err, storage.ErrCertBoundToPeer)
}

func testEmptyCertHash(t *testing.T, s storage.Store) {
	_, err := s.Authenticate(ctx(t), storage.Enrollment{DeviceID: "a"}, at(0))
	if err == nil {
		t.Fatal("Authenticate with an empty certificate hash succeeded")
	}
	_, err = s.Device(ctx(t), "a")
	wantErr(t, "Device after refused Authenticate", err, storage.ErrNotFound)
}
