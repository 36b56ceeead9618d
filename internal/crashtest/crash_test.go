//go:build crash

package crashtest_test

import (
	"context"
	mrand "math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/internal/crashtest"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/sim"
)

const (
	kills     = 20
	fleetSize = 6
	challenge = "crash-challenge"
)

// TestCrashRecovery SIGKILLs a real server process at random moments of a
// writer workload, 20 times. After each kill the database must pass bbolt's
// consistency check and the queue invariants, every write answered 2xx
// must be there, and the server must start again on the same file.
func TestCrashRecovery(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	bin := crashtest.Build(t)
	dir, addr := crashtest.PrivateDir(t), crashtest.FreeAddr(t)
	args := []string{"--challenge", challenge, "--max-results", "1000000", "--log-level", "warn"}
	srv := start(t, bin, dir, addr, args)
	defer func() { srv.Kill() }()
	key, err := srv.APIKey()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	client := api.NewClient(srv.URL, key, hc)
	devices := enrollFleet(t, client, hc)
	ddm := ddmAvailable(devices[0])
	t.Logf("DDM status reports in the workload: %v (false: this build does not serve DeclarativeManagement)", ddm)
	ids := make([]string, len(devices))
	for i, d := range devices {
		ids[i] = d.UDID()
	}
	l := newLedger(devices)
	for round := 1; round <= kills; round++ {
		rng := mrand.New(mrand.NewPCG(seed, uint64(round)))
		runUntilKilled(srv, client, devices, ids, ddm, round, l, rng)
		hc.CloseIdleConnections()
		snap, err := crashtest.CheckDB(filepath.Join(dir, "tidemark.db"))
		if err != nil {
			t.Fatalf("kill %d: %v\nserver output:\n%s", round, err, srv.Output())
		}
		failIf(t, round, "offline", l.checkOffline(snap))
		began := time.Now()
		srv = start(t, bin, dir, addr, args)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		failIf(t, round, "after restart", l.checkOnline(ctx, client, devices))
		cancel()
		t.Logf("kill %d: %d acknowledged writes so far, %d queued, %d results; restart took %s",
			round, l.writes, len(snap.Queued), len(snap.Results), time.Since(began).Round(time.Millisecond))
	}
	if l.writes < kills*10 {
		t.Errorf("only %d writes were acknowledged over %d kills: the workload did not exercise the server", l.writes, kills)
	}
}

// runUntilKilled runs the writers and SIGKILLs the server after a random
// 150–1200 ms.
func runUntilKilled(srv *crashtest.Server, client *api.Client, devices []*sim.Device, ids []string,
	ddm bool, round int, l *ledger, rng *mrand.Rand) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { adminWriter(ctx, client, ids, round, l, mrand.New(mrand.NewPCG(rng.Uint64(), 1))) })
	for _, d := range devices {
		drng := mrand.New(mrand.NewPCG(rng.Uint64(), 2))
		wg.Go(func() { deviceWriter(ctx, d, l, ddm, drng) })
	}
	time.Sleep(time.Duration(150+rng.IntN(1050)) * time.Millisecond)
	srv.Kill()
	cancel()
	wg.Wait()
}

func start(t *testing.T, bin, dir, addr string, args []string) *crashtest.Server {
	t.Helper()
	s, err := crashtest.Start(bin, dir, addr, args...)
	if err != nil {
		t.Fatalf("server did not start on the database left by the kill: %v", err)
	}
	return s
}

func enrollFleet(t *testing.T, client *api.Client, hc *http.Client) []*sim.Device {
	t.Helper()
	ctx := context.Background()
	profile, err := client.EnrollmentProfile(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var devices []*sim.Device
	for i := range fleetSize {
		a := testenv.Mac(i, "15.7.1", "24G231")
		if i%2 == 1 {
			a = testenv.IPhone(i, "18.6", "22G86")
		}
		d, err := sim.New(a, sim.WithKey(testenv.Key(i)), sim.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Enroll(ctx, profile); err != nil {
			t.Fatalf("enroll %s: %v", a.UDID, err)
		}
		devices = append(devices, d)
	}
	return devices
}

// ddmAvailable reports whether this build serves DeclarativeManagement, so
// status reports join the workload only where they exist.
func ddmAvailable(d *sim.Device) bool {
	_, err := d.Declarative(context.Background(), "tokens", nil)
	return err == nil
}

func failIf(t *testing.T, round int, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if i == 10 {
			t.Errorf("kill %d %s: … %d more", round, what, len(errs)-10)
			break
		}
		t.Errorf("kill %d %s: %v", round, what, err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
}
