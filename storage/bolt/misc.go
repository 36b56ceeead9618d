package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// serverEvents is the key prefix of events that belong to no device; it
// cannot collide with a device id, which must start with a letter or digit.
const serverEvents = "_server"

func (s *Store) addEvents(tx *bolt.Tx, events ...storage.Event) error {
	b := tx.Bucket(bEvents)
	for _, e := range events {
		owner := e.DeviceID
		if owner == "" {
			owner = serverEvents
		}
		seq, _ := b.NextSequence()
		e.Seq = seq
		if err := putJSON(b, seqKey(owner, seq), e); err != nil {
			return err
		}
		if err := trimPrefix(b, prefix(owner), s.maxEvents, nil); err != nil {
			return err
		}
	}
	return nil
}

// AddEvents implements storage.EventStore.
func (s *Store) AddEvents(ctx context.Context, events ...storage.Event) error {
	for _, e := range events {
		if e.DeviceID != "" {
			if err := storage.ValidateDeviceID(e.DeviceID); err != nil {
				return err
			}
		}
	}
	return s.update(func(tx *bolt.Tx) error { return s.addEvents(tx, events...) })
}

// Events implements storage.EventStore: newest first; "" lists server events.
func (s *Store) Events(ctx context.Context, id string, limit int) ([]storage.Event, error) {
	owner := id
	if id == "" {
		owner = serverEvents
	} else if err := storage.ValidateDeviceID(id); err != nil {
		return nil, err
	}
	var out []storage.Event
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = newestFirst[storage.Event](tx.Bucket(bEvents), prefix(owner), limit)
		return err
	})
	return out, err
}

