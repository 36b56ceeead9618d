package server_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/server"
)

func quietConfig(dir string) server.Config {
	return server.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LockTimeout: time.Second}
}

func TestFirstStartCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv, err := server.New(quietConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !srv.APIKeyCreated || len(srv.APIKey()) < 40 {
		t.Errorf("API key created=%v len=%d", srv.APIKeyCreated, len(srv.APIKey()))
	}
	info, _ := os.Stat(dir)
	if info.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %o", info.Mode().Perm())
	}
	for _, f := range []string{server.DBFile, server.APIKeyFile, server.SealKeyFile, "ca.pem", "ca.key"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o", f, info.Mode().Perm())
		}
	}
	if got := srv.Config().PublicURL; got != "http://127.0.0.1:9000" {
		t.Errorf("default public URL %q", got)
	}
}

func TestSecondServerOnSameDataDirFailsFast(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := server.New(quietConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	_, err = server.New(quietConfig(dir))
	if err == nil || !strings.Contains(err.Error(), "another tidemark server") {
		t.Fatalf("second server: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s to fail", time.Since(start))
	}
}

func TestRefusesReadableSecrets(t *testing.T) {
	for _, f := range []string{server.APIKeyFile, server.SealKeyFile, "ca.key", server.DBFile} {
		t.Run(f, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			srv, err := server.New(quietConfig(dir))
			if err != nil {
				t.Fatal(err)
			}
			srv.Close()
			if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = server.New(quietConfig(dir))
			if err == nil || !strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), "chmod 600") {
				t.Fatalf("want a refusal naming %s, got %v", f, err)
			}
		})
	}
}
