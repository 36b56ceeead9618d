package bolt

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// DeviceDeclarations implements storage.DDMStore. It reads only the
// device's own keys (prefix seeks on its sets, their members and its
// device-scoped declarations), so its cost does not grow with the fleet.
func (s *Store) DeviceDeclarations(ctx context.Context, dev string) (*storage.DeviceDeclarations, error) {
	if err := storage.ValidateDeviceID(dev); err != nil {
		return nil, err
	}
	out := &storage.DeviceDeclarations{}
	err := s.view(func(tx *bolt.Tx) error {
		var rec ddmDeviceRecord
		if raw := rget(tx, bDDMDevice, []byte(dev)); raw != nil {
			if err := jsonUnmarshal(raw, &rec); err != nil {
				return err
			}
		}
		out.LastModified, out.CheckinSeen, out.CheckinAt = rec.ChangedAt, rec.CheckinSeen, rec.CheckinAt
		byID := map[string]storage.DeclarationRecord{}
		if err := collectSetDeclarations(tx, dev, out, byID); err != nil {
			return err
		}
		err := scan(tx, bDDMDevDecl, prefix(dev), func(_, v []byte) error {
			var d storage.DeclarationRecord
			if err := jsonUnmarshal(v, &d); err != nil {
				return err
			}
			byID[d.Identifier] = d // device-scoped wins over global
			return nil
		})
		if err != nil {
			return err
		}
		out.Declarations = make([]storage.DeclarationRecord, 0, len(byID))
		for _, d := range byID {
			out.Declarations = append(out.Declarations, d)
			out.LastModified = latest(out.LastModified, d.UpdatedAt)
		}
		sort.Slice(out.Declarations, func(i, j int) bool {
			return out.Declarations[i].Identifier < out.Declarations[j].Identifier
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func collectSetDeclarations(tx *bolt.Tx, dev string, out *storage.DeviceDeclarations, byID map[string]storage.DeclarationRecord) error {
	out.Sets = suffixes(tx, bDDMDevSet, prefix(dev))
	for _, set := range out.Sets {
		var rec setRecord
		if raw := rget(tx, bDDMSet, []byte(set)); raw != nil {
			if err := jsonUnmarshal(raw, &rec); err != nil {
				return err
			}
		}
		out.LastModified = latest(out.LastModified, rec.UpdatedAt)
		for _, id := range suffixes(tx, bDDMSetDecl, prefix(set)) {
			if _, done := byID[id]; done {
				continue
			}
			raw := rget(tx, bDDMDecl, []byte(id))
			if raw == nil {
				return fmt.Errorf("set %s references missing declaration %s", set, id)
			}
			var d storage.DeclarationRecord
			if err := jsonUnmarshal(raw, &d); err != nil {
				return err
			}
			byID[id] = d
		}
	}
	return nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// MarkDDMCheckin implements storage.DDMStore. Most calls find the flag
// already set and stay read-only.
func (s *Store) MarkDDMCheckin(ctx context.Context, dev string, at time.Time) (bool, error) {
	if err := storage.ValidateDeviceID(dev); err != nil {
		return false, err
	}
	seen := false
	err := s.view(func(tx *bolt.Tx) error {
		var rec ddmDeviceRecord
		raw := rget(tx, bDDMDevice, []byte(dev))
		if raw != nil {
			if err := jsonUnmarshal(raw, &rec); err != nil {
				return err
			}
		}
		seen = rec.CheckinSeen
		return nil
	})
	if err != nil || seen {
		return false, err
	}
	changed := false
	err = s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bDevices).Get([]byte(dev)) == nil {
			return fmt.Errorf("device %s: %w", dev, storage.ErrNotFound)
		}
		b, err := wb(tx, bDDMDevice)
		if err != nil {
			return err
		}
		var rec ddmDeviceRecord
		if _, err := getJSON(b, []byte(dev), &rec); err != nil || rec.CheckinSeen {
			return err
		}
		rec.CheckinSeen, rec.CheckinAt, changed = true, at, true
		return putJSON(b, []byte(dev), rec)
	})
	return changed, err
}

// AddDDMStatus implements storage.DDMStore: history entry, latest status
// and device facts in one transaction, touching only this device's keys.
func (s *Store) AddDDMStatus(ctx context.Context, dev string, u storage.DDMStatusUpdate) error {
	if err := storage.ValidateDeviceID(dev); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		d, err := loadDevice(tx, dev)
		if err != nil {
			return err
		}
		if u.Facts != nil && u.Facts(d) {
			d.ID = dev
			if err := saveDevice(tx, d); err != nil {
				return err
			}
		}
		hist, err := wb(tx, bDDMHist)
		if err != nil {
			return err
		}
		seq, _ := hist.NextSequence()
		entry := storage.DDMStatusEntry{Seq: seq, At: u.At, Report: u.Report}
		if err := putJSON(hist, seqKey(dev, seq), entry); err != nil {
			return err
		}
		if err := trimPrefix(hist, prefix(dev), max(u.Keep, 1), nil); err != nil {
			return err
		}
		if u.Latest == nil {
			return nil
		}
		return mutateBlob(tx, storage.DDMStatusCollection, dev, u.Latest)
	})
}

// DDMStatusHistory implements storage.DDMStore: newest first.
func (s *Store) DDMStatusHistory(ctx context.Context, dev string, limit int) ([]storage.DDMStatusEntry, error) {
	if err := storage.ValidateDeviceID(dev); err != nil {
		return nil, err
	}
	var out []storage.DDMStatusEntry
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = newestFirst[storage.DDMStatusEntry](tx.Bucket(bDDMHist), prefix(dev), limit)
		return err
	})
	return out, err
}
