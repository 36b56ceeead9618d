package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// DDM buckets. They are created on first write, so a database made before
// DDM existed needs no migration; reads treat a missing bucket as empty.
// Index keys are "<a>\x00<b>" with an empty value: names never contain 0,
// so a prefix seek on "<a>\x00" finds exactly a's entries.
var (
	bDDMDecl    = []byte("ddm.decl")    // identifier → DeclarationRecord
	bDDMDevDecl = []byte("ddm.devdecl") // device\x00identifier → DeclarationRecord
	bDDMSet     = []byte("ddm.set")     // set → setRecord
	bDDMSetDecl = []byte("ddm.setdecl") // set\x00identifier
	bDDMDeclSet = []byte("ddm.declset") // identifier\x00set
	bDDMDevSet  = []byte("ddm.devset")  // device\x00set
	bDDMSetDev  = []byte("ddm.setdev")  // set\x00device
	bDDMRef     = []byte("ddm.ref")     // referenced\x00activation
	bDDMDevice  = []byte("ddm.device")  // device → ddmDeviceRecord
	bDDMHist    = []byte("ddm.hist")    // device\x00seq → DDMStatusEntry
	bDDMOutbox  = []byte("ddm.outbox")  // seq → OutboxItem
)

const declarationRecordVersion = 1

// setRecord is a set's own record; membership lives in the indexes.
type setRecord struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ddmDeviceRecord is per-device DDM bookkeeping.
type ddmDeviceRecord struct {
	ChangedAt   time.Time `json:"changed_at,omitzero"`
	CheckinSeen bool      `json:"checkin_seen,omitempty"`
	CheckinAt   time.Time `json:"checkin_at,omitzero"`
}

// wb returns a bucket in a write transaction, creating it.
func wb(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) { return tx.CreateBucketIfNotExists(name) }

// rget reads a key from a bucket that may not exist yet.
func rget(tx *bolt.Tx, name, key []byte) []byte {
	b := tx.Bucket(name)
	if b == nil {
		return nil
	}
	return b.Get(key)
}

// scan calls fn for every key under p (p included in k), in key order.
func scan(tx *bolt.Tx, name, p []byte, fn func(k, v []byte) error) error {
	b := tx.Bucket(name)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// suffixes lists what follows p in the keys under p (set names, device ids).
func suffixes(tx *bolt.Tx, name, p []byte) []string {
	var out []string
	_ = scan(tx, name, p, func(k, _ []byte) error {
		out = append(out, string(k[len(p):]))
		return nil
	})
	return out
}

func hasPrefixKey(tx *bolt.Tx, name, p []byte) bool {
	found := false
	_ = scan(tx, name, p, func(_, _ []byte) error {
		found = true
		return errStop
	})
	return found
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

var errStop error = stopErr{}

func pair(a, b string) []byte { return subKey(a, b) }

// putIndex writes both directions of a pair index.
func putIndex(tx *bolt.Tx, ab, ba []byte, a, b string) error {
	x, err := wb(tx, ab)
	if err != nil {
		return err
	}
	y, err := wb(tx, ba)
	if err != nil {
		return err
	}
	if err := x.Put(pair(a, b), []byte{}); err != nil {
		return err
	}
	return y.Put(pair(b, a), []byte{})
}

func deleteIndex(tx *bolt.Tx, ab, ba []byte, a, b string) error {
	x, err := wb(tx, ab)
	if err != nil {
		return err
	}
	y, err := wb(tx, ba)
	if err != nil {
		return err
	}
	if err := x.Delete(pair(a, b)); err != nil {
		return err
	}
	return y.Delete(pair(b, a))
}

// stampDevices records that the devices' declaration sets changed at at
// and queues one sync item naming them (nothing when ids is empty).
func stampDevices(tx *bolt.Tx, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	b, err := wb(tx, bDDMDevice)
	if err != nil {
		return err
	}
	for _, id := range ids {
		var rec ddmDeviceRecord
		if _, err := getJSON(b, []byte(id), &rec); err != nil {
			return err
		}
		if at.After(rec.ChangedAt) {
			rec.ChangedAt = at
		}
		if err := putJSON(b, []byte(id), rec); err != nil {
			return err
		}
	}
	return addDDMSync(tx, ids, at)
}

func addDDMSync(tx *bolt.Tx, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	b, err := wb(tx, bDDMOutbox)
	if err != nil {
		return err
	}
	seq, _ := b.NextSequence()
	return putJSON(b, binary.BigEndian.AppendUint64(nil, seq),
		storage.OutboxItem{Seq: seq, Kind: storage.OutboxDDMSync, DeviceIDs: ids, CreatedAt: at})
}

// RequestDDMSync implements storage.DDMStore.
func (s *Store) RequestDDMSync(ctx context.Context, ids []string, at time.Time) error {
	if err := validateDeviceIDs(ids); err != nil || len(ids) == 0 {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return addDDMSync(tx, sortedUnique(ids), at) })
}

// DDMSyncs implements storage.DDMStore.
func (s *Store) DDMSyncs(ctx context.Context, limit int) ([]storage.OutboxItem, error) {
	var out []storage.OutboxItem
	err := s.view(func(tx *bolt.Tx) error {
		return scan(tx, bDDMOutbox, nil, func(_, v []byte) error {
			var it storage.OutboxItem
			if err := jsonUnmarshal(v, &it); err != nil {
				return err
			}
			out = append(out, it)
			if limit > 0 && len(out) >= limit {
				return errStop
			}
			return nil
		})
	})
	if err == errStop {
		err = nil
	}
	return out, err
}

// AckDDMSyncs implements storage.DDMStore.
func (s *Store) AckDDMSyncs(ctx context.Context, seqs ...uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		b, err := wb(tx, bDDMOutbox)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			if err := b.Delete(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		return nil
	})
}

func validateDeviceIDs(ids []string) error {
	for _, id := range ids {
		if err := storage.ValidateDeviceID(id); err != nil {
			return err
		}
	}
	return nil
}

func sortedUnique(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	n := 0
	for i, s := range out {
		if i == 0 || s != out[n-1] {
			out[n] = s
			n++
		}
	}
	return out[:n]
}
