package certs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newTestSealer(t *testing.T) *Sealer {
	t.Helper()
	s, err := LoadOrCreateSealKey(filepath.Join(t.TempDir(), "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := newTestSealer(t)
	secret := []byte("bootstrap-token-bytes")
	sealed, err := s.Seal(secret, []byte("device-A"))
	if err != nil {
		t.Fatal(err)
	}
	if sealed[0] != sealVersion {
		t.Errorf("version byte %d", sealed[0])
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("plaintext visible in sealed value")
	}
	got, err := s.Open(sealed, []byte("device-A"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := s.Seal(secret, []byte("device-A"))
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same value are identical: nonce not random")
	}
}

func TestSealBindsAdditionalData(t *testing.T) {
	s := newTestSealer(t)
	sealed, err := s.Seal([]byte("token"), []byte("device-A"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ad := range [][]byte{[]byte("device-B"), nil, []byte("device-A ")} {
		if _, err := s.Open(sealed, ad); !errors.Is(err, ErrSealedData) {
			t.Errorf("opened with AD %q: err = %v", ad, err)
		}
	}
}

func TestSealDetectsTampering(t *testing.T) {
	s := newTestSealer(t)
	sealed, err := s.Seal([]byte("token"), []byte("dev"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := s.Open(bad, []byte("dev")); !errors.Is(err, ErrSealedData) {
			t.Errorf("flip of byte %d accepted: %v", i, err)
		}
	}
	for _, n := range []int{0, 1, 13, len(sealed) - 1} {
		if _, err := s.Open(sealed[:n], []byte("dev")); !errors.Is(err, ErrSealedData) {
			t.Errorf("truncation to %d accepted: %v", n, err)
		}
	}
	other := newTestSealer(t)
	if _, err := other.Open(sealed, []byte("dev")); !errors.Is(err, ErrSealedData) {
		t.Errorf("other key opened it: %v", err)
	}
}

func TestSealKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seal.key")
	a, err := LoadOrCreateSealKey(path)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := a.Seal([]byte("x"), nil)
	b, err := LoadOrCreateSealKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(sealed, nil); err != nil {
		t.Fatalf("reloaded key cannot open: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var perm *PermissionError
	if _, err := LoadOrCreateSealKey(path); !errors.As(err, &perm) {
		t.Fatalf("world-readable key accepted: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSealKey(path); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("short key: err = %v", err)
	}
}
