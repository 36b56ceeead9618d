package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/server"
)

// target is the server under test, wherever it runs.
type target struct {
	url    string
	apiKey string
	// where and cpuSource describe the measurement for the report.
	where, cpuSource string
	// ca issues identities directly; nil means devices enroll via SCEP.
	ca *certs.CA
	// challenge returns a SCEP challenge for one device.
	challenge func(ctx context.Context) (string, error)
	// usage reads the server's accounting; an error means unavailable.
	usage func(ctx context.Context) (server.Metrics, error)
	close func() error
}

func openTarget(ctx context.Context, o Options, hc *http.Client) (*target, error) {
	switch {
	case o.ServerURL != "":
		return remoteTarget(ctx, o, hc)
	case o.Child:
		return childTarget(ctx, o)
	}
	return inProcessTarget(o)
}

// tempDataDir makes a private data directory the run removes afterwards.
func tempDataDir() (root, data string, err error) {
	root, err = os.MkdirTemp("", "tidemark-bench-*")
	if err != nil {
		return "", "", err
	}
	data = filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		os.RemoveAll(root)
		return "", "", err
	}
	return root, data, nil
}

func randomToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// inProcessTarget runs the server in this process on a loopback port.
func inProcessTarget(o Options) (*target, error) {
	root, dir, err := tempDataDir()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	url := "http://" + ln.Addr().String()
	challenge := randomToken()
	srv, err := server.New(server.Config{DataDir: dir, PublicURL: url, StaticChallenge: challenge,
		Logger: slog.New(slog.NewTextHandler(o.Progress, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		ln.Close()
		os.RemoveAll(root)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	return &target{
		url: url, apiKey: srv.APIKey(), ca: srv.CA(),
		where: "in-process (temporary data directory, removed afterwards)",
		cpuSource: "getrusage of the bench process: server and bench client together; " +
			"device requests are signed before the measured phase so the client only does HTTP",
		challenge: func(context.Context) (string, error) { return challenge, nil },
		usage:     func(context.Context) (server.Metrics, error) { return srv.Metrics(), nil },
		close: func() error {
			cancel()
			err := <-served
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			return errors.Join(err, srv.Close(), os.RemoveAll(root))
		},
	}, nil
}

// remoteTarget measures a running server through its admin API.
func remoteTarget(ctx context.Context, o Options, hc *http.Client) (*target, error) {
	client := api.NewClient(o.ServerURL, o.APIKey, hc)
	t := &target{
		url: o.ServerURL, apiKey: o.APIKey,
		where:     "running server at " + o.ServerURL,
		cpuSource: "the server's own getrusage, read from GET /v1/metrics before and after the measured phase",
		challenge: func(ctx context.Context) (string, error) {
			c, err := client.NewChallenge(ctx, time.Hour)
			if err != nil {
				return "", err
			}
			return c.Challenge, nil
		},
		usage: func(ctx context.Context) (server.Metrics, error) {
			var m server.Metrics
			return m, client.Do(ctx, http.MethodGet, "/v1/metrics", nil, &m)
		},
		close: func() error { return nil },
	}
	if _, err := client.Devices(ctx, nil); err != nil {
		return nil, fmt.Errorf("checking the server at %s: %w", o.ServerURL, err)
	}
	if o.CADir != "" {
		ca, err := loadExistingCA(o.CADir)
		if err != nil {
			return nil, err
		}
		t.ca = ca
	}
	return t, nil
}

// loadExistingCA loads the CA of a server's data directory and never
// creates one: a new CA there would break that server.
func loadExistingCA(dir string) (*certs.CA, error) {
	for _, f := range []string{"ca.pem", "ca.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("--ca-dir %s: %w", dir, err)
		}
	}
	return certs.LoadOrCreateCA(dir)
}
