package crashtest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Snapshot is what a stopped server's database holds about the queue, read
// straight from the file. It mirrors storage/bolt's layout: queue keys are
// id 0x00 seq(8 bytes, big endian); queueidx keys are id 0x00 uuid with the
// seq as value; results keys are id 0x00 uuid; commands are keyed by uuid.
type Snapshot struct {
	// Queued and Results hold "device\x00uuid" pairs.
	Queued   map[string]bool
	Results  map[string]string // pair → status
	Commands map[string]int    // uuid → pending count recorded
}

// Pair is the key Snapshot uses for a device and a command.
func Pair(device, uuid string) string { return device + "\x00" + uuid }

// CheckDB opens the database read-only (the server must be stopped), runs
// bbolt's page-level consistency check, then checks the queue: every
// entry indexed once, every index entry pointing at its entry, every
// entry's command present with a matching pending count, and no command
// both queued and answered on one device.
func CheckDB(path string) (*Snapshot, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	defer db.Close()
	snap := &Snapshot{Queued: map[string]bool{}, Results: map[string]string{}, Commands: map[string]int{}}
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("bbolt consistency check: %w", errors.Join(errs...))
		}
		return snap.read(tx)
	})
	return snap, err
}

func (s *Snapshot) read(tx *bolt.Tx) error {
	q, idx, cmds, res := tx.Bucket([]byte("queue")), tx.Bucket([]byte("queueidx")),
		tx.Bucket([]byte("commands")), tx.Bucket([]byte("results"))
	if q == nil || idx == nil || cmds == nil || res == nil {
		return errors.New("queue, queueidx, commands or results bucket missing")
	}
	var errs []error
	pending := map[string]int{}
	_ = q.ForEach(func(k, v []byte) error {
		if err := s.queueEntry(idx, k, v, pending); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	_ = idx.ForEach(func(k, v []byte) error {
		if err := checkIndexEntry(q, k, v); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	_ = cmds.ForEach(func(k, v []byte) error {
		var rec struct {
			Pending int `json:"pending"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			errs = append(errs, fmt.Errorf("command %q: %w", k, err))
		}
		s.Commands[string(k)] = rec.Pending
		return nil
	})
	errs = append(errs, s.readResults(res)...)
	for uuid, n := range pending {
		got, ok := s.Commands[uuid]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("orphaned queue entries: command %s is queued %d times but does not exist", uuid, n))
		case got != n:
			errs = append(errs, fmt.Errorf("command %s records %d pending deliveries, the queue holds %d", uuid, got, n))
		}
	}
	for pair := range s.Queued {
		if _, ok := s.Results[pair]; ok {
			errs = append(errs, fmt.Errorf("command both answered and still queued: %q", pair))
		}
	}
	return errors.Join(errs...)
}

func (s *Snapshot) queueEntry(idx *bolt.Bucket, k, v []byte, pending map[string]int) error {
	sep := bytes.IndexByte(k, 0)
	if sep < 0 || len(k)-sep-1 != 8 {
		return fmt.Errorf("malformed queue key %q", k)
	}
	var e struct {
		UUID string `json:"uuid"`
	}
	if err := json.Unmarshal(v, &e); err != nil || e.UUID == "" {
		return fmt.Errorf("queue entry %q: undecodable (%v)", k, err)
	}
	device := string(k[:sep])
	pair := Pair(device, e.UUID)
	if s.Queued[pair] {
		return fmt.Errorf("duplicated queue entry: %s queued twice to %s", e.UUID, device)
	}
	s.Queued[pair] = true
	pending[e.UUID]++
	if got := idx.Get([]byte(pair)); !bytes.Equal(got, k[sep+1:]) {
		return fmt.Errorf("queue entry %s of %s: index holds %x, entry is at %x", e.UUID, device, got, k[sep+1:])
	}
	return nil
}

func checkIndexEntry(q *bolt.Bucket, k, v []byte) error {
	sep := bytes.IndexByte(k, 0)
	if sep < 0 || len(v) != 8 {
		return fmt.Errorf("malformed queue index entry %q", k)
	}
	qk := binary.BigEndian.AppendUint64(append([]byte(nil), k[:sep+1]...), binary.BigEndian.Uint64(v))
	raw := q.Get(qk)
	if raw == nil {
		return fmt.Errorf("queue index entry %q points at a missing queue entry", k)
	}
	var e struct {
		UUID string `json:"uuid"`
	}
	if json.Unmarshal(raw, &e) == nil && e.UUID != string(k[sep+1:]) {
		return fmt.Errorf("queue index entry %q points at the entry of %s", k, e.UUID)
	}
	return nil
}

func (s *Snapshot) readResults(res *bolt.Bucket) []error {
	var errs []error
	_ = res.ForEach(func(k, v []byte) error {
		var r struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(v, &r); err != nil {
			errs = append(errs, fmt.Errorf("result %q: %w", k, err))
		}
		s.Results[string(k)] = r.Status
		return nil
	})
	return errs
}
