package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/legacy"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage"
)

// The legacy driver end to end: a policy, Apple's catalog, simulated Macs
// and iPhones on systems without update declarations, and a clock that
// moves only when the test says. Every pass is driven by the test
// (ReconcileAll, then each device connects), so no test sleeps.

// Updates the sim devices offer; testdata/legacy/catalog.json lists the
// same versions for the models below.
var (
	mac13Target = sim.MacOSUpdate("13.7.8", "22H730", false, 1_200_000_000)
	mac13Major  = sim.MacOSUpdate("14.8.3", "23J430", true, 6_900_000_000)
	mac12Target = sim.MacOSUpdate("12.7.6", "21H1320", false, 1_100_000_000)
	ios16Target = sim.IOSUpdate("16.7.16", "20H392", 450_000_000, 2_100_000_000)
	ios15Target = sim.IOSUpdate("15.8.4", "19H390", 400_000_000, 1_900_000_000)
	// A config-data item that happens to carry the target's version: the
	// driver must never take it for the OS update.
	xprotectLookalike = sim.MacConfigData("052-13780", "XProtectPayloads", "13.7.8")
)

func mac13Catalog() []mdm.AvailableOSUpdate {
	return []mdm.AvailableOSUpdate{xprotectLookalike, mac13Major, mac13Target, macFirmw}
}

// legacyMac is a supervised Apple-silicon Mac on macOS 13.7.7 (or 12.7.5).
func legacyMac(i int, major int) sim.Attributes {
	if major == 12 {
		return testenv.Mac(i, "12.7.5", "21H1222")
	}
	return testenv.Mac(i, "13.7.7", "22H722")
}

// legacyPhone is a supervised iPhone on iOS 16.7.15 (or 15.8.3).
func legacyPhone(i int, major int) sim.Attributes {
	a := testenv.IPhone(i, "16.7.15", "20H380")
	a.ProductName, a.SoftwareUpdateDeviceID = "iPhone10,4", ""
	if major == 15 {
		a.OSVersion, a.BuildVersion, a.ProductName = "15.8.3", "19H386", "iPhone9,3"
	}
	return a
}

// legacyClock is the server's clock; it starts at the next whole minute
// (certificates are dated by the real clock, so it must not run behind).
type legacyClock struct {
	mu    sync.Mutex
	start time.Time
	t     time.Time
}

