package server_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/micromdm/plist"
	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
)

// mountSmallTmpfs mounts a tmpfs of size bytes on a fresh directory, or
// skips the test where mounting is not permitted.
func mountSmallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("disk-full test skipped: mounting a %s tmpfs needs root or CAP_SYS_ADMIN (%v)", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file until the filesystem refuses more.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 64 << 10, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// bigCommand is a raw command whose payload needs fresh pages in the file.
func bigCommand(t *testing.T, uuid string) string {
	t.Helper()
	raw, err := plist.MarshalIndent(map[string]any{"CommandUUID": uuid, "Command": map[string]any{
		"RequestType": "InstallProfile", "Payload": bytes.Repeat([]byte("p"), 512<<10)}}, "\t")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestDiskFullAnswers503AndRecovers fills the filesystem under a running
// server: a device write and an admin write fail with 503 and a message
// naming the cause; once space returns the same writes succeed without a
// restart and the file is consistent.
func TestDiskFullAnswers503AndRecovers(t *testing.T) {
	mnt := mountSmallTmpfs(t, "16m")
	logs := &lockedBuffer{}
	env := testenv.Start(t, func(c *server.Config) {
		c.DataDir = filepath.Join(mnt, "data")
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	dev := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	ctx := context.Background()
	filler := filepath.Join(mnt, "filler")
	fillDisk(t, filler)

	token := bytes.Repeat([]byte{0xB7}, 200<<10)
	var devErr *sim.StatusError
	if err := dev.SetBootstrapToken(ctx, token); !errors.As(err, &devErr) || devErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("device write on a full disk: want 503, got %v", err)
	}
	if !strings.Contains(logs.String(), "no space left on device") {
		t.Errorf("no log line names the full disk:\n%s", logs.String())
	}
	req := api.EnqueueRequest{Devices: []string{dev.UDID()}, Raw: bigCommand(t, "DISKFULL-1")}
	var apiErr *api.StatusError
	_, err := env.API.Enqueue(ctx, req)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable || !strings.Contains(apiErr.Message, "no space left") {
		t.Fatalf("admin write on a full disk: want 503 naming the cause, got %v", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := dev.SetBootstrapToken(ctx, token); err != nil {
		t.Fatalf("device write after space returned: %v", err)
	}
	if got, err := dev.GetBootstrapToken(ctx); err != nil || !bytes.Equal(got, token) {
		t.Fatalf("bootstrap token after recovery: %d bytes, %v", len(got), err)
	}
	if _, err := env.API.Enqueue(ctx, req); err != nil {
		t.Fatalf("admin write after space returned: %v", err)
	}
	if n, err := dev.Connect(ctx, 5); err != nil || n != 1 {
		t.Fatalf("the command queued after recovery: delivered %d, %v", n, err)
	}
	checkConsistent(t, env.Server.Store().DB())
}

func checkConsistent(t *testing.T, db *bolt.DB) {
	t.Helper()
	err := db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	if err != nil {
		t.Fatalf("database inconsistent after the disk-full episode: %v", err)
	}
}
