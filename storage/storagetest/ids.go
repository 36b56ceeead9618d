package storagetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

// invalidIDs are device ids every method must refuse: each would let one
// device's keys collide with another's or with server records.
var invalidIDs = []struct{ name, id string }{
	{"Empty", ""},
	{"TooLong", strings.Repeat("a", 129)},
	{"NUL", "dev\x00ice"},
	{"Slash", "dev/ice"},
	{"Space", "dev ice"},
	{"LeadingUnderscore", "_server"},
	{"LeadingDash", "-device"},
}

// errMutateRan is returned by mutate callbacks that must never be called:
// a store that calls them answers with it instead of ErrInvalidID.
var errMutateRan = errors.New("mutate callback ran for an invalid id")

func idTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"InvalidRefusedByEveryMethod": testInvalidIDsRefused,
		"LongestValidAccepted":        testLongestValidID,
		"SimilarIDsIsolated":          testSimilarIDsIsolated,
	}
}

// idCalls calls every method that takes a device id with id; valid is an
// enrolled device some calls mix in to prove nothing is half-written.
func idCalls(c context.Context, s storage.Store, valid string) map[string]func(id string) error {
	neverMutate := func([]byte) ([]byte, error) { return nil, errMutateRan }
	ev := func(id string) storage.Event { return storage.Event{DeviceID: id, At: at(5), Kind: "probe"} }
	return map[string]func(string) error{
		"Authenticate": func(id string) error {
			_, err := s.Authenticate(c, storage.Enrollment{DeviceID: id, CertHash: "sha256:fresh"}, at(5))
			return err
		},
		"CheckBinding": func(id string) error { return s.CheckBinding(c, id, certHash(valid)) },
		"TokenUpdate": func(id string) error {
			_, err := s.TokenUpdate(c, id, storage.TokenUpdate{Topic: "t", PushToken: []byte("x"), UnlockToken: []byte("u")}, at(5))
			return err
		},
		"CheckOut":      func(id string) error { return s.CheckOut(c, id, at(5)) },
		"TouchLastSeen": func(id string) error { return s.TouchLastSeen(c, id, at(5)) },
		"Device":        func(id string) error { _, err := s.Device(c, id); return err },
		"UpdateDevice": func(id string) error {
			return s.UpdateDevice(c, id, func(*storage.Device) (bool, error) { return true, errMutateRan })
		},
		"SetBootstrapToken": func(id string) error { return s.SetBootstrapToken(c, id, []byte("sealed"), at(5)) },
		"BootstrapToken":    func(id string) error { _, err := s.BootstrapToken(c, id); return err },
		"UnlockToken":       func(id string) error { _, err := s.UnlockToken(c, id); return err },
		"EnqueueAlone":      func(id string) error { return s.Enqueue(c, command("c-probe"), []string{id}) },
		"EnqueueMixed":      func(id string) error { return s.Enqueue(c, command("c-probe"), []string{valid, id}) },
		"NextCommand":       func(id string) error { _, err := s.NextCommand(c, id, true, at(5)); return err },
		"StoreReport": func(id string) error {
			fx := storage.ResultEffects{Blobs: []storage.BlobMutation{{Collection: "state", Mutate: neverMutate}}}
			_, err := s.StoreReport(c, result(id, "c-valid", "Acknowledged"), fx)
			return err
		},
		"Queue":      func(id string) error { _, err := s.Queue(c, id); return err },
		"Cancel":     func(id string) error { return s.Cancel(c, id, "c-valid") },
		"Results":    func(id string) error { _, err := s.Results(c, id, 0); return err },
		"Result":     func(id string) error { _, err := s.Result(c, id, "c-valid"); return err },
		"AddEvents":  func(id string) error { return s.AddEvents(c, ev(valid), ev(id)) },
		"Blob":       func(id string) error { _, err := s.Blob(c, "state", id); return err },
		"UpdateBlob": func(id string) error { return s.UpdateBlob(c, "state", id, neverMutate) },
		"Blobs":      func(id string) error { _, err := s.Blobs(c, []string{valid, id}, "state"); return err },
		"Events":     func(id string) error { _, err := s.Events(c, id, 0); return err },
	}
}

// storeSnapshot is everything an invalid-id call could have written.
type storeSnapshot struct {
	Devices     []storage.Device
	Queue       []storage.QueueEntry
	Events      []storage.Event
	Server      []storage.Event
	Outbox      []storage.OutboxItem
	ProbeStored bool
}