// newestFirst decodes the JSON values under prefix p, last key first: the
// shape of every bounded per-device history (events, status reports).
func newestFirst[T any](b *bolt.Bucket, p []byte, limit int) ([]T, error) {
	var out []T
	if b == nil {
		return out, nil
	}
	c := b.Cursor()
	k, v := c.Seek(append(clone(p), 0xff))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Prev() {
		var e T
		if err := jsonUnmarshal(v, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

func addOutbox(tx *bolt.Tx, kind string, ids []string, at time.Time) error {
	b := tx.Bucket(bOutbox)
	seq, _ := b.NextSequence()
	return putJSON(b, binary.BigEndian.AppendUint64(nil, seq),
		storage.OutboxItem{Seq: seq, Kind: kind, DeviceIDs: ids, CreatedAt: at})
}

// Outbox implements storage.OutboxStore: oldest first.
func (s *Store) Outbox(ctx context.Context, limit int) ([]storage.OutboxItem, error) {
	var out []storage.OutboxItem
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var it storage.OutboxItem
			if err := jsonUnmarshal(v, &it); err != nil {
				return err
			}
			out = append(out, it)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// AckOutbox implements storage.OutboxStore.
func (s *Store) AckOutbox(ctx context.Context, seqs ...uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		for _, seq := range seqs {
			if err := b.Delete(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddOutbox queues a side effect outside any other write.
func (s *Store) AddOutbox(ctx context.Context, kind string, ids []string, at time.Time) error {
	return s.update(func(tx *bolt.Tx) error { return addOutbox(tx, kind, ids, at) })
}

// challenges are stored by hash so the database never holds them in clear.
func challengeKey(ch string) []byte {
	h := sha256.Sum256([]byte(ch))
	return h[:]
}

// MaxChallenges bounds the live one-time challenges: the public enrollment
// endpoint mints them, and it must not be able to grow the file forever.
const MaxChallenges = 100_000

// AddChallenge implements storage.ChallengeStore. Expired challenges are
// pruned on the way, and a full table is refused.
func (s *Store) AddChallenge(ctx context.Context, ch string, expires time.Time) error {
	if ch == "" {
		return fmt.Errorf("empty challenge")
	}
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bChallenges)
		if b.Get(challengeKey(ch)) != nil {
			return storage.ErrDuplicate
		}
		if b.Stats().KeyN >= MaxChallenges/2 {
			if err := pruneChallenges(b, time.Now()); err != nil {
				return err
			}
			if b.Stats().KeyN >= MaxChallenges {
				return fmt.Errorf("%w: %d live enrollment challenges", storage.ErrTooMany, MaxChallenges)
			}
		}
		return b.Put(challengeKey(ch), expires.UTC().AppendFormat(nil, time.RFC3339Nano))
	})
}

func pruneChallenges(b *bolt.Bucket, now time.Time) error {
	var doomed [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if t, err := time.Parse(time.RFC3339Nano, string(v)); err != nil || !now.Before(t) {
			doomed = append(doomed, clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ConsumeChallenge implements storage.ChallengeStore: a challenge works
// once; expired ones are removed when found.
func (s *Store) ConsumeChallenge(ctx context.Context, ch string, at time.Time) error {
	valid := false
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bChallenges)
		v := b.Get(challengeKey(ch))
		if v == nil {
			return nil
		}
		expires, err := time.Parse(time.RFC3339Nano, string(v))
		valid = err == nil && at.Before(expires)
		// Commit the delete even when refusing: an error here would roll
		// it back and leave an expired challenge behind.
		return b.Delete(challengeKey(ch))
	})
	if err != nil {
		return err
	}
	if !valid {
		return storage.ErrChallengeUsed
	}
	return nil
}

func blobBucket(tx *bolt.Tx, collection string) (*bolt.Bucket, error) {
	if collection == "" || len(collection) > 64 {
		return nil, fmt.Errorf("invalid collection name %q", collection)
	}
	name := []byte(blobPrefix + collection)
	if tx.Writable() {
		return tx.CreateBucketIfNotExists(name)
	}
	return tx.Bucket(name), nil
}

func mutateBlob(tx *bolt.Tx, collection, id string, mutate func([]byte) ([]byte, error)) error {
	b, err := blobBucket(tx, collection)
	if err != nil {
		return err
	}
	next, err := mutate(clone(b.Get([]byte(id))))
	if err != nil {
		return err
	}
	if next == nil {
		return b.Delete([]byte(id))
	}
	return b.Put([]byte(id), next)
}

// Blob implements storage.BlobStore.
func (s *Store) Blob(ctx context.Context, collection, id string) ([]byte, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return nil, err
	}
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		b, err := blobBucket(tx, collection)
		if err != nil {
			return err
		}
		if b != nil {
			out = clone(b.Get([]byte(id)))
		}
		if out == nil {
			return storage.ErrNotFound
		}
		return nil
	})
	return out, err
}

// Blobs reads many devices' records of each collection in one read
// transaction: out[collection][id], absent ids left out. A pass over the
// fleet reads a page this way instead of a transaction per record.
func (s *Store) Blobs(ctx context.Context, ids []string, collections ...string) (map[string]map[string][]byte, error) {
	for _, id := range ids {
		if err := storage.ValidateDeviceID(id); err != nil {
			return nil, err
		}
	}
	out := make(map[string]map[string][]byte, len(collections))
	err := s.view(func(tx *bolt.Tx) error {
		for _, c := range collections {
			b, err := blobBucket(tx, c)
			if err != nil {
				return err
			}
			m := make(map[string][]byte, len(ids))
			out[c] = m
			if b == nil {
				continue
			}
			for _, id := range ids {
				if v := b.Get([]byte(id)); v != nil {
					m[id] = clone(v)
				}
			}
		}
		return nil
	})
	return out, err
}

// UpdateBlob implements storage.BlobStore; mutate returning nil deletes.
func (s *Store) UpdateBlob(ctx context.Context, collection, id string, mutate func([]byte) ([]byte, error)) error {
	if err := storage.ValidateDeviceID(id); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return mutateBlob(tx, collection, id, mutate) })
}

// Meta implements storage.MetaStore.
func (s *Store) Meta(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		out = clone(tx.Bucket(bMeta).Get([]byte("x:" + key)))
		if out == nil {
			return storage.ErrNotFound
		}
		return nil
	})
	return out, err
}

// PutMeta implements storage.MetaStore.
func (s *Store) PutMeta(ctx context.Context, key string, value []byte) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put([]byte("x:"+key), clone(value)) })
}

// ForEachBlob implements storage.BlobScanner in one read transaction.
func (s *Store) ForEachBlob(ctx context.Context, collection string, fn func(id string, raw []byte) error) error {
	return s.view(func(tx *bolt.Tx) error {
		b, err := blobBucket(tx, collection)
		if err != nil || b == nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(string(k), v)
		})
	})
}

// PutBlobs writes many records of one collection in one transaction (a
// reconcile pass over a page of devices); a nil value deletes.
func (s *Store) PutBlobs(ctx context.Context, collection string, values map[string][]byte) error {
	for id := range values {
		if err := storage.ValidateDeviceID(id); err != nil {
			return err
		}
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := blobBucket(tx, collection)
		if err != nil {
			return err
		}
		for id, v := range values {
			if v == nil {
				err = b.Delete([]byte(id))
			} else {
				err = b.Put([]byte(id), clone(v))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
