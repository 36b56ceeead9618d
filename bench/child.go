package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/server"
)

// childTarget runs `tidemark serve` as a child process on a temporary data
// directory, so the server's CPU and memory are its own.
func childTarget(ctx context.Context, o Options) (*target, error) {
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("--child: finding the tidemark binary: %w", err)
		}
	}
	root, dir, err := tempDataDir()
	if err != nil {
		return nil, err
	}
	// The CA is created before the server starts so the bench can issue
	// identities from it; the child loads the same files.
	ca, err := certs.LoadOrCreateCA(dir)
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	url, challenge := "http://"+addr, randomToken()
	cmd := exec.Command(bin, "serve", "--data-dir", dir, "--listen", addr, "--public-url", url,
		"--challenge", challenge, "--log-level", "warn")
	cmd.Env = withoutTidemarkEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = io.Discard, o.Progress // stdout shows the admin key
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("starting %s serve: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error { return stopChild(cmd, exited, root) }
	if err := waitHealthy(ctx, url, exited); err != nil {
		return nil, errors.Join(err, stop())
	}
	key, err := os.ReadFile(filepath.Join(dir, server.APIKeyFile))
	if err != nil {
		return nil, errors.Join(err, stop())
	}
	pid := cmd.Process.Pid
	return &target{
		url: url, apiKey: strings.TrimSpace(string(key)), ca: ca,
		where:     fmt.Sprintf("child process %s serve (pid %d, temporary data directory)", bin, pid),
		cpuSource: "the server process alone: utime+stime from /proc/<pid>/stat (10 ms ticks) before and after the measured phase",
		challenge: func(context.Context) (string, error) { return challenge, nil },
		usage: func(context.Context) (server.Metrics, error) {
			return procMetrics(pid, filepath.Join(dir, server.DBFile))
		},
		close: stop,
	}, nil
}

// freeLoopbackAddr finds a port nothing listens on; the child binds it.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// withoutTidemarkEnv drops TIDEMARK_* variables so the child runs on the
// flags given here, not on whatever the caller's shell configures.
func withoutTidemarkEnv(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "TIDEMARK_") {
			out = append(out, e)
		}
	}
	return out
}

func waitHealthy(ctx context.Context, url string, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("the server exited during startup: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the server at %s did not become healthy within 30s", url)
}

// stopChild asks the server to shut down, kills it if it does not, and
// removes its data.
func stopChild(cmd *exec.Cmd, exited <-chan error, root string) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	return os.RemoveAll(root)
}
