package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/storage"
	"github.com/tidemark-mdm/tidemark/storage/bolt"
)

type fixedPolicies struct {
	policies []enforcement.Policy
	catalog  *enforcement.Catalog
}

func (f fixedPolicies) Policies(context.Context) ([]enforcement.Policy, error) {
	return f.policies, nil
}
func (f fixedPolicies) Catalog(context.Context) (*enforcement.Catalog, error) { return f.catalog, nil }

// memDecls keeps device declarations in memory.
type memDecls struct{ held map[string]string }

func (m *memDecls) PutDeviceDeclaration(_ context.Context, id string, d *ddm.Declaration) (bool, error) {
	k, v := id+"/"+d.Identifier, string(d.Payload)
	if m.held[k] == v {
		return false, nil
	}
	m.held[k] = v
	return true, nil
}

func (m *memDecls) DeleteDeviceDeclaration(_ context.Context, id, ident string) (bool, error) {
	_, ok := m.held[id+"/"+ident]
	delete(m.held, id+"/"+ident)
	return ok, nil
}

func (m *memDecls) Status(context.Context, string) (*ddm.DeviceStatus, error) {
	return nil, storage.ErrNotFound
}

func loadFleet(b *testing.B, n int) (*bolt.Store, fixedPolicies) {
	b.Helper()
	raw, err := os.ReadFile("../../testdata/catalog/fixture.json")
	if err != nil {
		b.Fatal(err)
	}
	cat, err := enforcement.ParseCatalog(raw)
	if err != nil {
		b.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(b.TempDir(), "t.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	yes := true
	devices := make([]storage.Device, 0, n)
	for i := range n {
		d := storage.Device{ID: fmt.Sprintf("DEV-%07d", i), Enrolled: true, EnrolledAt: now.Add(-48 * time.Hour), LastSeen: now.Add(-time.Hour)}
		d.Facts = storage.Facts{Platform: "macOS", OSVersion: "15.7.1", BuildVersion: "24G231", ProductName: "Mac14,2",
			SoftwareUpdateDeviceID: "J413AP", Supervised: &yes, AppleSilicon: &yes, DeviceInfoAt: now.Add(-time.Hour), SecurityInfoAt: now.Add(-time.Hour)}
		if i%2 == 1 {
			d.Facts = storage.Facts{Platform: "iOS", OSVersion: "18.6", BuildVersion: "22G86", ProductName: "iPhone15,2",
				SoftwareUpdateDeviceID: "iPhone15,2", Supervised: &yes, DeviceInfoAt: now.Add(-time.Hour)}
		}
		devices = append(devices, d)
	}
	for i := 0; i < n; i += 10_000 {
		if err := st.ImportDevices(context.Background(), devices[i:min(i+10_000, n)]); err != nil {
			b.Fatal(err)
		}
	}
	p := enforcement.Policy{ID: "p1", Name: "latest", Scope: enforcement.Scope{All: true},
		Target: enforcement.Target{Kind: enforcement.TargetLatest}, Deadline: enforcement.Deadline{LocalDateTime: "2026-12-04T17:00:00"}}
	return st, fixedPolicies{policies: []enforcement.Policy{p}, catalog: cat}
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReconcileAll100k measures a steady-state pass (declarations
// already delivered, nothing changed) over 100,000 devices.
func BenchmarkReconcileAll100k(b *testing.B) { benchReconcile(b, 100_000) }

// BenchmarkReconcileAll10k is the quick variant for profiling.
func BenchmarkReconcileAll10k(b *testing.B) { benchReconcile(b, 10_000) }

func benchReconcile(b *testing.B, n int) {
	st, pol := loadFleet(b, n)
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	w := reconcile.New(st, pol, &memDecls{held: map[string]string{}}, reconcile.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	first, err := w.ReconcileAll(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("first pass: %+v", first)
	runtime.GC()
	b.ResetTimer()
	start := cpu()
	for i := 0; i < b.N; i++ {
		s, err := w.ReconcileAll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if s.StateChanges != 0 || s.Delivered != 0 {
			b.Fatalf("steady-state pass changed things: %+v", s)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu()-start)/float64(time.Second)/float64(b.N), "cpu-s/pass")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}
