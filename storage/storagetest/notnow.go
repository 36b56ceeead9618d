package storagetest

import (
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

func notNowTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"SkippedUntilIdle":             testNotNowSkippedUntilIdle,
		"LongRunNeverRepeatsInSession": testNotNowLongRun,
		"CountedInQueueEntry":          testNotNowCounted,
		"ThenFinalResult":              testNotNowThenFinal,
	}
}

func testNotNowSkippedUntilIdle(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	enqueue(t, s, "c-2", "a")
	if got := next(t, s, "a", true); got != "c-1" {
		t.Fatalf("NextCommand = %q, want c-1", got)
	}
	report(t, s, "a", "c-1", "NotNow", storage.ReportNotNow)
	if q := queueUUIDs(t, s, "a"); !reflect.DeepEqual(q, []string{"c-1", "c-2"}) {
		t.Fatalf("Queue after NotNow = %v, want c-1 kept", q)
	}
	if _, err := s.Result(ctx(t), "a", "c-1"); err == nil {
		t.Fatal("NotNow stored a final result")
	}
	if got := next(t, s, "a", false); got != "c-2" {
		t.Fatalf("NextCommand in the same session = %q, want c-2", got)
	}
	report(t, s, "a", "c-2", "Acknowledged", storage.ReportStored)
	if got := next(t, s, "a", false); got != "" {
		t.Fatalf("NextCommand in the same session = %q, want none (c-1 said NotNow)", got)
	}
	if got := next(t, s, "a", true); got != "c-1" {
		t.Fatalf("NextCommand after Idle = %q, want c-1 again", got)
	}
	report(t, s, "a", "c-1", "Acknowledged", storage.ReportStored)
	if got := next(t, s, "a", false); got != "" {
		t.Fatalf("NextCommand = %q, want an empty queue", got)
	}
}

// testNotNowLongRun is a device that answers NotNow to everything: each
// command is offered once per session, in order, then nothing.
func testNotNowLongRun(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	want := permutedUUIDs(30)
	for _, uuid := range want {
		enqueue(t, s, uuid, "a")
	}
	for session := range 3 {
		var got []string
		for uuid := next(t, s, "a", true); uuid != ""; uuid = next(t, s, "a", false) {
			if len(got) > len(want) {
				t.Fatalf("session %d: more deliveries than commands: %v", session, got)
			}
			got = append(got, uuid)
			report(t, s, "a", uuid, "NotNow", storage.ReportNotNow)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("session %d delivered %v\nwant              %v", session, got, want)
		}
	}
}

func testNotNowCounted(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	for i := 1; i <= 3; i++ {
		if got := next(t, s, "a", true); got != "c-1" {
			t.Fatalf("session %d: NextCommand = %q", i, got)
		}
		report(t, s, "a", "c-1", "NotNow", storage.ReportNotNow)
		q, err := s.Queue(ctx(t), "a")
		noErr(t, "Queue", err)
		if len(q) != 1 || !q[0].NotNow || q[0].NotNowCount != i || q[0].Delivered != i {
			t.Fatalf("after NotNow %d: entry %+v", i, q)
		}
	}
	report(t, s, "a", "c-1", "NotNow", storage.ReportNotNow) // a repeated NotNow is harmless
	if got := next(t, s, "a", false); got != "" {
		t.Fatalf("NextCommand = %q after NotNow, want none", got)
	}
}

func testNotNowThenFinal(t *testing.T, s storage.Store) {
	enroll(t, s, "a")
	enqueue(t, s, "c-1", "a")
	next(t, s, "a", true)
	report(t, s, "a", "c-1", "NotNow", storage.ReportNotNow)
	// A device may still answer finally within the session (e.g. it retried).
	report(t, s, "a", "c-1", "Acknowledged", storage.ReportStored)
	if q := queueUUIDs(t, s, "a"); len(q) != 0 {
		t.Fatalf("Queue = %v, want empty", q)
	}
	if got := next(t, s, "a", true); got != "" {
		t.Fatalf("NextCommand after the final answer = %q, want none", got)
	}
}
