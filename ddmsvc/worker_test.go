package ddmsvc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

func drain(t *testing.T, s *stack) {
	t.Helper()
	if err := s.svc.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// dmCommands returns the raw DeclarativeManagement commands queued to id.
func dmCommands(t *testing.T, s *stack, id string) []storage.QueueEntry {
	t.Helper()
	q, err := s.store.Queue(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []storage.QueueEntry
	for _, e := range q {
		if e.RequestType == mdm.RequestDeclarativeManagement {
			out = append(out, e)
		}
	}
	return out
}

func commandCarries(t *testing.T, s *stack, uuid, token string) bool {
	t.Helper()
	cmd, err := s.store.Command(context.Background(), uuid)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Command mdm.DeclarativeManagement `plist:"Command"`
	}
	if err := mdm.DecodePlist(cmd.Raw, &env); err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(env.Command.Data), `"DeclarationsToken":"`+token+`"`)
}

func currentToken(t *testing.T, s *stack, id string) string {
	t.Helper()
	v, err := s.svc.DeviceDeclarations(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v.DeclarationsToken
}

func putEnforcement(t *testing.T, s *stack, version string) {
	t.Helper()
	doc := strings.Replace(enfDoc, `"26.1"`, `"`+version+`"`, 1)
	if _, _, err := s.svc.PutDeclaration(context.Background(), []byte(doc)); err != nil {
		t.Fatal(err)
	}
}

// TestUndeliveredCommandIsReplaced: two changes before the device connects
// leave one command, carrying the latest tokens.
func TestUndeliveredCommandIsReplaced(t *testing.T) {
	s, d := goldenStack(t)
	drain(t, s)
	first := dmCommands(t, s, d.UDID())
	if len(first) != 1 || !commandCarries(t, s, first[0].UUID, currentToken(t, s, d.UDID())) {
		t.Fatalf("after assignment: %+v", first)
	}
	putEnforcement(t, s, "26.2")
	drain(t, s)
	second := dmCommands(t, s, d.UDID())
	if len(second) != 1 || second[0].UUID == first[0].UUID || !commandCarries(t, s, second[0].UUID, currentToken(t, s, d.UDID())) {
		t.Fatalf("after a second change: %+v (first %s)", second, first[0].UUID)
	}
	if err := s.svc.RequestSync(context.Background(), []string{d.UDID()}); err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	if again := dmCommands(t, s, d.UDID()); len(again) != 1 || again[0].UUID == second[0].UUID {
		t.Fatalf("a resync replaces the undelivered command: %+v", again)
	}
}

// TestDeliveredCommandIsKept: a command the device has (it answered NotNow)
// stays; a sync with the same tokens adds nothing, a change adds one.
func TestDeliveredCommandIsKept(t *testing.T) {
	s, d := goldenStack(t)
	drain(t, s)
	d.SetNotNow(mdm.RequestDeclarativeManagement, true)
	if _, err := d.Connect(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.RequestSync(context.Background(), []string{d.UDID()}); err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	if q := dmCommands(t, s, d.UDID()); len(q) != 1 || q[0].Delivered != 1 {
		t.Fatalf("same tokens after delivery: %+v", q)
	}
	putEnforcement(t, s, "26.2")
	drain(t, s)
	if q := dmCommands(t, s, d.UDID()); len(q) != 2 {
		t.Fatalf("changed tokens after delivery: %+v, want the delivered one and a new one", q)
	}
}

// TestSyncSkipsDevicesThatLeft: a device that checked out gets nothing,
// the others still get their command.
func TestSyncSkipsDevicesThatLeft(t *testing.T) {
	s, d1 := goldenStack(t)
	d2 := s.enroll(t, mac(2, "15.7.1"))
	ctx := context.Background()
	if _, err := s.svc.Assign(ctx, "fleet", []string{d2.UDID()}, false); err != nil {
		t.Fatal(err)
	}
	if err := d2.CheckOut(ctx); err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	if n1, n2 := len(dmCommands(t, s, d1.UDID())), len(dmCommands(t, s, d2.UDID())); n1 != 1 || n2 != 0 {
		t.Fatalf("commands: enrolled %d, checked out %d", n1, n2)
	}
	if items, err := s.store.DDMSyncs(ctx, 0); err != nil || len(items) != 0 {
		t.Fatalf("sync items left: %+v %v", items, err)
	}
}

// TestEnrollmentSync: by default only devices holding declarations get a
// sync when they enroll; with SyncAlways every DDM-capable one does.
func TestEnrollmentSync(t *testing.T) {
	for _, tc := range []struct {
		name          string
		opts          []ddmsvc.Option
		mac, iphone15 int
	}{
		{"if-assigned", nil, 0, 0},
		{"always", []ddmsvc.Option{ddmsvc.WithEnrollmentSync(ddmsvc.SyncAlways)}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.opts...)
			m := s.enroll(t, mac(1, "15.7.1"))
			old := s.enroll(t, iphone(2, "15.8"))
			drain(t, s)
			if n, o := len(dmCommands(t, s, m.UDID())), len(dmCommands(t, s, old.UDID())); n != tc.mac || o != tc.iphone15 {
				t.Fatalf("DeclarativeManagement commands: mac %d (want %d), iOS 15 %d (want %d)", n, tc.mac, o, tc.iphone15)
			}
		})
	}
}
