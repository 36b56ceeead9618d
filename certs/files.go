package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// PermissionError reports a secret file that other users could read or
// change. We refuse to start rather than silently tighten the mode: the
// secret may already have leaked, and the operator has to decide.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%s has mode %04o: it must not be accessible by group or others (run: chmod 600 %s)",
		e.Path, e.Mode.Perm(), e.Path)
}

// LoadOrCreateSecretFile returns the content of the file at path, creating it
// with mode 0600 from gen() when it does not exist yet. created tells the
// caller that the secret is new (for example to log "generated a new key").
// An existing file that group or others may access is refused.
func LoadOrCreateSecretFile(path string, gen func() ([]byte, error)) (data []byte, created bool, err error) {
	data, err = readSecretFile(path)
	if err == nil {
		return data, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	fresh, err := gen()
	if err != nil {
		return nil, false, fmt.Errorf("generate %s: %w", path, err)
	}
	err = writeNewSecretFile(path, fresh)
	if errors.Is(err, fs.ErrExist) {
		// Another process won the race; use its secret, not ours.
		data, err = readSecretFile(path)
		return data, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return fresh, true, nil
}

// readSecretFile reads path after checking that only its owner can access it.
// A missing file is reported with an error wrapping fs.ErrNotExist.
func readSecretFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	if err := checkPrivateMode(path, info); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	return data, nil
}

func checkPrivateMode(path string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("secret file %s is not a regular file", path)
	}
	// Windows has no meaningful permission bits in FileMode.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return &PermissionError{Path: path, Mode: info.Mode()}
	}
	return nil
}

// writeNewSecretFile writes data to a temporary file and links it into place,
// so a crash never leaves a half-written secret under the final name and an
// existing file is never replaced (the error then wraps fs.ErrExist).
func writeNewSecretFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	// CreateTemp opens the file with mode 0600.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("write %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
