// Package bolt is the embedded bbolt implementation of storage.Store.
package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// SchemaVersion is written to the meta bucket; a file with a newer version
// is refused rather than misread. Version 2 stores device and enforcement
// records in binary (internal/binrec); version 1 files are upgraded in
// place, since their JSON records are still read and are rewritten in the
// new form as they change.
const SchemaVersion = 2

var (
	bMeta     = []byte("meta")
	bDevices  = []byte("devices")
	bEnrolled = []byte("enrolled")
	bCertBind = []byte("certbind")
	bSecrets  = []byte("secrets")
	bCommands = []byte("commands")
	bQueue    = []byte("queue")
	bQueueIdx = []byte("queueidx")
	// bQueueNotNow holds the ids of devices with an entry marked NotNow, so
	// an Idle connect knows without reading the whole queue whether it
	// must clear marks. Set with the mark; removed when the marks are
	// cleared (a stale id only costs one write).
	bQueueNotNow = []byte("queuenotnow")
	bResults     = []byte("results")
	bResultHist  = []byte("resulthist")
	bEvents      = []byte("events")
	bOutbox      = []byte("outbox")
	bChallenges  = []byte("challenges")
	blobPrefix   = "blob:"
)

var allBuckets = [][]byte{bMeta, bDevices, bEnrolled, bCertBind, bSecrets, bCommands,
	bQueue, bQueueIdx, bQueueNotNow, bResults, bResultHist, bEvents, bOutbox, bChallenges}

// ErrLocked is returned when another process holds the database.
var ErrLocked = errors.New("database is locked by another process")

// Store is a bbolt-backed storage.Store.
type Store struct {
	db         *bolt.DB
	maxResults int
	maxEvents  int
	sent       sentMarks
}

// Option configures a Store.
type Option func(*Store)

// WithMaxResults bounds the results kept per device.
func WithMaxResults(n int) Option { return func(s *Store) { s.maxResults = n } }

// WithMaxEvents bounds the events kept per device.
func WithMaxEvents(n int) Option { return func(s *Store) { s.maxEvents = n } }

// Open opens (creating, mode 0600) the database at path. It fails within
// lockTimeout when another process holds the file.
func Open(path string, lockTimeout time.Duration, opts ...Option) (*Store, error) {
	// The freelist is rebuilt from the pages at open instead of being
	// written on every commit: each commit then writes fewer pages, and
	// durability is unchanged (fsync still runs; NoSync is never used).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout,
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s (is another tidemark server running on this data directory?)", ErrLocked, path)
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s := &Store{db: db, maxResults: 100, maxEvents: 200}
	for _, o := range opts {
		o(s)
	}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	return s.update(func(tx *bolt.Tx) error {
		rebuildNotNow := tx.Bucket(bQueueNotNow) == nil && tx.Bucket(bQueue) != nil
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if rebuildNotNow { // a file from before the index existed
			if err := indexNotNow(tx); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if v := meta.Get([]byte("schema")); v != nil {
			var got int
			if _, err := fmt.Sscan(string(v), &got); err != nil || got > SchemaVersion {
				return fmt.Errorf("database schema version %q is newer than this binary supports (%d)", v, SchemaVersion)
			}
			if got == SchemaVersion {
				return nil
			}
		}
		return meta.Put([]byte("schema"), fmt.Appendf(nil, "%d", SchemaVersion))
	})
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the handle for consistency checks in tests and tools.
func (s *Store) DB() *bolt.DB { return s.db }

// update runs fn in a write transaction and marks a full disk so callers
// can answer 503.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	err := s.db.Update(fn)
	if err != nil && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) {
		return &storage.DiskFullError{Err: err}
	}
	return err
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// prefix returns id followed by a 0 byte: ids never contain 0, so one
// device's prefix can never be a prefix of another's keys.
func prefix(id string) []byte {
	b := make([]byte, 0, len(id)+1+16)
	b = append(b, id...)
	return append(b, 0)
}

func seqKey(id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(prefix(id), seq)
}

func subKey(id, sub string) []byte { return append(prefix(id), sub...) }

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode %s record: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
