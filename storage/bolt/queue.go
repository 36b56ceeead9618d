package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// commandRecord is a stored command: shared by every device it was queued
// to, with a count of the queue entries still pending.
type commandRecord struct {
	storage.Command
	Pending int `json:"pending"`
}

// Enqueue implements storage.QueueStore.
func (s *Store) Enqueue(ctx context.Context, cmd storage.Command, ids []string) error {
	if err := storage.ValidateCommandUUID(cmd.UUID); err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("enqueue %s: no devices", cmd.UUID)
	}
	for _, id := range ids {
		if err := storage.ValidateDeviceID(id); err != nil {
			return err
		}
	}
	return s.update(func(tx *bolt.Tx) error {
		cmds := tx.Bucket(bCommands)
		if cmds.Get([]byte(cmd.UUID)) != nil {
			return fmt.Errorf("command %s: %w", cmd.UUID, storage.ErrDuplicate)
		}
		enrolled, devices := tx.Bucket(bEnrolled), tx.Bucket(bDevices)
		q, idx := tx.Bucket(bQueue), tx.Bucket(bQueueIdx)
		entry, err := jsonMarshal(storage.QueueEntry{UUID: cmd.UUID, RequestType: cmd.RequestType, QueuedAt: cmd.CreatedAt})
		if err != nil {
			return err
		}
		uniq := uniqueIDs(ids)
		for _, id := range uniq {
			if enrolled.Get([]byte(id)) == nil {
				if devices.Get([]byte(id)) == nil {
					return fmt.Errorf("device %s: %w", id, storage.ErrNotFound)
				}
				return fmt.Errorf("device %s: %w", id, storage.ErrNotEnrolled)
			}
		}
		// Keys are written in sorted order and pages filled densely: a
		// fleet-wide fan-out then appends runs of keys instead of splitting
		// pages all over the tree, which keeps the commit small.
		q.FillPercent, idx.FillPercent = 0.9, 0.9
		for _, id := range uniq {
			seq, _ := q.NextSequence()
			key := seqKey(id, seq)
			if err := q.Put(key, entry); err != nil {
				return err
			}
			if err := idx.Put(subKey(id, cmd.UUID), key[len(key)-8:]); err != nil {
				return err
			}
		}
		if err := putJSON(cmds, []byte(cmd.UUID), commandRecord{Command: cmd, Pending: len(uniq)}); err != nil {
			return err
		}
		return addOutbox(tx, storage.OutboxPush, uniq, cmd.CreatedAt)
	})
}

// NextCommand implements storage.QueueStore.
func (s *Store) NextCommand(ctx context.Context, id string, idle bool, at time.Time) (*storage.Command, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return nil, err
	}
	// Connects are answered from a read-only transaction; the delivery is
	// counted in memory (see sentMarks). Only an Idle that must clear
	// NotNow marks, a new session, writes.
	var out *storage.Command
	var clearNotNow bool
	err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bEnrolled).Get([]byte(id)) == nil {
			return nil
		}
		e, found, err := peekNext(tx, id, idle)
		if err != nil || !found {
			return err
		}
		if idle && e.NotNow {
			clearNotNow = true
			return nil
		}
		out, err = queuedCommand(tx, id, e.UUID)
		return err
	})
	if err != nil || !clearNotNow {
		if out != nil {
			s.sent.add(id, out.UUID, at)
		}
		return out, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		out, err = nextCommand(tx, id, idle, at)
		return err
	})
	return out, err
}

func nextCommand(tx *bolt.Tx, id string, idle bool, at time.Time) (*storage.Command, error) {
	// Checked again here: a CheckOut may have committed since the read.
	if tx.Bucket(bEnrolled).Get([]byte(id)) == nil {
		return nil, nil
	}
	q := tx.Bucket(bQueue)
	c := q.Cursor()
	p := prefix(id)
	var chosenKey []byte
	var chosen storage.QueueEntry
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var e storage.QueueEntry
		if err := jsonUnmarshal(v, &e); err != nil {
			return nil, err
		}
		if idle && e.NotNow {
			// A new session: the device may take it now.
			e.NotNow = false
			if err := putJSON(q, clone(k), e); err != nil {
				return nil, err
			}
		}
		if chosenKey == nil && !e.NotNow {
			chosenKey, chosen = clone(k), e
			if !idle {
				break
			}
		}
	}
	if idle {
		if err := tx.Bucket(bQueueNotNow).Delete([]byte(id)); err != nil {
			return nil, err
		}
	}
	if chosenKey == nil {
		return nil, nil
	}
	chosen.Delivered++
	chosen.LastSentAt = at
	if err := putJSON(q, chosenKey, chosen); err != nil {
		return nil, err
	}
	return queuedCommand(tx, id, chosen.UUID)
}

