package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// SetBootstrapToken implements storage.DeviceStore; an empty token clears it.
func (s *Store) SetBootstrapToken(ctx context.Context, id string, sealed []byte, at time.Time) error {
	if err := storage.ValidateDeviceID(id); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		d, err := loadDevice(tx, id)
		if err != nil {
			return err
		}
		sec := tx.Bucket(bSecrets)
		ev := storage.Event{DeviceID: id, At: at}
		if len(sealed) == 0 {
			if err := sec.Delete(bootstrapKey(id)); err != nil {
				return err
			}
			d.BootstrapEscrowed, d.BootstrapAt = false, time.Time{}
			ev.Kind, ev.Message = "bootstrap_token_cleared", "device cleared its bootstrap token"
		} else {
			if err := sec.Put(bootstrapKey(id), clone(sealed)); err != nil {
				return err
			}
			d.BootstrapEscrowed, d.BootstrapAt = true, at
			ev.Kind, ev.Message = "bootstrap_token_escrowed", "bootstrap token escrowed"
		}
		if err := s.addEvents(tx, ev); err != nil {
			return err
		}
		return saveDevice(tx, d)
	})
}

// BootstrapToken implements storage.DeviceStore; ErrNotFound when none.
func (s *Store) BootstrapToken(ctx context.Context, id string) ([]byte, error) {
	return s.secret(id, bootstrapKey(id))
}

// UnlockToken implements storage.DeviceStore; ErrNotFound when none.
func (s *Store) UnlockToken(ctx context.Context, id string) ([]byte, error) {
	return s.secret(id, unlockKey(id))
}

func (s *Store) secret(id string, key []byte) ([]byte, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return nil, err
	}
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		out = clone(tx.Bucket(bSecrets).Get(key))
		if out == nil {
			return storage.ErrNotFound
		}
		return nil
	})
	return out, err
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

func jsonUnmarshal(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return nil
}

func wrapDiskFull(err error) error {
	if err != nil && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) {
		return &storage.DiskFullError{Err: err}
	}
	return err
}
