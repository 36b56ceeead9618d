package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

const deviceRecordVersion = 1

func bindKeyHash(hash string) []byte { return []byte("h:" + hash) }
func bindKeyDevice(id string) []byte { return []byte("d:" + id) }
func bootstrapKey(id string) []byte  { return []byte("b:" + id) }
func unlockKey(id string) []byte     { return []byte("u:" + id) }

func loadDevice(tx *bolt.Tx, id string) (*storage.Device, error) {
	raw := tx.Bucket(bDevices).Get([]byte(id))
	if raw == nil {
		return nil, fmt.Errorf("device %s: %w", id, storage.ErrNotFound)
	}
	var d storage.Device
	if err := decodeDevice(raw, &d); err != nil {
		return nil, fmt.Errorf("device %s: %w", id, err)
	}
	return &d, nil
}

func saveDevice(tx *bolt.Tx, d *storage.Device) error {
	d.Version = deviceRecordVersion
	if err := tx.Bucket(bDevices).Put([]byte(d.ID), encodeDevice(d)); err != nil {
		return err
	}
	if d.Enrolled {
		return tx.Bucket(bEnrolled).Put([]byte(d.ID), nil)
	}
	return tx.Bucket(bEnrolled).Delete([]byte(d.ID))
}

// Authenticate implements storage.DeviceStore.
func (s *Store) Authenticate(ctx context.Context, e storage.Enrollment, at time.Time) (bool, error) {
	if err := storage.ValidateDeviceID(e.DeviceID); err != nil {
		return false, err
	}
	if e.CertHash == "" {
		return false, fmt.Errorf("authenticate %s: empty certificate hash", e.DeviceID)
	}
	var reenrolled bool
	err := s.update(func(tx *bolt.Tx) error {
		bind := tx.Bucket(bCertBind)
		if owner := bind.Get(bindKeyHash(e.CertHash)); owner != nil && string(owner) != e.DeviceID {
			return fmt.Errorf("%w (bound to %s)", storage.ErrCertBoundToPeer, owner)
		}
		d, err := loadDevice(tx, e.DeviceID)
		switch {
		case err == nil:
			reenrolled = true
		case isNotFound(err):
			d = &storage.Device{ID: e.DeviceID, FirstSeen: at}
		default:
			return err
		}
		if reenrolled {
			if err := s.resetEnrollment(tx, d, e.CertHash, at); err != nil {
				return err
			}
		}
		if err := bind.Put(bindKeyHash(e.CertHash), []byte(e.DeviceID)); err != nil {
			return err
		}
		if err := bind.Put(bindKeyDevice(e.DeviceID), []byte(e.CertHash)); err != nil {
			return err
		}
		d.CertHash, d.CertNotAfter, d.LastSeen, d.Enrolled = e.CertHash, e.CertNotAfter, at, false
		mergeFacts(&d.Facts, e.Facts)
		return saveDevice(tx, d)
	})
	if err == nil && reenrolled {
		s.sent.dropDevice(e.DeviceID) // its queue was cleared
	}
	return reenrolled, err
}

// resetEnrollment drops what a previous enrollment of the device left: its
// certificate binding, queued commands and escrowed secrets.
func (s *Store) resetEnrollment(tx *bolt.Tx, d *storage.Device, newHash string, at time.Time) error {
	bind := tx.Bucket(bCertBind)
	if old := bind.Get(bindKeyDevice(d.ID)); old != nil && string(old) != newHash {
		if err := bind.Delete(bindKeyHash(string(old))); err != nil {
			return err
		}
	}
	dropped, err := clearQueue(tx, d.ID)
	if err != nil {
		return err
	}
	sec := tx.Bucket(bSecrets)
	if err := sec.Delete(bootstrapKey(d.ID)); err != nil {
		return err
	}
	if err := sec.Delete(unlockKey(d.ID)); err != nil {
		return err
	}
	d.BootstrapEscrowed, d.BootstrapAt, d.HasUnlockToken = false, time.Time{}, false
	d.PushToken, d.PushMagic, d.PushTokenDead, d.LastPush = nil, "", false, nil
	return s.addEvents(tx, storage.Event{DeviceID: d.ID, At: at, Kind: "reenrolled",
		Message: fmt.Sprintf("device re-enrolled: previous binding, %d queued command(s) and bootstrap token dropped", dropped)})
}

// mergeFacts copies the non-empty facts of src into dst.
func mergeFacts(dst *storage.Facts, src storage.Facts) {
	set := func(d *string, s string) {
		if s != "" {
			*d = s
		}
	}
	set(&dst.Platform, src.Platform)
	set(&dst.OSVersion, src.OSVersion)
	set(&dst.BuildVersion, src.BuildVersion)
	set(&dst.ProductName, src.ProductName)
	set(&dst.Model, src.Model)
	set(&dst.ModelName, src.ModelName)
	set(&dst.SerialNumber, src.SerialNumber)
	set(&dst.DeviceName, src.DeviceName)
}

// CheckBinding implements storage.DeviceStore.
func (s *Store) CheckBinding(ctx context.Context, deviceID, certHash string) error {
	if err := storage.ValidateDeviceID(deviceID); err != nil {
		return err
	}
	return s.view(func(tx *bolt.Tx) error {
		bind := tx.Bucket(bCertBind)
		if bound := bind.Get(bindKeyDevice(deviceID)); bound != nil && string(bound) == certHash {
			return nil
		}
		if owner := bind.Get(bindKeyHash(certHash)); owner != nil {
			return storage.ErrCertBoundToPeer
		}
		return storage.ErrCertMismatch
	})
}

