package bolt

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

func checkDeclaration(d *storage.DeclarationRecord) error {
	if err := storage.ValidateDDMName("declaration identifier", d.Identifier); err != nil {
		return err
	}
	if d.Type == "" || len(d.Payload) == 0 {
		return fmt.Errorf("declaration %s: type and payload are required", d.Identifier)
	}
	for _, ref := range d.References {
		if err := storage.ValidateDDMName("referenced identifier", ref); err != nil {
			return err
		}
	}
	return nil
}

// PutDeclaration implements storage.DDMStore. The devices holding the
// declaration through a set get a sync; their tokens' time comes from the
// record's UpdatedAt, so they need no stamp of their own.
func (s *Store) PutDeclaration(ctx context.Context, d storage.DeclarationRecord, at time.Time) (bool, error) {
	if err := checkDeclaration(&d); err != nil {
		return false, err
	}
	d.DeviceID = ""
	changed := false
	err := s.update(func(tx *bolt.Tx) error {
		b, err := wb(tx, bDDMDecl)
		if err != nil {
			return err
		}
		var old storage.DeclarationRecord
		exists, err := getJSON(b, []byte(d.Identifier), &old)
		if err != nil || exists && old.SameContent(&d) {
			return err
		}
		for _, ref := range d.References {
			if ref == d.Identifier || b.Get([]byte(ref)) == nil {
				return fmt.Errorf("activation %s references %s: %w", d.Identifier, ref, storage.ErrNotFound)
			}
		}
		d.Version, d.CreatedAt, d.UpdatedAt = declarationRecordVersion, at, at
		if exists {
			d.CreatedAt = old.CreatedAt
		}
		if err := putJSON(b, []byte(d.Identifier), d); err != nil {
			return err
		}
		if err := reindexReferences(tx, d.Identifier, old.References, d.References); err != nil {
			return err
		}
		changed = true
		return addDDMSync(tx, devicesHolding(tx, d.Identifier), at)
	})
	return changed, err
}

func reindexReferences(tx *bolt.Tx, activation string, old, next []string) error {
	b, err := wb(tx, bDDMRef)
	if err != nil {
		return err
	}
	for _, ref := range old {
		if err := b.Delete(pair(ref, activation)); err != nil {
			return err
		}
	}
	for _, ref := range next {
		if err := b.Put(pair(ref, activation), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// devicesHolding lists, sorted, the devices that hold the global
// declaration id through a set, leaving out those whose device-scoped
// declaration of the same identifier takes its place.
func devicesHolding(tx *bolt.Tx, id string) []string {
	seen := map[string]bool{}
	var out []string
	for _, set := range suffixes(tx, bDDMDeclSet, prefix(id)) {
		for _, dev := range suffixes(tx, bDDMSetDev, prefix(set)) {
			if seen[dev] || rget(tx, bDDMDevDecl, pair(dev, id)) != nil {
				continue
			}
			seen[dev] = true
			out = append(out, dev)
		}
	}
	sort.Strings(out)
	return out
}

// Declaration implements storage.DDMStore.
func (s *Store) Declaration(ctx context.Context, id string) (*storage.DeclarationRecord, error) {
	if err := storage.ValidateDDMName("declaration identifier", id); err != nil {
		return nil, err
	}
	var d storage.DeclarationRecord
	err := s.view(func(tx *bolt.Tx) error {
		raw := rget(tx, bDDMDecl, []byte(id))
		if raw == nil {
			return fmt.Errorf("declaration %s: %w", id, storage.ErrNotFound)
		}
		return jsonUnmarshal(raw, &d)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// Declarations implements storage.DDMStore: every global declaration,
// sorted by identifier.
func (s *Store) Declarations(ctx context.Context) ([]storage.DeclarationRecord, error) {
	var out []storage.DeclarationRecord
	err := s.view(func(tx *bolt.Tx) error {
		return scan(tx, bDDMDecl, nil, func(_, v []byte) error {
			var d storage.DeclarationRecord
			if err := jsonUnmarshal(v, &d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}

// DeclarationUsage implements storage.DDMStore.
func (s *Store) DeclarationUsage(ctx context.Context, id string) (sets, activations []string, err error) {
	if err := storage.ValidateDDMName("declaration identifier", id); err != nil {
		return nil, nil, err
	}
	err = s.view(func(tx *bolt.Tx) error {
		sets = suffixes(tx, bDDMDeclSet, prefix(id))
		activations = suffixes(tx, bDDMRef, prefix(id))
		return nil
	})
	return sets, activations, err
}

// DeleteDeclaration implements storage.DDMStore. A declaration in no set
// is held by no device, so deleting it queues no sync.
func (s *Store) DeleteDeclaration(ctx context.Context, id string) (bool, error) {
	if err := storage.ValidateDDMName("declaration identifier", id); err != nil {
		return false, err
	}
	changed := false
	err := s.update(func(tx *bolt.Tx) error {
		b, err := wb(tx, bDDMDecl)
		if err != nil {
			return err
		}
		var old storage.DeclarationRecord
		exists, err := getJSON(b, []byte(id), &old)
		if err != nil || !exists {
			return err
		}
		sets, acts := suffixes(tx, bDDMDeclSet, prefix(id)), suffixes(tx, bDDMRef, prefix(id))
		if len(sets) > 0 || len(acts) > 0 {
			return &storage.InUseError{Identifier: id, Sets: sets, Activations: acts}
		}
		if err := b.Delete([]byte(id)); err != nil {
			return err
		}
		changed = true
		return reindexReferences(tx, id, old.References, nil)
	})
	return changed, err
}

// PutDeviceDeclaration implements storage.DDMStore.
func (s *Store) PutDeviceDeclaration(ctx context.Context, dev string, d storage.DeclarationRecord, at time.Time) (bool, error) {
	if err := storage.ValidateDeviceID(dev); err != nil {
		return false, err
	}
	if err := checkDeclaration(&d); err != nil {
		return false, err
	}
	d.DeviceID = dev
	changed := false
	err := s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bDevices).Get([]byte(dev)) == nil {
			return fmt.Errorf("device %s: %w", dev, storage.ErrNotFound)
		}
		b, err := wb(tx, bDDMDevDecl)
		if err != nil {
			return err
		}
		var old storage.DeclarationRecord
		exists, err := getJSON(b, pair(dev, d.Identifier), &old)
		if err != nil || exists && old.SameContent(&d) {
			return err
		}
		d.Version, d.CreatedAt, d.UpdatedAt = declarationRecordVersion, at, at
		if exists {
			d.CreatedAt = old.CreatedAt
		}
		changed = true
		if err := putJSON(b, pair(dev, d.Identifier), d); err != nil {
			return err
		}
		return addDDMSync(tx, []string{dev}, at)
	})
	return changed, err
}

// DeleteDeviceDeclaration implements storage.DDMStore.
func (s *Store) DeleteDeviceDeclaration(ctx context.Context, dev, id string, at time.Time) (bool, error) {
	if err := storage.ValidateDeviceID(dev); err != nil {
		return false, err
	}
	if err := storage.ValidateDDMName("declaration identifier", id); err != nil {
		return false, err
	}
	changed := false
	err := s.update(func(tx *bolt.Tx) error {
		b, err := wb(tx, bDDMDevDecl)
		if err != nil || b.Get(pair(dev, id)) == nil {
			return err
		}
		if err := b.Delete(pair(dev, id)); err != nil {
			return err
		}
		changed = true
		// The record is gone, so its time cannot date the change: stamp.
		return stampDevices(tx, []string{dev}, at)
	})
	return changed, err
}
