package storagetest

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func testRepeatedFinal(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	first := result("a", "c-1", "Acknowledged")
	got, err := s.StoreReport(ctx(t), first, storage.ResultEffects{})
	if err != nil || got != storage.ReportStored {
		t.Fatalf("first report = %v, %v", outcomeName(got), err)
	}
	for _, status := range []string{"Error", "Acknowledged", "NotNow", "CommandFormatError"} {
		report(t, s, "a", "c-1", status, storage.ReportDuplicate)
	}
	results, err := s.Results(ctx(t), "a", 0)
	noErr(t, "Results", err)
	if len(results) != 1 {
		t.Fatalf("Results = %d entries, want the first answer only", len(results))
	}
	if r := results[0]; r.Status != "Acknowledged" || !bytes.Equal(r.Raw, first.Raw) {
		t.Fatalf("stored %q %q; the first answer must win", r.Status, r.Raw)
	}
	if q := queueUUIDs(t, s, "a"); len(q) != 0 {
		t.Fatalf("Queue = %v, want empty", q)
	}
}

func testReportOtherDevice(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	enqueue(t, s, "c-a", "a")
	next(t, s, "a", true)
	before, err := s.Queue(ctx(t), "a")
	noErr(t, "Queue", err)
	for _, status := range []string{"Acknowledged", "Error", "NotNow"} {
		report(t, s, "b", "c-a", status, storage.ReportUnknownCommand)
		report(t, s, "b", "c-never", status, storage.ReportUnknownCommand)
	}
	after, err := s.Queue(ctx(t), "a")
	noErr(t, "Queue", err)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("a's queue changed by b's reports:\nbefore %+v\nafter  %+v", before, after)
	}
	for _, id := range []string{"a", "b"} {
		_, err := s.Result(ctx(t), id, "c-a")
		wantErr(t, "Result("+id+", c-a)", err, storage.ErrNotFound)
	}
	if res, _ := s.Results(ctx(t), "b", 0); len(res) != 0 {
		t.Fatalf("Results(b) = %+v, want none", res)
	}
}

func testCancel(t *testing.T, s storage.Store) {
	enroll(t, s, "a", "b")
	enqueue(t, s, "c-1", "a", "b")
	enqueue(t, s, "c-2", "a", "b")
	noErr(t, "Cancel(a, c-1)", s.Cancel(ctx(t), "a", "c-1"))
	if q := queueUUIDs(t, s, "a"); !reflect.DeepEqual(q, []string{"c-2"}) {
		t.Fatalf("Queue(a) = %v, want [c-2]", q)
	}
	if q := queueUUIDs(t, s, "b"); !reflect.DeepEqual(q, []string{"c-1", "c-2"}) {
		t.Fatalf("Queue(b) = %v, want [c-1 c-2]", q)
	}
	wantErr(t, "Cancel(a, c-1) twice", s.Cancel(ctx(t), "a", "c-1"), storage.ErrNotFound)
	wantErr(t, "Cancel(a, c-never)", s.Cancel(ctx(t), "a", "c-never"), storage.ErrNotFound)
	if got := next(t, s, "a", true); got != "c-2" {
		t.Fatalf("NextCommand(a) = %q, want c-2", got)
	}
	report(t, s, "a", "c-1", "Acknowledged", storage.ReportUnknownCommand)
	if _, err := s.Command(ctx(t), "c-1"); err != nil {
		t.Fatalf("Command(c-1) still queued to b: %v", err)
	}
}
