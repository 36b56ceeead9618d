package bolt

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// holdsElsewhere reports whether dev holds declaration id other than
// through set except: by another set or a device-scoped declaration. A
// change to except then leaves what the device holds as it was.
func holdsElsewhere(tx *bolt.Tx, dev, id, except string) bool {
	if rget(tx, bDDMDevDecl, pair(dev, id)) != nil {
		return true
	}
	for _, set := range suffixes(tx, bDDMDevSet, prefix(dev)) {
		if set != except && rget(tx, bDDMSetDecl, pair(set, id)) != nil {
			return true
		}
	}
	return false
}

// changesFor reports whether adding or removing the declarations ids
// through set changes what dev holds.
func changesFor(tx *bolt.Tx, dev, set string, ids []string) bool {
	for _, id := range ids {
		if !holdsElsewhere(tx, dev, id, set) {
			return true
		}
	}
	return false
}

func checkNames(kind string, names []string) error {
	for _, n := range names {
		if err := storage.ValidateDDMName(kind, n); err != nil {
			return err
		}
	}
	return nil
}

// UpdateSet implements storage.DDMStore.
func (s *Store) UpdateSet(ctx context.Context, name string, add, remove []string, at time.Time) (bool, error) {
	if err := storage.ValidateDDMName("set name", name); err != nil {
		return false, err
	}
	if err := checkNames("declaration identifier", append(append([]string(nil), add...), remove...)); err != nil {
		return false, err
	}
	changed := false
	err := s.update(func(tx *bolt.Tx) error {
		sb, err := wb(tx, bDDMSet)
		if err != nil {
			return err
		}
		var rec setRecord
		exists, err := getJSON(sb, []byte(name), &rec)
		if err != nil {
			return err
		}
		if !exists {
			rec = setRecord{Name: name, CreatedAt: at}
		}
		added, removed, err := applyMembership(tx, name, add, remove)
		if err != nil {
			return err
		}
		if exists && len(added)+len(removed) == 0 {
			return nil
		}
		changed, rec.UpdatedAt = true, at
		if err := putJSON(sb, []byte(name), rec); err != nil {
			return err
		}
		var affected []string
		for _, dev := range suffixes(tx, bDDMSetDev, prefix(name)) {
			if changesFor(tx, dev, name, added) || changesFor(tx, dev, name, removed) {
				affected = append(affected, dev)
			}
		}
		// The set's new UpdatedAt dates the change for its devices.
		return addDDMSync(tx, affected, at)
	})
	return changed, err
}

// applyMembership writes the set's membership changes and returns what
// actually changed.
func applyMembership(tx *bolt.Tx, name string, add, remove []string) (added, removed []string, err error) {
	for _, id := range add {
		if rget(tx, bDDMDecl, []byte(id)) == nil {
			return nil, nil, fmt.Errorf("declaration %s: %w", id, storage.ErrNotFound)
		}
		if rget(tx, bDDMSetDecl, pair(name, id)) != nil {
			continue
		}
		if err := putIndex(tx, bDDMSetDecl, bDDMDeclSet, name, id); err != nil {
			return nil, nil, err
		}
		added = append(added, id)
	}
	for _, id := range remove {
		if rget(tx, bDDMSetDecl, pair(name, id)) == nil {
			continue
		}
		if err := deleteIndex(tx, bDDMSetDecl, bDDMDeclSet, name, id); err != nil {
			return nil, nil, err
		}
		removed = append(removed, id)
	}
	return added, removed, nil
}

// DeleteSet implements storage.DDMStore: the set's assignments go with it.
func (s *Store) DeleteSet(ctx context.Context, name string, at time.Time) (bool, error) {
	if err := storage.ValidateDDMName("set name", name); err != nil {
		return false, err
	}
	changed := false
	err := s.update(func(tx *bolt.Tx) error {
		sb, err := wb(tx, bDDMSet)
		if err != nil || sb.Get([]byte(name)) == nil {
			return err
		}
		decls, devs := suffixes(tx, bDDMSetDecl, prefix(name)), suffixes(tx, bDDMSetDev, prefix(name))
		var affected []string
		for _, dev := range devs {
			if changesFor(tx, dev, name, decls) {
				affected = append(affected, dev)
			}
		}
		for _, id := range decls {
			if err := deleteIndex(tx, bDDMSetDecl, bDDMDeclSet, name, id); err != nil {
				return err
			}
		}
		for _, dev := range devs {
			if err := deleteIndex(tx, bDDMSetDev, bDDMDevSet, name, dev); err != nil {
				return err
			}
		}
		changed = true
		if err := sb.Delete([]byte(name)); err != nil {
			return err
		}
		// The set is gone, so its time cannot date the change: stamp.
		return stampDevices(tx, affected, at)
	})
	return changed, err
}

