package storagetest

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

func queueTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"FIFOAcrossManyCommands":         testFIFO,
		"EnqueueToManyDevices":           testEnqueueMany,
		"DuplicateUUIDRefused":           testDuplicateUUID,
		"UnknownDeviceFailsWholeEnqueue": testEnqueueAllOrNothing,
		"DuplicateIDsQueuedOnce":         testEnqueueDuplicateIDs,
		"NoDevicesRefused":               testEnqueueNoDevices,
		"InvalidCommandUUIDRefused":      testInvalidCommandUUID,
		"NextCommandRecordsDelivery":     testDeliveryRecorded,
		"FinalStatusesDequeue":           testFinalStatuses,
		"RepeatedFinalResultIsDuplicate": testRepeatedFinal,
		"ReportForOtherDevicesCommand":   testReportOtherDevice,
		"CancelRemoves":                  testCancel,
	}
}

// permutedUUIDs are n UUIDs whose enqueue order is not their sort order, so
// a backend ordering by UUID instead of by arrival fails.
func permutedUUIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("c-%03d", (i*7)%n)
	}
	return out
}

// drain answers every command with Acknowledged and returns them in order.
func drain(t *testing.T, s storage.Store, id string) []string {
	t.Helper()
	var got []string
	for uuid := next(t, s, id, true); uuid != ""; uuid = next(t, s, id, false) {
		report(t, s, id, uuid, "Acknowledged", storage.ReportStored)
		got = append(got, uuid)
		if len(got) > 10000 {
			t.Fatal("queue never drains")
		}
	}
	return got
}

func testFIFO(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	want := permutedUUIDs(40)
	for _, uuid := range want {
		enqueue(t, s, uuid, "a")
	}
	if got := queueUUIDs(t, s, "a"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Queue = %v\nwant    %v", got, want)
	}
	if got := drain(t, s, "a"); !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %v\nwant      %v", got, want)
	}
}

func testEnqueueMany(t *testing.T, s storage.Store) {
	ids := []string{"a", "b", "c"}
	enroll(t, s, ids...)
	cmd := enqueue(t, s, "c-1", ids...)
	for _, id := range ids {
		got, err := s.NextCommand(ctx(t), id, true, at(3))
		noErr(t, "NextCommand", err)
		if got == nil || got.UUID != cmd.UUID || got.RequestType != cmd.RequestType || !bytes.Equal(got.Raw, cmd.Raw) || !got.CreatedAt.Equal(cmd.CreatedAt) {
			t.Fatalf("NextCommand(%s) = %+v, want %+v", id, got, cmd)
		}
	}
	report(t, s, "a", "c-1", "Acknowledged", storage.ReportStored)
	if got := next(t, s, "b", true); got != "c-1" {
		t.Fatalf("b's copy went with a's answer: NextCommand(b) = %q", got)
	}
	stored, err := s.Command(ctx(t), "c-1")
	noErr(t, "Command", err)
	if !bytes.Equal(stored.Raw, cmd.Raw) || stored.RequestType != cmd.RequestType {
		t.Fatalf("Command(c-1) = %+v, want %+v", stored, cmd)
	}
}

func testDuplicateUUID(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	orig := enqueue(t, s, "c-1", "a")
	other := storage.Command{UUID: "c-1", RequestType: "EraseDevice", Raw: []byte("<plist>other</plist>"), CreatedAt: at(9)}
	for _, ids := range [][]string{{"b"}, {"a"}, {"a", "b"}} {
		wantErr(t, fmt.Sprintf("Enqueue(c-1 again, %v)", ids), s.Enqueue(ctx(t), other, ids), storage.ErrDuplicate)
	}
	got, err := s.Command(ctx(t), "c-1")
	noErr(t, "Command", err)
	if !bytes.Equal(got.Raw, orig.Raw) || got.RequestType != orig.RequestType || !got.CreatedAt.Equal(orig.CreatedAt) {
		t.Fatalf("stored command changed to %+v", got)
	}
	if q := queueUUIDs(t, s, "a"); !reflect.DeepEqual(q, []string{"c-1"}) {
		t.Fatalf("Queue(a) = %v, want [c-1]", q)
	}
	if q := queueUUIDs(t, s, "b"); len(q) != 0 {
		t.Fatalf("Queue(b) = %v, want empty", q)
	}
	drain(t, s, "a")
	// Results are keyed by UUID: reusing one would turn its answer into a duplicate.
	wantErr(t, "Enqueue(c-1 after completion)", s.Enqueue(ctx(t), other, []string{"b"}), storage.ErrDuplicate)
}

