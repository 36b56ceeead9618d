package certs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealVersion prefixes every ciphertext so the format can change later
// without guessing what old data is.
const sealVersion byte = 1

const sealKeySize = 32 // AES-256

// ErrSealedData is returned when a sealed value cannot be opened: wrong key,
// wrong additional data (for example another device's id), or tampering.
var ErrSealedData = errors.New("sealed data cannot be opened (wrong key, wrong owner or tampered)")

// Sealer encrypts small secrets at rest (bootstrap tokens, push keys) with
// AES-256-GCM. Safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// LoadOrCreateSealKey loads the sealing key from path, creating a random
// 256-bit key (base64 text, mode 0600) on first start. Losing this file
// makes every sealed value unreadable.
func LoadOrCreateSealKey(path string) (*Sealer, error) {
	data, _, err := LoadOrCreateSecretFile(path, func() ([]byte, error) {
		key := make([]byte, sealKeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		return []byte(base64.StdEncoding.EncodeToString(key) + "\n"), nil
	})
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("seal key %s: not base64: %w", path, err)
	}
	s, err := NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("seal key %s: %w", path, err)
	}
	return s, nil
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != sealKeySize {
		return nil, fmt.Errorf("seal key must be %d bytes, got %d", sealKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to additionalData (the owner, e.g. the
// device id): Open succeeds only with the same additionalData, so a sealed
// value copied to another record is useless.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	nonceSize := s.aead.NonceSize()
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, sealAD(additionalData)), nil
}

// Open decrypts a value produced by Seal with the same additionalData.
func (s *Sealer) Open(ciphertext, additionalData []byte) ([]byte, error) {
	nonceSize := s.aead.NonceSize()
	if len(ciphertext) < 1+nonceSize+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrSealedData)
	}
	if ciphertext[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrSealedData, ciphertext[0])
	}
	nonce := ciphertext[1 : 1+nonceSize]
	plain, err := s.aead.Open(nil, nonce, ciphertext[1+nonceSize:], sealAD(additionalData))
	if err != nil {
		return nil, ErrSealedData
	}
	return plain, nil
}

// sealAD authenticates the version byte too, so it cannot be swapped.
func sealAD(additionalData []byte) []byte {
	return append([]byte{sealVersion}, additionalData...)
}
