package bolt

import (
	"bytes"
	"context"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// groupKey is group\0deviceID in the groupidx bucket: one group's members
// are one key range, so counting needs no record decoding.
func groupKey(group, deviceID string) []byte { return append(prefix(group), deviceID...) }

// SetDeviceGroup implements storage.GroupStore: the device record and the
// index change in one transaction.
func (s *Store) SetDeviceGroup(ctx context.Context, id, group string, member bool, events ...storage.Event) (bool, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return false, err
	}
	if err := storage.ValidateGroupName(group); err != nil {
		return false, err
	}
	changed := false
	err := s.update(func(tx *bolt.Tx) error {
		d, err := loadDevice(tx, id)
		if err != nil {
			return err
		}
		idx, err := tx.CreateBucketIfNotExists(bGroupIdx)
		if err != nil {
			return err
		}
		// The index entry is written even when the record already agrees,
		// so a drifted index heals on the next write.
		if member {
			err = idx.Put(groupKey(group, id), []byte{})
		} else {
			err = idx.Delete(groupKey(group, id))
		}
		if err != nil || slices.Contains(d.Groups, group) == member {
			return err
		}
		changed = true
		if member {
			d.Groups = append(d.Groups, group)
			slices.Sort(d.Groups)
		} else {
			d.Groups = slices.DeleteFunc(d.Groups, func(g string) bool { return g == group })
			if len(d.Groups) == 0 {
				d.Groups = nil
			}
		}
		if err := saveDevice(tx, d); err != nil {
			return err
		}
		return s.addEvents(tx, events...)
	})
	return changed, err
}

// Groups implements storage.GroupStore.
func (s *Store) Groups(ctx context.Context) ([]storage.GroupCount, error) {
	var out []storage.GroupCount
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bGroupIdx)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			name, _, ok := bytes.Cut(k, []byte{0})
			if !ok {
				continue
			}
			if n := len(out); n > 0 && out[n-1].Name == string(name) {
				out[n-1].Members++
				continue
			}
			out = append(out, storage.GroupCount{Name: string(name), Members: 1})
		}
		return nil
	})
	return out, err
}

// GroupMembers implements storage.GroupStore.
func (s *Store) GroupMembers(ctx context.Context, group string) ([]string, error) {
	if err := storage.ValidateGroupName(group); err != nil {
		return nil, err
	}
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bGroupIdx)
		if b == nil {
			return nil
		}
		p := prefix(group)
		c := b.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			out = append(out, string(k[len(p):]))
		}
		return nil
	})
	return out, err
}
