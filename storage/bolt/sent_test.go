package bolt

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

func lastTxID(t *testing.T, s *Store) int {
	t.Helper()
	var id int
	if err := s.view(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// twoQueued writes a store file with one enrolled device "dev" and two
// commands queued to it, c1 then c2, and returns the file and their time.
func twoQueued(t *testing.T) (string, time.Time) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	err = s.update(func(tx *bolt.Tx) error {
		return saveDevice(tx, &storage.Device{ID: "dev", Enrolled: true, FirstSeen: at})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"c1", "c2"} {
		cmd := storage.Command{UUID: u, RequestType: "DeviceInformation", Raw: []byte("<plist/>"), CreatedAt: at}
		if err := s.Enqueue(context.Background(), cmd, []string{"dev"}); err != nil {
			t.Fatal(err)
		}
	}
	return path, at
}

// Delivering a queued command writes nothing; the count lives in memory,
// is shown by Queue, and reaches the database with the next write of the
// entry (a NotNow), so it survives a restart from then on.
func TestDeliveryCountedWithoutAWrite(t *testing.T) {
	ctx := context.Background()
	path, at := twoQueued(t)
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	before := lastTxID(t, s)
	for i := range 3 {
		c, err := s.NextCommand(ctx, "dev", true, at.Add(time.Duration(i)*time.Minute))
		if err != nil || c == nil || c.UUID != "c1" {
			t.Fatalf("connect %d: %+v %v", i, c, err)
		}
	}
	if after := lastTxID(t, s); after != before {
		t.Errorf("three deliveries wrote %d transactions", after-before)
	}
	q, _ := s.Queue(ctx, "dev")
	if q[0].Delivered != 3 || !q[0].LastSentAt.Equal(at.Add(2*time.Minute)) || q[1].Delivered != 0 {
		t.Fatalf("queue %+v", q)
	}
	// NotNow folds the count into the stored entry.
	notNow := storage.Result{DeviceID: "dev", UUID: "c1", Status: "NotNow", At: at.Add(3 * time.Minute)}
	if out, err := s.StoreReport(ctx, notNow, storage.ResultEffects{}); err != nil || out != storage.ReportNotNow {
		t.Fatalf("NotNow: %v %v", out, err)
	}
	if len(s.sent.m) != 0 {
		t.Errorf("marks left after the fold: %+v", s.sent.m)
	}
	// The rest of the session skips c1; the device takes c2 and answers.
	c, err := s.NextCommand(ctx, "dev", false, at.Add(4*time.Minute))
	if err != nil || c == nil || c.UUID != "c2" {
		t.Fatalf("after NotNow: %+v %v", c, err)
	}
	ack := storage.Result{DeviceID: "dev", UUID: "c2", Status: "Acknowledged", At: at.Add(5 * time.Minute)}
	if out, err := s.StoreReport(ctx, ack, storage.ResultEffects{}); err != nil || out != storage.ReportStored {
		t.Fatalf("ack: %v %v", out, err)
	}
	if len(s.sent.m) != 0 {
		t.Errorf("marks left after the result: %+v", s.sent.m)
	}
	s.Close()
	if s, err = Open(path, time.Second); err != nil {
		t.Fatal(err)
	}
	q, _ = s.Queue(ctx, "dev")
	if len(q) != 1 || q[0].UUID != "c1" || q[0].Delivered != 3 || !q[0].NotNow || q[0].NotNowCount != 1 {
		t.Fatalf("after restart: %+v", q)
	}
	// A new session (Idle) clears NotNow in a write and delivers c1 again.
	if c, err := s.NextCommand(ctx, "dev", true, at.Add(time.Hour)); err != nil || c == nil || c.UUID != "c1" {
		t.Fatalf("new session: %+v %v", c, err)
	}
	if q, _ = s.Queue(ctx, "dev"); q[0].Delivered != 4 || q[0].NotNow {
		t.Fatalf("after the new session: %+v", q)
	}
}

// A file written before the NotNow index existed gets it at open: a new
// session (Idle) then makes the NotNow command eligible again, as before.
func TestNotNowIndexRebuiltAtOpen(t *testing.T) {
	ctx := context.Background()
	path, at := twoQueued(t)
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextCommand(ctx, "dev", true, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreReport(ctx, storage.Result{DeviceID: "dev", UUID: "c1", Status: "NotNow", At: at}, storage.ResultEffects{}); err != nil {
		t.Fatal(err)
	}
	err = s.update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bQueueNotNow) })
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, time.Second); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.NextCommand(ctx, "dev", true, at.Add(time.Hour))
	if err != nil || c == nil || c.UUID != "c1" {
		t.Fatalf("new session after the upgrade: %+v %v", c, err)
	}
	if q, _ := s.Queue(ctx, "dev"); q[0].NotNow {
		t.Errorf("NotNow not cleared: %+v", q)
	}
}
