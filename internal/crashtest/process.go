// Package crashtest runs the real tidemark binary as a child process for
// fault tests: SIGKILL in the middle of writes, a second server on the same
// data directory. The crash test itself is behind the "crash" build tag
// (go test -tags crash -run Crash ./...).
package crashtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RepoRoot finds the module root above the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles cmd/tidemark into a temporary directory of the test.
func Build(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool on PATH to build the tidemark binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "tidemark")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/tidemark")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tidemark: %v\n%s", err, out)
	}
	return bin
}

// FreeAddr returns a loopback address nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// PrivateDir makes a data directory with the mode serve insists on.
func PrivateDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Server is one `tidemark serve` child process.
type Server struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	out     *syncBuffer
}

// Command builds `bin serve` on dataDir and addr; TIDEMARK_* variables of
// the test's environment are dropped so only these flags apply.
func Command(bin, dataDir, addr string, args ...string) *exec.Cmd {
	full := append([]string{"serve", "--data-dir", dataDir, "--listen", addr}, args...)
	cmd := exec.Command(bin, full...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TIDEMARK_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	return cmd
}

// Start runs the server and waits until /healthz answers.
func Start(bin, dataDir, addr string, args ...string) (*Server, error) {
	s := &Server{URL: "http://" + addr, DataDir: dataDir, exited: make(chan struct{}), out: &syncBuffer{}}
	s.cmd = Command(bin, dataDir, addr, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("server exited during startup (%v):\n%s", s.waitErr, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if resp, err := http.Get(s.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
	}
	s.Kill()
	return nil, fmt.Errorf("server not healthy within 20s:\n%s", s.out.String())
}

// APIKey reads the admin key the server keeps in its data directory.
func (s *Server) APIKey() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.DataDir, "api.key"))
	return strings.TrimSpace(string(b)), err
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// Stop asks for a graceful shutdown and waits (SIGKILL after 15s).
func (s *Server) Stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(15 * time.Second):
		s.Kill()
		return errors.New("server ignored SIGTERM for 15s")
	}
}

// Output is everything the server printed so far.
func (s *Server) Output() string { return s.out.String() }

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
