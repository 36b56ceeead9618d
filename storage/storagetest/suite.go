// Package storagetest is the conformance suite every storage.Store backend
// runs from its own tests: one behaviour per named subtest, exact outcomes.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

// History bounds the suite expects: newStore and open must configure the
// backend to keep at most HistoryResults results and HistoryEvents events
// per device (and HistoryEvents server events). Small bounds let the suite
// prove trimming without writing thousands of records.
const (
	HistoryResults = 5
	HistoryEvents  = 8
)

// t0 is the suite's clock: every timestamp is derived from it, so results
// never depend on when the tests run.
var t0 = time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// Run runs the whole suite. newStore returns a fresh, empty store with the
// History* bounds; it is called once per subtest and owns the store's
// lifecycle (register Close with t.Cleanup).
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	groups := []struct {
		name  string
		tests map[string]func(t *testing.T, s storage.Store)
	}{
		{"DeviceIDs", idTests()},
		{"Binding", bindingTests()},
		{"Enrollment", enrollmentTests()},
		{"Queue", queueTests()},
		{"NotNow", notNowTests()},
		{"Results", resultTests()},
		{"Effects", effectTests()},
		{"Concurrency", concurrencyTests()},
		{"Events", eventTests()},
		{"Outbox", outboxTests()},
		{"Challenges", challengeTests()},
		{"BlobsAndMeta", blobTests()},
		{"Secrets", secretTests()},
		{"Copies", copyTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, name := range slices.Sorted(maps.Keys(g.tests)) {
				test := g.tests[name]
				t.Run(name, func(t *testing.T) { test(t, newStore(t)) })
			}
		})
	}
	t.Run("DDM", func(t *testing.T) { RunDDM(t, newStore) })
}

func ctx(t *testing.T) context.Context { return t.Context() }

// certHash is the binding hash the helpers give a device.
func certHash(id string) string { return "sha256:" + id }

// authenticate creates (or re-enrolls) id bound to hash.
func authenticate(t *testing.T, s storage.Store, id, hash string, when time.Time) bool {
	t.Helper()
	re, err := s.Authenticate(ctx(t), storage.Enrollment{
		DeviceID: id, CertHash: hash, CertNotAfter: when.AddDate(1, 0, 0),
		Facts: storage.Facts{Platform: "macOS", OSVersion: "15.3", SerialNumber: "SN-" + id},
	}, when)
	if err != nil {
		t.Fatalf("Authenticate(%s): %v", id, err)
	}
	return re
}

// enroll authenticates id with certHash(id) and sends its first TokenUpdate.
func enroll(t *testing.T, s storage.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		authenticate(t, s, id, certHash(id), at(0))
		first, err := s.TokenUpdate(ctx(t), id, pushTokens(id), at(1))
		if err != nil || !first {
			t.Fatalf("TokenUpdate(%s) = %v, %v; want first enrollment", id, first, err)
		}
	}
}

func pushTokens(id string) storage.TokenUpdate {
	return storage.TokenUpdate{Topic: "com.apple.mgmt.External.test", PushMagic: "magic-" + id, PushToken: []byte("token-" + id)}
}

// command builds a command whose raw bytes name its UUID.
func command(uuid string) storage.Command {
	return storage.Command{
		UUID: uuid, RequestType: "DeviceInformation", CreatedAt: at(2),
		Raw: fmt.Appendf(nil, "<plist><dict><key>CommandUUID</key><string>%s</string></dict></plist>", uuid),
	}
}

func enqueue(t *testing.T, s storage.Store, uuid string, ids ...string) storage.Command {
	t.Helper()
	cmd := command(uuid)
	if err := s.Enqueue(ctx(t), cmd, ids); err != nil {
		t.Fatalf("Enqueue(%s, %v): %v", uuid, ids, err)
	}
	return cmd
}

// next returns the UUID NextCommand hands out, "" for none.
func next(t *testing.T, s storage.Store, id string, idle bool) string {
	t.Helper()
	cmd, err := s.NextCommand(ctx(t), id, idle, at(3))
	if err != nil {
		t.Fatalf("NextCommand(%s, idle=%v): %v", id, idle, err)
	}
	if cmd == nil {
		return ""
	}
	return cmd.UUID
}

func result(id, uuid, status string) storage.Result {
	return storage.Result{DeviceID: id, UUID: uuid, RequestType: "DeviceInformation", Status: status,
		At: at(4), Raw: fmt.Appendf(nil, "<plist><key>Status</key><string>%s</string></plist>", status)}
}

// report stores a result without effects and checks the outcome.
func report(t *testing.T, s storage.Store, id, uuid, status string, want storage.ReportOutcome) {
	t.Helper()
	got, err := s.StoreReport(ctx(t), result(id, uuid, status), storage.ResultEffects{})
	if err != nil {
		t.Fatalf("StoreReport(%s, %s, %s): %v", id, uuid, status, err)
	}
	if got != want {
		t.Fatalf("StoreReport(%s, %s, %s) = %v, want %v", id, uuid, status, outcomeName(got), outcomeName(want))
	}
}

func outcomeName(o storage.ReportOutcome) string {
	names := map[storage.ReportOutcome]string{storage.ReportStored: "Stored", storage.ReportDuplicate: "Duplicate",
		storage.ReportNotNow: "NotNow", storage.ReportUnknownCommand: "UnknownCommand"}
	if n, ok := names[o]; ok {
		return n
	}
	return fmt.Sprintf("ReportOutcome(%d)", int(o))
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func queueUUIDs(t *testing.T, s storage.Store, id string) []string {
	t.Helper()
	q, err := s.Queue(ctx(t), id)
	noErr(t, "Queue("+id+")", err)
	out := []string{}
	for _, e := range q {
		out = append(out, e.UUID)
	}
	return out
}

func device(t *testing.T, s storage.Store, id string) *storage.Device {
	t.Helper()
	d, err := s.Device(ctx(t), id)
	noErr(t, "Device("+id+")", err)
	return d
}
