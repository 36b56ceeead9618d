package certs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateSecretFileCreatesThenLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "api.key")
	calls := 0
	gen := func() ([]byte, error) { calls++; return []byte("secret-1"), nil }

	data, created, err := LoadOrCreateSecretFile(path, gen)
	if err != nil || !created || string(data) != "secret-1" {
		t.Fatalf("first call: data=%q created=%v err=%v", data, created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", info.Mode().Perm())
	}
	data, created, err = LoadOrCreateSecretFile(path, func() ([]byte, error) { return []byte("other"), nil })
	if err != nil || created || string(data) != "secret-1" {
		t.Fatalf("second call: data=%q created=%v err=%v", data, created, err)
	}
	if calls != 1 {
		t.Errorf("generator called %d times, want 1", calls)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestLoadOrCreateSecretFileRefusesOpenModes(t *testing.T) {
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o620} {
		path := filepath.Join(t.TempDir(), "api.key")
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateSecretFile(path, func() ([]byte, error) { return []byte("new"), nil })
		var perm *PermissionError
		if !errors.As(err, &perm) {
			t.Fatalf("mode %04o: err = %v, want *PermissionError", mode, err)
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), fmt.Sprintf("%04o", mode)) {
			t.Errorf("error %q does not name the file and its mode", err)
		}
		if perm.Mode.Perm() != mode {
			t.Errorf("reported mode %04o, want %04o", perm.Mode.Perm(), mode)
		}
		if got, _ := os.ReadFile(path); string(got) != "x" {
			t.Errorf("refused file was modified: %q", got)
		}
	}
}

func TestLoadOrCreateSecretFileGeneratorError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.key")
	boom := errors.New("no entropy")
	_, _, err := LoadOrCreateSecretFile(path, func() ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapped generator error", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file exists after a failed generation: %v", err)
	}
}

func TestLoadOrCreateSecretFileRefusesDirectory(t *testing.T) {
	path := t.TempDir()
	if err := os.Chmod(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateSecretFile(path, func() ([]byte, error) { return []byte("x"), nil }); err == nil {
		t.Fatal("a directory was accepted as a secret file")
	}
}

// Concurrent first starts must agree on one secret.
func TestLoadOrCreateSecretFileConcurrentCreation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.key")
	const n = 8
	results := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			data, _, err := LoadOrCreateSecretFile(path, func() ([]byte, error) {
				return []byte{byte('a' + i)}, nil
			})
			if err != nil {
				t.Error(err)
			}
			results[i] = data
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(results[i], results[0]) {
			t.Fatalf("callers disagree: %q vs %q", results[i], results[0])
		}
	}
}