// TokenUpdate implements storage.DeviceStore.
func (s *Store) TokenUpdate(ctx context.Context, id string, tu storage.TokenUpdate, at time.Time) (bool, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return false, err
	}
	var first bool
	err := s.update(func(tx *bolt.Tx) error {
		d, err := loadDevice(tx, id)
		if err != nil {
			return err
		}
		first = !d.Enrolled
		if first {
			d.EnrolledAt = at
		}
		d.Enrolled, d.LastSeen = true, at
		d.Topic, d.PushMagic, d.PushToken, d.PushTokenDead = tu.Topic, tu.PushMagic, clone(tu.PushToken), false
		if tu.UnlockToken != nil {
			if err := tx.Bucket(bSecrets).Put(unlockKey(id), clone(tu.UnlockToken)); err != nil {
				return err
			}
			d.HasUnlockToken = true
		}
		if first {
			if err := s.addEvents(tx, storage.Event{DeviceID: id, At: at, Kind: "enrolled", Message: "device enrolled (TokenUpdate)"}); err != nil {
				return err
			}
		}
		return saveDevice(tx, d)
	})
	return first, err
}

// CheckOut implements storage.DeviceStore.
func (s *Store) CheckOut(ctx context.Context, id string, at time.Time) error {
	if err := storage.ValidateDeviceID(id); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		d, err := loadDevice(tx, id)
		if err != nil {
			return err
		}
		d.Enrolled, d.CheckedOutAt, d.LastSeen = false, at, at
		if err := s.addEvents(tx, storage.Event{DeviceID: id, At: at, Kind: "checked_out", Message: "device removed its MDM profile (CheckOut)"}); err != nil {
			return err
		}
		return saveDevice(tx, d)
	})
}

// TouchLastSeen implements storage.DeviceStore. It is idempotent, so it
// goes through Batch to share fsyncs between concurrent devices.
func (s *Store) TouchLastSeen(ctx context.Context, id string, at time.Time) error {
	if err := storage.ValidateDeviceID(id); err != nil {
		return err
	}
	err := s.db.Batch(func(tx *bolt.Tx) error {
		d, err := loadDevice(tx, id)
		if err != nil {
			return err
		}
		if !at.After(d.LastSeen) {
			return nil
		}
		d.LastSeen = at
		return saveDevice(tx, d)
	})
	return wrapDiskFull(err)
}

// Device implements storage.DeviceStore.
func (s *Store) Device(ctx context.Context, id string) (*storage.Device, error) {
	if err := storage.ValidateDeviceID(id); err != nil {
		return nil, err
	}
	var d *storage.Device
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		d, err = loadDevice(tx, id)
		return err
	})
	return d, err
}

// Devices implements storage.DeviceStore.
func (s *Store) Devices(ctx context.Context, f storage.DeviceFilter) ([]storage.Device, error) {
	var out []storage.Device
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bDevices).Cursor()
		k, v := c.First()
		if f.After != "" {
			k, v = c.Seek([]byte(f.After))
			if k != nil && bytes.Equal(k, []byte(f.After)) {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var d storage.Device
			if err := decodeDevice(v, &d); err != nil {
				return fmt.Errorf("device %s: %w", k, err)
			}
			if !matches(&d, f) {
				continue
			}
			out = append(out, d)
			if f.Limit > 0 && len(out) >= f.Limit {
				return nil
			}
		}
		return nil
	})
	return out, err
}

func matches(d *storage.Device, f storage.DeviceFilter) bool {
	if f.Enrolled != nil && d.Enrolled != *f.Enrolled {
		return false
	}
	if f.Platform != "" && d.Facts.Platform != f.Platform {
		return false
	}
	if f.Group != "" {
		for _, g := range d.Groups {
			if g == f.Group {
				return true
			}
		}
		return false
	}
	return true
}

// UpdateDevice implements storage.DeviceStore: read-modify-write in one
// transaction; mutate returning false writes nothing.
func (s *Store) UpdateDevice(ctx context.Context, id string, mutate func(d *storage.Device) (bool, error)) error {
	if err := storage.ValidateDeviceID(id); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		d, err := loadDevice(tx, id)
		if err != nil {
			return err
		}
		changed, err := mutate(d)
		if err != nil || !changed {
			return err
		}
		d.ID = id
		return saveDevice(tx, d)
	})
}

// UpdateDevices implements storage.DeviceBatchUpdater. Unknown ids are
// skipped: a device may be deleted between a push and its outcome.
func (s *Store) UpdateDevices(ctx context.Context, ids []string, mutate func(d *storage.Device) bool) error {
	for _, id := range ids {
		if err := storage.ValidateDeviceID(id); err != nil {
			return err
		}
	}
	return s.update(func(tx *bolt.Tx) error {
		for _, id := range ids {
			d, err := loadDevice(tx, id)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if mutate(d) {
				d.ID = id
				if err := saveDevice(tx, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// ImportDevices writes device records in one transaction (fleet imports,
// benchmarks). Existing records are replaced; bindings are not touched.
func (s *Store) ImportDevices(ctx context.Context, devices []storage.Device) error {
	for i := range devices {
		if err := storage.ValidateDeviceID(devices[i].ID); err != nil {
			return err
		}
	}
	return s.update(func(tx *bolt.Tx) error {
		tx.Bucket(bDevices).FillPercent = 0.9
		for i := range devices {
			if err := saveDevice(tx, &devices[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