// peekNext finds, without writing, the entry a connect would deliver: the
// first entry not marked NotNow. On Idle, when the device has NotNow marks
// (bQueueNotNow), it returns found with NotNow set: the caller must clear
// the marks in a write (nextCommand). Without marks it reads one entry.
func peekNext(tx *bolt.Tx, id string, idle bool) (storage.QueueEntry, bool, error) {
	if idle && tx.Bucket(bQueueNotNow).Get([]byte(id)) != nil {
		return storage.QueueEntry{NotNow: true}, true, nil
	}
	c := tx.Bucket(bQueue).Cursor()
	p := prefix(id)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var e storage.QueueEntry
		if err := jsonUnmarshal(v, &e); err != nil {
			return e, false, err
		}
		if !e.NotNow {
			return e, true, nil
		}
	}
	return storage.QueueEntry{}, false, nil
}

// indexNotNow fills bQueueNotNow from the queue (files written before it).
func indexNotNow(tx *bolt.Tx) error {
	nn := tx.Bucket(bQueueNotNow)
	return tx.Bucket(bQueue).ForEach(func(k, v []byte) error {
		var e storage.QueueEntry
		if err := jsonUnmarshal(v, &e); err != nil {
			return err
		}
		if !e.NotNow {
			return nil
		}
		id, _, _ := bytes.Cut(k, []byte{0})
		return nn.Put(clone(id), nil)
	})
}

// queuedCommand loads the command a queue entry refers to (Raw copied).
func queuedCommand(tx *bolt.Tx, id, uuid string) (*storage.Command, error) {
	var rec commandRecord
	ok, err := getJSON(tx.Bucket(bCommands), []byte(uuid), &rec)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("queue of %s references missing command %s", id, uuid)
	}
	cmd := rec.Command
	cmd.Raw = clone(cmd.Raw)
	return &cmd, nil
}

// dequeue removes the device's entry for uuid; false when not queued.
func dequeue(tx *bolt.Tx, id, uuid string) (bool, error) {
	idx := tx.Bucket(bQueueIdx)
	ik := subKey(id, uuid)
	seq := idx.Get(ik)
	if seq == nil {
		return false, nil
	}
	qk := seqKey(id, binary.BigEndian.Uint64(seq))
	if err := tx.Bucket(bQueue).Delete(qk); err != nil {
		return false, err
	}
	if err := idx.Delete(ik); err != nil {
		return false, err
	}
	return true, releaseCommand(tx, uuid)
}

func releaseCommand(tx *bolt.Tx, uuid string) error {
	cmds := tx.Bucket(bCommands)
	var rec commandRecord
	ok, err := getJSON(cmds, []byte(uuid), &rec)
	if err != nil || !ok {
		return err
	}
	if rec.Pending > 0 {
		rec.Pending--
	}
	return putJSON(cmds, []byte(uuid), rec)
}

// clearQueue drops every queued command of a device.
func clearQueue(tx *bolt.Tx, id string) (int, error) {
	var uuids []string
	p := prefix(id)
	c := tx.Bucket(bQueue).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var e storage.QueueEntry
		if err := jsonUnmarshal(v, &e); err != nil {
			return 0, err
		}
		uuids = append(uuids, e.UUID)
	}
	for _, u := range uuids {
		if _, err := dequeue(tx, id, u); err != nil {
			return 0, err
		}
	}
	if err := tx.Bucket(bQueueNotNow).Delete([]byte(id)); err != nil {
		return 0, err
	}
	return len(uuids), nil
}

// Queue implements storage.QueueStore.
func (s *Store) Queue(ctx context.Context, id string) ([]storage.QueueEntry, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return nil, err
	}
	var out []storage.QueueEntry
	err := s.view(func(tx *bolt.Tx) error {
		p := prefix(id)
		c := tx.Bucket(bQueue).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var e storage.QueueEntry
			if err := jsonUnmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	s.sent.apply(id, out)
	return out, err
}

// Cancel implements storage.QueueStore.
func (s *Store) Cancel(ctx context.Context, id, uuid string) error {
	if err := storage.ValidateDeviceID(id); err != nil {
		return err
	}
	err := s.update(func(tx *bolt.Tx) error {
		ok, err := dequeue(tx, id, uuid)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("command %s queued to %s: %w", uuid, id, storage.ErrNotFound)
		}
		return nil
	})
	if err == nil {
		s.sent.forget(id, uuid)
	}
	return err
}

// Command implements storage.QueueStore.
func (s *Store) Command(ctx context.Context, uuid string) (*storage.Command, error) {
	var rec commandRecord
	err := s.view(func(tx *bolt.Tx) error {
		ok, err := getJSON(tx.Bucket(bCommands), []byte(uuid), &rec)
		if err == nil && !ok {
			err = fmt.Errorf("command %s: %w", uuid, storage.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &rec.Command, nil
}

// uniqueIDs returns ids sorted without duplicates.
func uniqueIDs(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
