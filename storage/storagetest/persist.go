package storagetest

import (
	"reflect"
	"testing"

	"github.com/tidemark-mdm/tidemark/storage"
)

// RunPersistent proves that everything survives Close and a reopen. open
// opens (creating if needed) the store kept in dir with the History*
// bounds; the suite closes every store it opened before returning, so
// Close must tolerate a second call if open also registers one.
func RunPersistent(t *testing.T, open func(t *testing.T, dir string) storage.Store) {
	t.Run("SurvivesReopen", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		populate(t, s)
		before := persistedState(t, s)
		checkPopulated(t, before)
		noErr(t, "Close", s.Close())
		s = open(t, dir)
		defer s.Close()
		if after := persistedState(t, s); !reflect.DeepEqual(before, after) {
			t.Fatalf("state changed across reopen:\nbefore %+v\nafter  %+v", before, after)
		}
		continueAfterReopen(t, s)
	})
}

// populate writes one record of every kind.
func populate(t *testing.T, s storage.Store) {
	withSecretsAndQueue(t, s, "a") // c-1, c-2 queued; bootstrap and unlock tokens
	enroll(t, s, "checked-out")
	noErr(t, "CheckOut", s.CheckOut(ctx(t), "checked-out", at(3)))
	authenticate(t, s, "pending", certHash("pending"), at(3))
	enqueue(t, s, "c-3", "a")
	enqueue(t, s, "c-0", "a")
	next(t, s, "a", true)
	report(t, s, "a", "c-1", "NotNow", storage.ReportNotNow)
	r := result("a", "c-2", "Error")
	r.ErrorChain = []storage.ErrorChain{{Code: 12021, Domain: "MCMDMErrorDomain", USEnglishDescription: "nope"}}
	if _, err := s.StoreReport(ctx(t), r, effects("a", "15.4")); err != nil {
		t.Fatal(err)
	}
	noErr(t, "AddEvents", s.AddEvents(ctx(t), storage.Event{At: at(4), Kind: "server_started", Data: map[string]string{"k": "v"}}))
	noErr(t, "AddChallenge", s.AddChallenge(ctx(t), "challenge", at(60)))
	noErr(t, "PutMeta", s.PutMeta(ctx(t), "push.topic", []byte("topic")))
}

// state is every read the suite can make of a populated store.
type state struct {
	Devices              []storage.Device
	Queue                []storage.QueueEntry
	Results              []storage.Result
	Commands             []*storage.Command
	Events, ServerEvents []storage.Event
	Outbox               []storage.OutboxItem
	Blobs                []string
	Meta, Bootstrap      string
	Unlock               string
}

func persistedState(t *testing.T, s storage.Store) state {
	t.Helper()
	var st state
	var err error
	must := func(what string, err error) { t.Helper(); noErr(t, what, err) }
	st.Devices, err = s.Devices(ctx(t), storage.DeviceFilter{})
	must("Devices", err)
	st.Queue, err = s.Queue(ctx(t), "a")
	must("Queue", err)
	st.Results, err = s.Results(ctx(t), "a", 0)
	must("Results", err)
	for _, uuid := range []string{"c-0", "c-1", "c-2", "c-3"} {
		c, err := s.Command(ctx(t), uuid)
		must("Command", err)
		st.Commands = append(st.Commands, c)
	}
	st.Events, err = s.Events(ctx(t), "a", 0)
	must("Events", err)
	st.ServerEvents, err = s.Events(ctx(t), "", 0)
	must("server Events", err)
	st.Outbox, err = s.Outbox(ctx(t), 0)
	must("Outbox", err)
	for _, col := range []string{"updatestate", "ddmstatus"} {
		b, err := s.Blob(ctx(t), col, "a")
		must("Blob", err)
		st.Blobs = append(st.Blobs, string(b))
	}
	str := func(b []byte, err error) string { t.Helper(); must("read", err); return string(b) }
	st.Meta = str(s.Meta(ctx(t), "push.topic"))
	st.Bootstrap = str(s.BootstrapToken(ctx(t), "a"))
	st.Unlock = str(s.UnlockToken(ctx(t), "a"))
	return st
}