func snapshot(t *testing.T, s storage.Store, valid string) storeSnapshot {
	t.Helper()
	var snap storeSnapshot
	var err error
	snap.Devices, err = s.Devices(ctx(t), storage.DeviceFilter{})
	noErr(t, "Devices", err)
	snap.Queue, err = s.Queue(ctx(t), valid)
	noErr(t, "Queue", err)
	snap.Events, err = s.Events(ctx(t), valid, 0)
	noErr(t, "Events", err)
	snap.Server, err = s.Events(ctx(t), "", 0)
	noErr(t, "server Events", err)
	snap.Outbox, err = s.Outbox(ctx(t), 0)
	noErr(t, "Outbox", err)
	_, err = s.Command(ctx(t), "c-probe")
	snap.ProbeStored = err == nil
	return snap
}

func testInvalidIDsRefused(t *testing.T, s storage.Store) {
	const valid = "valid-1"
	enroll(t, s, valid)
	enqueue(t, s, "c-valid", valid)
	calls := idCalls(ctx(t), s, valid)
	for _, method := range slices.Sorted(maps.Keys(calls)) {
		for _, bad := range invalidIDs {
			if bad.id == "" && (method == "Events" || method == "AddEvents") {
				continue // "" names the server history, a valid owner
			}
			t.Run(method+"/"+bad.name, func(t *testing.T) {
				before := snapshot(t, s, valid)
				wantErr(t, method, calls[method](bad.id), storage.ErrInvalidID)
				if changed := changedFields(before, snapshot(t, s, valid)); len(changed) > 0 {
					t.Fatalf("%s(%q) changed the store: %v", method, bad.id, changed)
				}
			})
		}
	}
}

// changedFields names the fields of two structs of one type that differ.
func changedFields[T any](a, b T) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s: %+v -> %+v", va.Type().Field(i).Name, va.Field(i), vb.Field(i)))
		}
	}
	return out
}

func testLongestValidID(t *testing.T, s storage.Store) {
	long := "A" + strings.Repeat("z", 127)
	odd := "0a.b_c:d-E"
	enroll(t, s, long, odd)
	enqueue(t, s, "c-1", long, odd)
	for _, id := range []string{long, odd} {
		if got := next(t, s, id, true); got != "c-1" {
			t.Fatalf("NextCommand(%s) = %q, want c-1", id, got)
		}
		if d := device(t, s, id); d.ID != id || !d.Enrolled {
			t.Fatalf("Device(%s) = id %q enrolled %v", id, d.ID, d.Enrolled)
		}
	}
}

// testSimilarIDsIsolated guards against key-prefix collisions: "d1" must
// not see the records of "d10" or "d1.0".
func testSimilarIDsIsolated(t *testing.T, s storage.Store) {
	ids := []string{"d1", "d10", "d1.0", "d1-0"}
	enroll(t, s, ids...)
	for _, id := range ids {
		enqueue(t, s, "c-"+id, id)
		noErr(t, "AddEvents", s.AddEvents(ctx(t), storage.Event{DeviceID: id, At: at(5), Kind: "k-" + id}))
		noErr(t, "UpdateBlob", s.UpdateBlob(ctx(t), "state", id, func([]byte) ([]byte, error) { return []byte(id), nil }))
	}
	report(t, s, "d1", "c-d1", "Acknowledged", storage.ReportStored)
	report(t, s, "d1", "c-d10", "Acknowledged", storage.ReportUnknownCommand)
	for _, id := range ids {
		if q := queueUUIDs(t, s, id); id != "d1" && !reflect.DeepEqual(q, []string{"c-" + id}) {
			t.Fatalf("Queue(%s) = %v, want [c-%s]", id, q, id)
		}
		evs, err := s.Events(ctx(t), id, 1)
		noErr(t, "Events", err)
		if len(evs) != 1 || evs[0].Kind != "k-"+id {
			t.Fatalf("newest event of %s = %+v, want kind k-%s", id, evs, id)
		}
		blob, err := s.Blob(ctx(t), "state", id)
		if err != nil || string(blob) != id {
			t.Fatalf("Blob(%s) = %q, %v", id, blob, err)
		}
		if res, _ := s.Results(ctx(t), id, 0); id != "d1" && len(res) != 0 {
			t.Fatalf("Results(%s) = %+v, want none", id, res)
		}
		noErr(t, "CheckBinding", s.CheckBinding(ctx(t), id, certHash(id)))
	}
	wantErr(t, "CheckBinding(d1, hash of d10)", s.CheckBinding(ctx(t), "d1", certHash("d10")), storage.ErrCertBoundToPeer)
}