// AssignSet implements storage.DDMStore. Unknown devices are refused,
// naming the first; devices already assigned are left alone.
func (s *Store) AssignSet(ctx context.Context, name string, ids []string, at time.Time) ([]string, error) {
	return s.assignment(name, ids, at, true)
}

// UnassignSet implements storage.DDMStore.
func (s *Store) UnassignSet(ctx context.Context, name string, ids []string, at time.Time) ([]string, error) {
	return s.assignment(name, ids, at, false)
}

func (s *Store) assignment(name string, ids []string, at time.Time, assign bool) ([]string, error) {
	if err := storage.ValidateDDMName("set name", name); err != nil {
		return nil, err
	}
	if err := validateDeviceIDs(ids); err != nil {
		return nil, err
	}
	ids = sortedUnique(ids)
	var changed []string
	err := s.update(func(tx *bolt.Tx) error {
		changed = nil
		if rget(tx, bDDMSet, []byte(name)) == nil {
			return fmt.Errorf("set %s: %w", name, storage.ErrNotFound)
		}
		devices := tx.Bucket(bDevices)
		decls := suffixes(tx, bDDMSetDecl, prefix(name))
		var affected []string
		for _, dev := range ids {
			if devices.Get([]byte(dev)) == nil {
				return fmt.Errorf("device %s: %w", dev, storage.ErrNotFound)
			}
			if (rget(tx, bDDMSetDev, pair(name, dev)) != nil) == assign {
				continue
			}
			if changesFor(tx, dev, name, decls) {
				affected = append(affected, dev)
			}
			var err error
			if assign {
				err = putIndex(tx, bDDMSetDev, bDDMDevSet, name, dev)
			} else {
				err = deleteIndex(tx, bDDMSetDev, bDDMDevSet, name, dev)
			}
			if err != nil {
				return err
			}
			changed = append(changed, dev)
		}
		return stampDevices(tx, affected, at)
	})
	return changed, err
}

// Set implements storage.DDMStore, with the assigned devices.
func (s *Store) Set(ctx context.Context, name string) (*storage.DeclarationSet, error) {
	if err := storage.ValidateDDMName("set name", name); err != nil {
		return nil, err
	}
	var out *storage.DeclarationSet
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = loadSet(tx, name, rget(tx, bDDMSet, []byte(name)), true)
		return err
	})
	return out, err
}

// Sets implements storage.DDMStore: every set with its device count,
// sorted by name.
func (s *Store) Sets(ctx context.Context) ([]storage.DeclarationSet, error) {
	var out []storage.DeclarationSet
	err := s.view(func(tx *bolt.Tx) error {
		return scan(tx, bDDMSet, nil, func(k, v []byte) error {
			set, err := loadSet(tx, string(k), v, false)
			if err == nil {
				out = append(out, *set)
			}
			return err
		})
	})
	return out, err
}

func loadSet(tx *bolt.Tx, name string, raw []byte, withDevices bool) (*storage.DeclarationSet, error) {
	if raw == nil {
		return nil, fmt.Errorf("set %s: %w", name, storage.ErrNotFound)
	}
	var rec setRecord
	if err := jsonUnmarshal(raw, &rec); err != nil {
		return nil, err
	}
	devs := suffixes(tx, bDDMSetDev, prefix(name))
	set := &storage.DeclarationSet{Name: name, Declarations: suffixes(tx, bDDMSetDecl, prefix(name)),
		DeviceCount: len(devs), CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
	if set.Declarations == nil {
		set.Declarations = []string{}
	}
	if withDevices {
		set.Devices = devs
	}
	sort.Strings(set.Declarations)
	return set, nil
}