func (c *legacyClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *legacyClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// legacyRig is a server with the legacy catalog and one policy per test.
type legacyRig struct {
	t    *testing.T
	env  *testenv.Env
	clk  *legacyClock
	devs []*legacyDev
}

type legacyDev struct {
	d  *sim.Device
	lg *sim.Legacy
}

func (d *legacyDev) id() string { return d.d.UDID() }

func startLegacy(t *testing.T, cfg legacy.Config, mutate ...func(*server.Config)) *legacyRig {
	t.Helper()
	t.Parallel()
	start := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	clk := &legacyClock{start: start, t: start}
	env := testenv.Start(t, append([]func(*server.Config){func(c *server.Config) {
		c.Now, c.LegacyDriver = clk.now, cfg
	}}, mutate...)...)
	ps, err := env.Server.PolicyService()
	if err != nil {
		t.Fatal(err)
	}
	raw := golden.Read(t, golden.Path(t, "legacy/catalog.json"))
	if _, err := ps.ImportCatalog(context.Background(), raw, "legacy/catalog.json", "test"); err != nil {
		t.Fatal(err)
	}
	return &legacyRig{t: t, env: env, clk: clk}
}

// deadline is a device-local deadline offset from now. Without the
// device's zone the server counts it as passed only once it has passed
// everywhere (12 h after the wall-clock time in UTC).
func (r *legacyRig) deadline(offset time.Duration) string {
	return r.clk.now().Add(offset).Format(enforcement.LocalDateTimeLayout)
}

// policy saves a version policy for a platform (forced: tests use past
// deadlines on purpose).
func (r *legacyRig) policy(id, platform, version, deadline string, edit ...func(*enforcement.Policy)) {
	r.t.Helper()
	p := enforcement.Policy{ID: id, Name: id, Scope: enforcement.Scope{All: true, Platforms: []string{platform}},
		Target: enforcement.Target{Kind: enforcement.TargetVersion, OSVersion: version}, Deadline: enforcement.Deadline{LocalDateTime: deadline}}
	for _, e := range edit {
		e(&p)
	}
	ps, _ := r.env.Server.PolicyService()
	if _, err := ps.PutPolicy(context.Background(), p, policysvc.WriteOptions{Actor: "test", Force: true}); err != nil {
		r.t.Fatal(err)
	}
}

// enroll adds a device with its legacy update model; Macs escrow their
// bootstrap token as a user login would.
func (r *legacyRig) enroll(a sim.Attributes, cfg sim.LegacyConfig) *legacyDev {
	r.t.Helper()
	return r.enrollWith(a, cfg, true)
}

func (r *legacyRig) enrollWith(a sim.Attributes, cfg sim.LegacyConfig, escrow bool) *legacyDev {
	r.t.Helper()
	d := r.env.Enroll(r.t, a, len(r.devs))
	ld := &legacyDev{d: d, lg: d.EnableLegacyUpdates(cfg)}
	if escrow && a.Platform == mdm.PlatformMacOS && a.BootstrapRequired {
		if err := d.SetBootstrapToken(context.Background(), []byte("bootstrap-"+a.UDID)); err != nil {
			r.t.Fatal(err)
		}
	}
	r.devs = append(r.devs, ld)
	return ld
}

// step lets time pass, reconciles every device, lets each connect, and
// reconciles again so what they answered is read at this same time (the
// background worker would do it too, a moment later).
func (r *legacyRig) step(d time.Duration) {
	r.t.Helper()
	r.clk.advance(d)
	r.reconcile()
	for _, dev := range r.devs {
		r.connect(dev)
	}
	r.reconcile()
}

func (r *legacyRig) reconcile() {
	r.t.Helper()
	if _, err := r.env.Server.Reconciler().ReconcileAll(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

func (r *legacyRig) connect(dev *legacyDev) {
	r.t.Helper()
	if _, err := dev.d.Connect(context.Background(), 50); err != nil {
		r.t.Fatalf("%s: %v", dev.id(), err)
	}
}

// legacyWhy is one device's `device why` for its (only) policy, with the
// driver's record decoded.
type legacyWhy struct {
	reconcile.PolicyWhy
	View legacy.View
}

func (w legacyWhy) track() *legacy.Track { return w.View.Track }

// state reads the device's stored standing and the driver's record
// without reconciling (cheap, for polling loops).
func (r *legacyRig) state(dev *legacyDev) legacyWhy {
	r.t.Helper()
	ctx := context.Background()
	st := r.env.Server.Store()
	out := legacyWhy{View: legacy.View{Track: &legacy.Track{}}}
	raw, err := st.Blob(ctx, reconcile.StateCollection, dev.id())
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		r.t.Fatal(err)
	}
	rec, err := reconcile.DecodeRecord(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	for id, pr := range rec.Policies {
		if pr.InScope || len(rec.Policies) == 1 {
			out.PolicyWhy = reconcile.PolicyWhy{PolicyID: id, State: pr.State, Reason: pr.Reason}
		}
	}
	raw, err = st.Blob(ctx, legacy.Collection, dev.id())
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		r.t.Fatal(err)
	}
	lr, err := legacy.DecodeRecord(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	out.View.Scan, out.View.Requested = lr.Scan, lr.Requested
	if tr := lr.Tracks[out.PolicyID]; tr != nil {
		out.View.Track = tr
	}
	return out
}

// why is the device's `device why` (it reconciles first).
func (r *legacyRig) why(dev *legacyDev) legacyWhy {
	r.t.Helper()
	why, err := r.env.Server.Reconciler().Explain(context.Background(), dev.id(), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	var out legacyWhy
	for _, pw := range why.Policies {
		if pw.Plan.InScope {
			out.PolicyWhy = pw
		}
	}
	raw, err := json.Marshal(out.Legacy)
	if err == nil && out.Legacy != nil {
		err = json.Unmarshal(raw, &out.View)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	if out.View.Track == nil {
		out.View.Track = &legacy.Track{}
	}
	return out
}

// until steps until cond holds for the device; it fails after max steps
// with the device's last explanation.
func (r *legacyRig) until(dev *legacyDev, every time.Duration, max int, what string, cond func(w legacyWhy) bool) legacyWhy {
	r.t.Helper()
	for range max {
		r.step(every)
		if w := r.state(dev); cond(w) {
			return w
		}
	}
	w := r.state(dev)
	r.t.Fatalf("%s: no %s after %d steps of %s: %s", dev.id(), what, max, every, describeWhy(w))
	return w
}

func installed(w legacyWhy) bool { return w.State.Compliance == enforcement.Installed }

func hasReason(code enforcement.Code) func(w legacyWhy) bool {
	return func(w legacyWhy) bool { return w.Reason.Code == code }
}

func describeWhy(w legacyWhy) string {
	t := w.track()
	var log []string
	for _, e := range t.Log {
		log = append(log, fmt.Sprintf("%s %s %s", e.At.Format("01-02T15:04"), e.Event, e.Detail))
	}
	return fmt.Sprintf("%s/%s reason %q (%s); phase %s next %+v\n  %s", w.State.Compliance, w.State.Step,
		w.Reason.Code, w.Reason.Message, t.Phase, t.Next, strings.Join(log, "\n  "))
}

// scheduled lists the ScheduleOSUpdate install actions the device took,
// in order (from the update history the server stored).
func (r *legacyRig) scheduled(dev *legacyDev) []string {
	r.t.Helper()
	var out []string
	for _, rc := range dev.d.Received() {
		if rc.RequestType == mdm.RequestScheduleOSUpdate {
			out = append(out, rc.Status)
		}
	}
	return out
}

// actions lists the install actions of every ScheduleOSUpdate the driver
// queued (its log), in order.
func actions(w legacyWhy) []string {
	var out []string
	for _, e := range w.track().Log {
		if e.Event == "scheduled" {
			out = append(out, strings.Fields(e.Detail)[0])
		}
	}
	return out
}

// queued counts the device's queued commands per request type.
func (r *legacyRig) queued(dev *legacyDev) map[string]int {
	r.t.Helper()
	q, err := r.env.Server.Store().Queue(context.Background(), dev.id())
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range q {
		out[e.RequestType]++
	}
	return out
}

// noDuplicates fails when an update command type is queued twice. (The
// worker's own DeviceInformation/SecurityInfo refresh does not look at the
// queue yet, so those are not checked here.)
func (r *legacyRig) noDuplicates(dev *legacyDev) {
	r.t.Helper()
	for kind, n := range r.queued(dev) {
		if n > 1 && kind != mdm.RequestDeviceInformation && kind != mdm.RequestSecurityInfo {
			r.t.Errorf("%s: %d %s queued at once", dev.id(), n, kind)
		}
	}
}

func wantReason(t *testing.T, w legacyWhy, code enforcement.Code, remedyPart string) {
	t.Helper()
	info, _ := enforcement.LookupReason(code)
	if w.Reason.Code != code || !strings.Contains(w.Reason.Remedy, remedyPart) || w.Reason.Remedy == "" {
		t.Fatalf("reason %q remedy %q; want %q with remedy containing %q (catalogue: %q)\n%s",
			w.Reason.Code, w.Reason.Remedy, code, remedyPart, info.Remedy, describeWhy(w))
	}
}

func wantNext(t *testing.T, w legacyWhy, action string, at time.Time) {
	t.Helper()
	n := w.track().Next
	if n.Action != action || (!at.IsZero() && !n.At.Equal(at)) {
		t.Fatalf("next %+v; want %s at %s\n%s", n, action, at, describeWhy(w))
	}
}
