package crashtest_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/internal/crashtest"
	"github.com/tidemark-mdm/tidemark/storage"
	storebolt "github.com/tidemark-mdm/tidemark/storage/bolt"
)

// seedDB writes two enrolled devices, two commands queued to both, and one
// answered, through the real store; then closes it.
func seedDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tidemark.db")
	s, err := storebolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, now := context.Background(), time.Now()
	ids := []string{"DEV-A", "DEV-B"}
	for i, id := range ids {
		if _, err := s.Authenticate(ctx, storage.Enrollment{DeviceID: id, CertHash: fmt.Sprintf("%064d", i)}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenUpdate(ctx, id, storage.TokenUpdate{Topic: "t", PushMagic: "m", PushToken: []byte{1}}, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, uuid := range []string{"CMD-1", "CMD-2"} {
		if err := s.Enqueue(ctx, storage.Command{UUID: uuid, RequestType: "ProfileList", Raw: []byte("<plist/>"), CreatedAt: now}, ids); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.NextCommand(ctx, "DEV-A", true, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreReport(ctx, storage.Result{DeviceID: "DEV-A", UUID: "CMD-1", Status: "Acknowledged", At: now}, storage.ResultEffects{}); err != nil {
		t.Fatal(err)
	}
	return path
}

func tamper(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func seqOf(tx *bolt.Tx, device, uuid string) []byte {
	return tx.Bucket([]byte("queueidx")).Get([]byte(crashtest.Pair(device, uuid)))
}

func queueKey(device string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(device+"\x00"), seq)
}

// TestCheckDBFindsQueueDamage proves the crash test's checker sees each
// kind of damage it is there to catch, and passes an intact file.
func TestCheckDBFindsQueueDamage(t *testing.T) {
	cases := []struct {
		name, want string
		damage     func(tx *bolt.Tx) error
	}{
		{"intact", "", nil},
		{"index entry lost", "index holds", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("queueidx")).Delete([]byte(crashtest.Pair("DEV-B", "CMD-2")))
		}},
		{"queue entry lost", "points at a missing queue entry", func(tx *bolt.Tx) error {
			seq := binary.BigEndian.Uint64(seqOf(tx, "DEV-B", "CMD-2"))
			return tx.Bucket([]byte("queue")).Delete(queueKey("DEV-B", seq))
		}},
		{"duplicated entry", "duplicated queue entry", func(tx *bolt.Tx) error {
			seq := seqOf(tx, "DEV-B", "CMD-2")
			v := tx.Bucket([]byte("queue")).Get(queueKey("DEV-B", binary.BigEndian.Uint64(seq)))
			return tx.Bucket([]byte("queue")).Put(queueKey("DEV-B", 999), append([]byte(nil), v...))
		}},
		{"orphaned entry", "orphaned queue entries", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("commands")).Delete([]byte("CMD-2"))
		}},
		{"answered but queued", "both answered and still queued", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("results")).Put([]byte(crashtest.Pair("DEV-B", "CMD-2")), []byte(`{"status":"Acknowledged"}`))
		}},
		{"pending count wrong", "pending deliveries", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("commands")).Put([]byte("CMD-1"), []byte(`{"uuid":"CMD-1","pending":2}`))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := seedDB(t)
			if tc.damage != nil {
				tamper(t, path, tc.damage)
			}
			snap, err := crashtest.CheckDB(path)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("intact file refused: %v", err)
				}
				if !snap.Queued[crashtest.Pair("DEV-B", "CMD-1")] || snap.Results[crashtest.Pair("DEV-A", "CMD-1")] != "Acknowledged" || len(snap.Queued) != 3 {
					t.Fatalf("snapshot misread: %+v", snap)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}