// checkPopulated guards against a store that loses everything both times.
func checkPopulated(t *testing.T, st state) {
	t.Helper()
	if len(st.Devices) != 3 || len(st.Queue) != 3 || len(st.Results) != 1 || len(st.Outbox) != 4 {
		t.Fatalf("populated store: %d devices, %d queued, %d results, %d outbox items; want 3, 3, 1, 4",
			len(st.Devices), len(st.Queue), len(st.Results), len(st.Outbox))
	}
	if st.Queue[0].UUID != "c-1" || !st.Queue[0].NotNow || st.Results[0].Status != "Error" || len(st.Results[0].ErrorChain) != 1 {
		t.Fatalf("populated store: queue %+v, results %+v", st.Queue, st.Results)
	}
	if st.Blobs[0] != "15.4;" || st.Meta != "topic" || st.Bootstrap != "sealed-a" || st.Unlock != "unlock-a" {
		t.Fatalf("populated store: blobs %q meta %q bootstrap %q unlock %q", st.Blobs, st.Meta, st.Bootstrap, st.Unlock)
	}
}

// continueAfterReopen checks the reopened store keeps working where the
// first one stopped: bindings, sessions, sequences and single-use records.
func continueAfterReopen(t *testing.T, s storage.Store) {
	noErr(t, "CheckBinding(a)", s.CheckBinding(ctx(t), "a", certHash("a")))
	_, err := s.Authenticate(ctx(t), storage.Enrollment{DeviceID: "b", CertHash: certHash("a")}, at(30))
	wantErr(t, "Authenticate(b, hash of a)", err, storage.ErrCertBoundToPeer)
	if first, err := s.TokenUpdate(ctx(t), "a", pushTokens("a"), at(30)); err != nil || first {
		t.Fatalf("TokenUpdate after reopen = %v, %v; want not first", first, err)
	}
	if got := drainSession(t, s, "a", false); !reflect.DeepEqual(got, []string{"c-3", "c-0"}) {
		t.Fatalf("session continued with %v, want [c-3 c-0] (c-1 said NotNow)", got)
	}
	enqueue(t, s, "c-4", "a")
	if got := drainSession(t, s, "a", true); !reflect.DeepEqual(got, []string{"c-1", "c-4"}) {
		t.Fatalf("after Idle delivered %v, want [c-1 c-4]", got)
	}
	wantErr(t, "Enqueue(c-2 again)", s.Enqueue(ctx(t), command("c-2"), []string{"a"}), storage.ErrDuplicate)
	wantErr(t, "Enqueue(checked-out)", s.Enqueue(ctx(t), command("c-5"), []string{"checked-out"}), storage.ErrNotEnrolled)
	report(t, s, "a", "c-2", "Acknowledged", storage.ReportDuplicate)
	noErr(t, "ConsumeChallenge", s.ConsumeChallenge(ctx(t), "challenge", at(30)))
	wantErr(t, "ConsumeChallenge twice", s.ConsumeChallenge(ctx(t), "challenge", at(31)), storage.ErrChallengeUsed)
	before, err := s.Events(ctx(t), "a", 1)
	noErr(t, "Events", err)
	noErr(t, "AddEvents", s.AddEvents(ctx(t), storage.Event{DeviceID: "a", At: at(40), Kind: "after_reopen"}))
	after, err := s.Events(ctx(t), "a", 1)
	noErr(t, "Events", err)
	if len(before) != 1 || len(after) != 1 || after[0].Kind != "after_reopen" || after[0].Seq <= before[0].Seq {
		t.Fatalf("event sequence did not continue: before %+v after %+v", before, after)
	}
}

// drainSession acknowledges every command offered in one session.
func drainSession(t *testing.T, s storage.Store, id string, idle bool) []string {
	t.Helper()
	var got []string
	for uuid := next(t, s, id, idle); uuid != "" && len(got) < 100; uuid = next(t, s, id, false) {
		report(t, s, id, uuid, "Acknowledged", storage.ReportStored)
		got = append(got, uuid)
	}
	return got
}
