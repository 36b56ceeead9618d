package bolt

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Buckets of the enforcement records. They are created on first write, so
// a database from before them opens unchanged; reads treat a missing
// bucket as empty.
var (
	bPolicies = []byte("policies")
	bCatalog  = []byte("catalog")
	bGroupIdx = []byte("groupidx")
)

const policyRecordVersion = 1

// policyRecord wraps a policy with the record's schema version.
type policyRecord struct {
	V      int                `json:"v"`
	Policy enforcement.Policy `json:"policy"`
}

func loadPolicy(tx *bolt.Tx, id string) (*enforcement.Policy, error) {
	b := tx.Bucket(bPolicies)
	if b == nil {
		return nil, fmt.Errorf("policy %s: %w", id, storage.ErrNotFound)
	}
	var rec policyRecord
	ok, err := getJSON(b, []byte(id), &rec)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("policy %s: %w", id, storage.ErrNotFound)
	}
	return &rec.Policy, nil
}

// checkPrior compares the stored version of a policy with the one the
// caller read (0: absent).
func checkPrior(tx *bolt.Tx, id string, prior int) error {
	stored := 0
	p, err := loadPolicy(tx, id)
	switch {
	case err == nil:
		stored = p.Version
	case !isNotFound(err):
		return err
	}
	if stored != prior {
		return fmt.Errorf("policy %s is at version %d, not %d: %w", id, stored, prior, storage.ErrStale)
	}
	return nil
}

// Policies implements storage.PolicyStore.
func (s *Store) Policies(ctx context.Context) ([]enforcement.Policy, error) {
	var out []enforcement.Policy
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bPolicies)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var rec policyRecord
			if err := jsonUnmarshal(v, &rec); err != nil {
				return fmt.Errorf("policy %s: %w", k, err)
			}
			out = append(out, rec.Policy)
			return nil
		})
	})
	return out, err
}

// Policy implements storage.PolicyStore.
func (s *Store) Policy(ctx context.Context, id string) (*enforcement.Policy, error) {
	if err := storage.ValidatePolicyID(id); err != nil {
		return nil, err
	}
	var p *enforcement.Policy
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		p, err = loadPolicy(tx, id)
		return err
	})
	return p, err
}

// PutPolicy implements storage.PolicyStore.
func (s *Store) PutPolicy(ctx context.Context, p enforcement.Policy, prior int, events ...storage.Event) error {
	if err := storage.ValidatePolicyID(p.ID); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if err := checkPrior(tx, p.ID, prior); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bPolicies)
		if err != nil {
			return err
		}
		if err := putJSON(b, []byte(p.ID), policyRecord{V: policyRecordVersion, Policy: p}); err != nil {
			return err
		}
		return s.addEvents(tx, events...)
	})
}

// DeletePolicy implements storage.PolicyStore.
func (s *Store) DeletePolicy(ctx context.Context, id string, prior int, events ...storage.Event) error {
	if err := storage.ValidatePolicyID(id); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if _, err := loadPolicy(tx, id); err != nil {
			return err
		}
		if err := checkPrior(tx, id, prior); err != nil {
			return err
		}
		if err := tx.Bucket(bPolicies).Delete([]byte(id)); err != nil {
			return err
		}
		return s.addEvents(tx, events...)
	})
}

// Catalog keys: the raw document and its description, written together.
var (
	catalogRawKey  = []byte("raw")
	catalogInfoKey = []byte("info")
)

// StoredCatalog implements storage.CatalogStore.
func (s *Store) StoredCatalog(ctx context.Context) (*storage.CatalogRecord, error) {
	var out *storage.CatalogRecord
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCatalog)
		if b == nil || b.Get(catalogRawKey) == nil {
			return fmt.Errorf("release catalog: %w", storage.ErrNotFound)
		}
		var rec storage.CatalogRecord
		if _, err := getJSON(b, catalogInfoKey, &rec); err != nil {
			return err
		}
		rec.Raw = clone(b.Get(catalogRawKey))
		out = &rec
		return nil
	})
	return out, err
}

// PutCatalog implements storage.CatalogStore.
func (s *Store) PutCatalog(ctx context.Context, c storage.CatalogRecord, events ...storage.Event) error {
	if len(c.Raw) == 0 {
		return fmt.Errorf("store release catalog: %w", enforcement.ErrEmptyCatalog)
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bCatalog)
		if err != nil {
			return err
		}
		if err := b.Put(catalogRawKey, clone(c.Raw)); err != nil {
			return err
		}
		if err := putJSON(b, catalogInfoKey, c); err != nil {
			return err
		}
		return s.addEvents(tx, events...)
	})
}
