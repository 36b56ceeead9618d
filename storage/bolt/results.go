package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

const resultRecordVersion = 1

// StoreReport implements storage.QueueStore. The result, the dequeue and
// every effect land in one transaction: either all of them or none.
func (s *Store) StoreReport(ctx context.Context, r storage.Result, fx storage.ResultEffects) (storage.ReportOutcome, error) {
	if err := storage.ValidateDeviceID(r.DeviceID); err != nil {
		return 0, err
	}
	if err := storage.ValidateCommandUUID(r.UUID); err != nil {
		return 0, err
	}
	var outcome storage.ReportOutcome
	var folded sentMark
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		outcome, folded, err = s.storeReport(tx, r, fx)
		return err
	})
	if err == nil {
		switch outcome {
		case storage.ReportNotNow:
			s.sent.drop(r.DeviceID, r.UUID, folded)
		case storage.ReportStored:
			s.sent.forget(r.DeviceID, r.UUID)
		}
	}
	return outcome, err
}

func (s *Store) storeReport(tx *bolt.Tx, r storage.Result, fx storage.ResultEffects) (storage.ReportOutcome, sentMark, error) {
	results := tx.Bucket(bResults)
	rk := subKey(r.DeviceID, r.UUID)
	if results.Get(rk) != nil {
		return storage.ReportDuplicate, sentMark{}, nil
	}
	if r.Status == "NotNow" {
		return s.markNotNow(tx, r.DeviceID, r.UUID)
	}
	queued, err := dequeue(tx, r.DeviceID, r.UUID)
	if err != nil {
		return 0, sentMark{}, err
	}
	if !queued {
		return storage.ReportUnknownCommand, sentMark{}, nil
	}
	r.Version = resultRecordVersion
	r.Raw = clone(r.Raw)
	if err := putJSON(results, rk, r); err != nil {
		return 0, sentMark{}, err
	}
	if err := s.appendResultHistory(tx, r.DeviceID, r.UUID); err != nil {
		return 0, sentMark{}, err
	}
	if err := applyEffects(tx, r.DeviceID, fx); err != nil {
		return 0, sentMark{}, err
	}
	return storage.ReportStored, sentMark{}, s.addEvents(tx, fx.Events...)
}

// markNotNow flags the entry and folds the deliveries counted in memory
// into it, since it is written anyway.
func (s *Store) markNotNow(tx *bolt.Tx, id, uuid string) (storage.ReportOutcome, sentMark, error) {
	seq := tx.Bucket(bQueueIdx).Get(subKey(id, uuid))
	if seq == nil {
		return storage.ReportUnknownCommand, sentMark{}, nil
	}
	q := tx.Bucket(bQueue)
	key := append(prefix(id), seq...)
	var e storage.QueueEntry
	if _, err := getJSON(q, key, &e); err != nil {
		return 0, sentMark{}, err
	}
	mk := s.sent.get(id, uuid)
	fold(&e, mk)
	e.NotNow = true
	e.NotNowCount++
	if err := tx.Bucket(bQueueNotNow).Put([]byte(id), nil); err != nil {
		return 0, sentMark{}, err
	}
	return storage.ReportNotNow, mk, putJSON(q, key, e)
}

func applyEffects(tx *bolt.Tx, id string, fx storage.ResultEffects) error {
	if fx.Device != nil {
		d, err := loadDevice(tx, id)
		if err != nil {
			return err
		}
		if fx.Device(d) {
			d.ID = id
			if err := saveDevice(tx, d); err != nil {
				return err
			}
		}
	}
	for _, m := range fx.Blobs {
		if err := mutateBlob(tx, m.Collection, id, m.Mutate); err != nil {
			return err
		}
	}
	return nil
}

// appendResultHistory records the result's order and trims the device's
// history to maxResults, deleting the oldest results.
func (s *Store) appendResultHistory(tx *bolt.Tx, id, uuid string) error {
	hist := tx.Bucket(bResultHist)
	seq, _ := hist.NextSequence()
	if err := hist.Put(seqKey(id, seq), []byte(uuid)); err != nil {
		return err
	}
	return trimPrefix(hist, prefix(id), s.maxResults, func(v []byte) error {
		return tx.Bucket(bResults).Delete(subKey(id, string(v)))
	})
}

// trimPrefix keeps the newest max entries under p, calling drop for each
// removed value first.
func trimPrefix(b *bolt.Bucket, p []byte, max int, drop func(v []byte) error) error {
	if max <= 0 {
		return nil
	}
	c := b.Cursor()
	n := 0
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		n++
	}
	var doomed [][]byte
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && n > max; k, v = c.Next() {
		if drop != nil {
			if err := drop(v); err != nil {
				return err
			}
		}
		doomed = append(doomed, clone(k))
		n--
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Results implements storage.QueueStore: newest first.
func (s *Store) Results(ctx context.Context, id string, limit int) ([]storage.Result, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return nil, err
	}
	var out []storage.Result
	err := s.view(func(tx *bolt.Tx) error {
		p := prefix(id)
		c := tx.Bucket(bResultHist).Cursor()
		k, v := c.Seek(append(clone(p), 0xff))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		results := tx.Bucket(bResults)
		for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Prev() {
			var r storage.Result
			if ok, err := getJSON(results, subKey(id, string(v)), &r); err != nil {
				return err
			} else if ok {
				out = append(out, r)
			}
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// Result implements storage.QueueStore.
func (s *Store) Result(ctx context.Context, id, uuid string) (*storage.Result, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return nil, err
	}
	var r storage.Result
	err := s.view(func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bResults), subKey(id, uuid), &r)
		if err == nil && !ok {
			err = fmt.Errorf("result %s of %s: %w", uuid, id, storage.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
