package bolt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
	"github.com/tidemark-mdm/tidemark/storage/bolt"
	"github.com/tidemark-mdm/tidemark/storage/storagetest"
)

var suiteBounds = []bolt.Option{
	bolt.WithMaxResults(storagetest.HistoryResults),
	bolt.WithMaxEvents(storagetest.HistoryEvents),
}

func openAt(t *testing.T, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, time.Second, suiteBounds...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

// checkFile runs bbolt's own consistency check over a closed database file.
func checkFile(t *testing.T, path string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatalf("reopen %s for checking: %v", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt consistency: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		path := filepath.Join(t.TempDir(), "tidemark.db")
		s := openAt(t, path)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			checkFile(t, path)
		})
		return s
	})
}

func TestPersistence(t *testing.T) {
	opened := 0
	storagetest.RunPersistent(t, func(t *testing.T, dir string) storage.Store {
		path := filepath.Join(dir, "tidemark.db")
		s := openAt(t, path)
		opened++
		// Runs after the suite closed the store, before dir is removed.
		t.Cleanup(func() {
			s.Close()
			checkFile(t, path)
		})
		return s
	})
	if opened != 2 {
		t.Fatalf("RunPersistent opened %d stores, want 2 (populate, reopen)", opened)
	}
}

func TestSchemaVersionInMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tidemark.db")
	openAt(t, path).Close()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if meta == nil {
			t.Fatal("no meta bucket")
		}
		if got := string(meta.Get([]byte("schema"))); got != strconv.Itoa(bolt.SchemaVersion) {
			t.Fatalf("schema = %q, want %d", got, bolt.SchemaVersion)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A version 1 file (JSON records) opens, keeps its records readable, and
// is marked version 2 so that an older binary refuses it.
func TestSchemaV1Upgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tidemark.db")
	openAt(t, path).Close()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket([]byte("devices")).Put([]byte("old"), []byte(`{"v":1,"id":"old","enrolled":true,"first_seen":"2025-01-02T03:04:05Z","bootstrap_escrowed":false,"has_unlock_token":false,"facts":{"platform":"macOS","os_version":"14.7"}}`)); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := openAt(t, path)
	d, err := s.Device(context.Background(), "old")
	if err != nil || d.Facts.OSVersion != "14.7" || !d.Enrolled {
		t.Fatalf("old record: %+v %v", d, err)
	}
	err = s.DB().View(func(tx *bbolt.Tx) error {
		if got := string(tx.Bucket([]byte("meta")).Get([]byte("schema"))); got != strconv.Itoa(bolt.SchemaVersion) {
			t.Errorf("schema = %q after the upgrade", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedSchemaRefused(t *testing.T) {
	for _, v := range []string{strconv.Itoa(bolt.SchemaVersion + 1), "garbage"} {
		t.Run(v, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tidemark.db")
			openAt(t, path).Close()
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte(v)) })
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			if s, err := bolt.Open(path, time.Second); err == nil {
				s.Close()
				t.Fatalf("Open accepted schema version %q", v)
			}
		})
	}
}

func TestFileMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tidemark.db")
	s := openAt(t, path)
	defer s.Close()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Fatalf("database file mode %v, want 0600", mode)
	}
}

func TestSecondOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tidemark.db")
	s := openAt(t, path)
	defer s.Close()
	const timeout = 200 * time.Millisecond
	start := time.Now()
	second, err := bolt.Open(path, timeout)
	elapsed := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("a second Open of a held database succeeded")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if elapsed > timeout+2*time.Second {
		t.Fatalf("second Open took %v with a %v timeout", elapsed, timeout)
	}
}