func testEnqueueAllOrNothing(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	authenticate(t, s, "pending", certHash("pending"), at(0))
	cases := []struct {
		name string
		ids  []string
		want error
	}{
		{"Unknown", []string{"a", "ghost", "b"}, storage.ErrNotFound},
		{"NotEnrolled", []string{"a", "b", "pending"}, storage.ErrNotEnrolled},
	}
	for _, c := range cases {
		wantErr(t, "Enqueue "+c.name, s.Enqueue(ctx(t), command("c-1"), c.ids), c.want)
		for _, id := range []string{"a", "b", "pending"} {
			if q := queueUUIDs(t, s, id); len(q) != 0 {
				t.Fatalf("%s: Queue(%s) = %v after a failed Enqueue", c.name, id, q)
			}
		}
		_, err := s.Command(ctx(t), "c-1")
		wantErr(t, c.name+": Command(c-1)", err, storage.ErrNotFound)
		items, err := s.Outbox(ctx(t), 0)
		noErr(t, "Outbox", err)
		if len(items) != 0 {
			t.Fatalf("%s: failed Enqueue left outbox items %+v", c.name, items)
		}
	}
	enqueue(t, s, "c-1", "a", "b") // nothing of the failed attempts reserved the UUID
}

func testEnqueueDuplicateIDs(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a", "a")
	if q := queueUUIDs(t, s, "a"); !reflect.DeepEqual(q, []string{"c-1"}) {
		t.Fatalf("Queue = %v, want [c-1] once", q)
	}
	if got := drain(t, s, "a"); !reflect.DeepEqual(got, []string{"c-1"}) {
		t.Fatalf("delivered %v, want [c-1] once", got)
	}
}

func testEnqueueNoDevices(t *testing.T, s storage.Store) {
	if err := s.Enqueue(ctx(t), command("c-1"), nil); err == nil {
		t.Fatal("Enqueue to no device succeeded")
	}
	_, err := s.Command(ctx(t), "c-1")
	wantErr(t, "Command(c-1)", err, storage.ErrNotFound)
}

func testInvalidCommandUUID(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	for _, uuid := range []string{"", "a/b", "a b", "x\x00y", "_c", fmt.Sprintf("%065d", 1)} {
		cmd := command("x")
		cmd.UUID = uuid
		wantErr(t, fmt.Sprintf("Enqueue(uuid %q)", uuid), s.Enqueue(ctx(t), cmd, []string{"a"}), storage.ErrInvalidID)
		_, err := s.StoreReport(ctx(t), result("a", uuid, "Acknowledged"), storage.ResultEffects{})
		wantErr(t, fmt.Sprintf("StoreReport(uuid %q)", uuid), err, storage.ErrInvalidID)
	}
	if q := queueUUIDs(t, s, "a"); len(q) != 0 {
		t.Fatalf("Queue = %v, want empty", q)
	}
}

func testDeliveryRecorded(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	entry := func() storage.QueueEntry {
		q, err := s.Queue(ctx(t), "a")
		noErr(t, "Queue", err)
		if len(q) != 1 {
			t.Fatalf("Queue = %+v, want one entry", q)
		}
		return q[0]
	}
	if e := entry(); e.Delivered != 0 || !e.LastSentAt.IsZero() || !e.QueuedAt.Equal(at(2)) || e.RequestType != "DeviceInformation" {
		t.Fatalf("fresh entry = %+v", e)
	}
	for i, when := range []time.Time{at(3), at(7)} {
		cmd, err := s.NextCommand(ctx(t), "a", i == 0, when)
		if err != nil || cmd == nil || cmd.UUID != "c-1" {
			t.Fatalf("NextCommand = %+v, %v; want c-1", cmd, err)
		}
		if e := entry(); e.Delivered != i+1 || !e.LastSentAt.Equal(when) || e.NotNow {
			t.Fatalf("after delivery %d entry = %+v", i+1, e)
		}
	}
}

func testFinalStatuses(t *testing.T, s storage.Store) {
	for _, status := range []string{"Acknowledged", "Error", "CommandFormatError"} {
		t.Run(status, func(t *testing.T) {
			id, uuid := "dev-"+status, "c-"+status
			enroll(t, s, id)
			enqueue(t, s, uuid, id)
			if got := next(t, s, id, true); got != uuid {
				t.Fatalf("NextCommand = %q, want %s", got, uuid)
			}
			report(t, s, id, uuid, status, storage.ReportStored)
			if q := queueUUIDs(t, s, id); len(q) != 0 {
				t.Fatalf("Queue after %s = %v, want empty", status, q)
			}
			res, err := s.Result(ctx(t), id, uuid)
			noErr(t, "Result", err)
			if res.Status != status {
				t.Fatalf("stored status %q, want %q", res.Status, status)
			}
			for _, idle := range []bool{false, true} {
				if got := next(t, s, id, idle); got != "" {
					t.Fatalf("NextCommand(idle=%v) after %s = %q, want none", idle, status, got)
				}
			}
		})
	}
}
