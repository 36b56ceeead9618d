package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/legacy"
	"github.com/tidemark-mdm/tidemark/enrollprofile"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
)

// TestLegacyFleet: 300 legacy devices (macOS 12 and 13, iOS 15 and 16),
// each with a condition drawn from a seeded mix. Transient conditions are
// cleared once the server has named them; those devices must end
// Installed. Permanent ones must end with their reason.
func TestLegacyFleet(t *testing.T) {
	n := 300
	if raceDetector {
		n = fleetUnderRace
	}
	r := startLegacy(t, legacy.Config{NotFoundScans: 4, NotFoundAge: 3 * time.Hour, FallbackRetry: 72 * time.Hour}, func(c *server.Config) {
		c.DataDir = "/dev/shm/tm-fleet-test"
		os.RemoveAll(c.DataDir)
		os.Mkdir(c.DataDir, 0o700)
	})
	rng := rand.New(rand.NewPCG(8, 2026))
	order := rng.Perm(len(fleetConditions))
	fleet := make([]*fleetDevice, n)
	for i := range n {
		fleet[i] = newFleetDevice(i, drawCondition(i, order, rng))
	}
	// One policy per OS major, scoped to a group of the same name.
	deadline := r.deadline(-48 * time.Hour)
	for _, p := range fleetPolicies {
		r.policy(p.id, p.platform, p.version, deadline, func(pol *enforcement.Policy) {
			pol.Scope = enforcement.Scope{Groups: []string{p.id}}
		})
	}
	r.enrollFleet(fleet)

	for range fleetSteps {
		r.fleetStep(fleet, 30*time.Minute)
	}
	r.reconcile() // read what the last answers said

	counts := map[string]int{}
	for _, fd := range fleet {
		w := r.state(fd.dev)
		counts[fd.cond.name]++
		if msg := fd.cond.check(fd, w); msg != "" {
			t.Errorf("%s (%s, %s): %s\n%s", fd.attrs.UDID, fd.policy, fd.cond.name, msg, describeWhy(w))
		}
		r.noDuplicates(fd.dev)
	}
	t.Logf("conditions: %v", sortedCounts(counts))
}

var fleetSteps = 16

// fleetUnderRace: the race detector multiplies the server's cost per
// request several times over; a smaller fleet keeps the suite in budget
// while every condition still occurs.
const fleetUnderRace = 100

var fleetPolicies = []struct{ id, platform, version string }{
	{"mac12", "macOS", "12.7.6"}, {"mac13", "macOS", "13.7.8"}, {"ios15", "iOS", "15.8.4"}, {"ios16", "iOS", "16.7.16"},
}

// fleetCondition is one injected condition: set before enrolment, cleared
// (when transient) once the server reports what clear waits for.
type fleetCondition struct {
	name      string
	macOnly   bool
	permanent enforcement.Code // the reason a permanent condition ends with
	set       func(a *sim.Attributes, f *sim.LegacyFaults, key string)
	// clearOn is the reason (or next action) that shows the server saw it.
	clearOn func(w legacyWhy) bool
	clear   func(r *legacyRig, fd *fleetDevice)
}

func (c *fleetCondition) check(fd *fleetDevice, w legacyWhy) string {
	if c.permanent == "" {
		if w.State.Compliance != enforcement.Installed {
			return "not installed"
		}
		if v := fd.dev.d.Attributes().OSVersion; v != fd.target {
			return "device runs " + v
		}
		if c.clear != nil && !fd.cleared {
			return "the condition was never named, so never cleared"
		}
		return ""
	}
	if w.Reason.Code != c.permanent {
		return fmt.Sprintf("reason %q, want %q", w.Reason.Code, c.permanent)
	}
	return ""
}

func clearFaults(r *legacyRig, fd *fleetDevice) { fd.dev.lg.SetFaults(sim.LegacyFaults{}) }

var fleetConditions = []*fleetCondition{
	{name: "none"},
	{name: "hidden-once", set: func(_ *sim.Attributes, f *sim.LegacyFaults, key string) { f.HiddenScans = map[string]int{key: 1} }},
	{name: "schedule-error", set: func(_ *sim.Attributes, f *sim.LegacyFaults, _ string) { f.ScheduleError = true },
		clearOn: failed(enforcement.CodeScheduleFailed), clear: clearFaults},
	{name: "status-error", set: func(_ *sim.Attributes, f *sim.LegacyFaults, _ string) { f.StatusErrorNoDetail = true },
		clearOn: failed(enforcement.CodeStatusErrorNoDetail), clear: clearFaults},
	{name: "download-stuck", set: func(_ *sim.Attributes, f *sim.LegacyFaults, _ string) { f.DownloadStuck = true },
		clearOn: func(w legacyWhy) bool { return w.track().Assumed }, clear: clearFaults},
	{name: "idle", set: func(_ *sim.Attributes, f *sim.LegacyFaults, _ string) { f.IdleAfterInstall = true },
		clearOn: func(w legacyWhy) bool { return logged(w, "idle", "") }, clear: clearFaults},
	{name: "action-unsupported", set: func(_ *sim.Attributes, f *sim.LegacyFaults, key string) { f.ActionUnsupported = []string{key} },
		clearOn: failed(enforcement.CodeInstallActionUnsupported), clear: clearFaults},
	{name: "personalization", set: func(_ *sim.Attributes, f *sim.LegacyFaults, _ string) { f.PersonalizationFailure = true },
		clearOn: failed(enforcement.CodePersonalizationFailed), clear: clearFaults},
	{name: "battery", set: func(a *sim.Attributes, _ *sim.LegacyFaults, _ string) { a.BatteryLevel = 0.3 },
		clearOn: reasonIs(enforcement.CodeBatteryLow),
		clear:   func(_ *legacyRig, fd *fleetDevice) { fd.dev.d.Update(func(a *sim.Attributes) { a.BatteryLevel = 0.9 }) }},
	{name: "disk-full", set: func(a *sim.Attributes, _ *sim.LegacyFaults, _ string) { a.FreeGB = 3 },
		clearOn: reasonIs(enforcement.CodeInsufficientSpace),
		clear:   func(_ *legacyRig, fd *fleetDevice) { fd.dev.d.Update(func(a *sim.Attributes) { a.FreeGB = 90 }) }},
	{name: "locked", set: nil,
		clearOn: func(w legacyWhy) bool { return w.track().Next.Action == "wait_for_checkin" },
		clear:   func(_ *legacyRig, fd *fleetDevice) { fd.dev.d.SetNotNow("*", false) }},
	{name: "late-bootstrap", macOnly: true,
		clearOn: func(w legacyWhy) bool {
			return w.Reason.Code == enforcement.CodeAwaitingBootstrapToken || w.Reason.Code == enforcement.CodeBootstrapTokenMissing
		},
		clear: func(r *legacyRig, fd *fleetDevice) {
			if err := fd.dev.d.SetBootstrapToken(context.Background(), []byte("late")); err != nil {
				r.t.Error(err)
			}
		}},
	{name: "unsupervised", permanent: enforcement.CodeNotSupervised,
		set: func(a *sim.Attributes, _ *sim.LegacyFaults, _ string) { a.Supervised = false }},
	{name: "no-bootstrap", macOnly: true, permanent: enforcement.CodeBootstrapTokenMissing},
	{name: "never-offered", permanent: enforcement.CodeProductKeyNotFound,
		set: func(_ *sim.Attributes, f *sim.LegacyFaults, key string) { f.HiddenScans = map[string]int{key: 1 << 20} }},
	{name: "always-idle", permanent: enforcement.CodeFallbackIssued,
		set: func(_ *sim.Attributes, f *sim.LegacyFaults, _ string) { f.IdleAfterInstall = true }},
	{name: "always-failing", permanent: enforcement.CodeFallbackRequested,
		set: func(_ *sim.Attributes, f *sim.LegacyFaults, _ string) { f.ScheduleError = true }},
}

// failed: the driver logged this failure (the log keeps it after the
// reason moved on, so a late look still sees it).
func failed(code enforcement.Code) func(w legacyWhy) bool {
	return func(w legacyWhy) bool { return logged(w, "failed", string(code)) }
}

func logged(w legacyWhy, event, prefix string) bool {
	for _, e := range w.track().Log {
		if e.Event == event && strings.HasPrefix(e.Detail, prefix) {
			return true
		}
	}
	return false
}

func reasonIs(code enforcement.Code) func(w legacyWhy) bool {
	return func(w legacyWhy) bool { return w.Reason.Code == code }
}

type fleetDevice struct {
	attrs   sim.Attributes
	policy  string
	target  string
	sc      sim.LegacyConfig
	cond    *fleetCondition
	cleared bool
	dev     *legacyDev
}

// drawCondition: the first devices take every condition on each of the
// four platforms, in an order the seed shuffles, so even the smaller fleet
// has them all; the rest draw freely, a third of them with no condition.
func drawCondition(i int, order []int, rng *rand.Rand) int {
	if i < 4*len(order) {
		return order[i/4] // i%4 picks the platform
	}
	if rng.IntN(3) == 0 {
		return 0
	}
	return rng.IntN(len(fleetConditions))
}

// newFleetDevice picks a platform by index and applies the condition
// (Mac-only conditions fall back to none on iPhones).
func newFleetDevice(i, cond int) *fleetDevice {
	fd := &fleetDevice{}
	var item mdm.AvailableOSUpdate
	switch i % 4 {
	case 0:
		fd.attrs, fd.policy, item = legacyMac(i+1, 12), "mac12", mac12Target
	case 1:
		fd.attrs, fd.policy, item = legacyMac(i+1, 13), "mac13", mac13Target
	case 2:
		fd.attrs, fd.policy, item = legacyPhone(i+1, 15), "ios15", ios15Target
	default:
		fd.attrs, fd.policy, item = legacyPhone(i+1, 16), "ios16", ios16Target
	}
	fd.target = item.Version
	fd.sc = sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{item}, DownloadSteps: 1, InstallSteps: 1}
	fd.cond = fleetConditions[cond]
	if fd.cond.macOnly && fd.attrs.Platform != mdm.PlatformMacOS {
		fd.cond = fleetConditions[0]
	}
	if fd.cond.set != nil {
		fd.cond.set(&fd.attrs, &fd.sc.Faults, item.ProductKey)
	}
	return fd
}

// enrollFleet enrolls every device concurrently; Macs escrow their
// bootstrap token unless their condition says otherwise.
func (r *legacyRig) enrollFleet(fleet []*fleetDevice) {
	r.t.Helper()
	for i, fd := range fleet {
		d := r.env.NewDevice(r.t, fd.attrs, i)
		fd.dev = &legacyDev{d: d, lg: d.EnableLegacyUpdates(fd.sc)}
		r.devs = append(r.devs, fd.dev)
	}
	prof, err := enrollprofile.ParseForSim(r.env.Profile)
	if err != nil {
		r.t.Fatal(err)
	}
	ca := r.env.Server.CA()
	ps, _ := r.env.Server.PolicyService()
	r.parallel(fleet, func(fd *fleetDevice) error {
		// Certificates straight from the CA: SCEP has its own tests, and
		// 300 round trips of it would dominate this one.
		d := fd.dev.d
		_, key := d.Identity()
		cert, err := ca.IssueDirect(key.Public(), fd.attrs.UDID, 24*time.Hour)
		if err != nil {
			return err
		}
		if err := d.EnrollWithIdentity(context.Background(), cert, prof.ServerURL, prof.CheckInURL, prof.Topic); err != nil {
			return err
		}
		if _, err := ps.SetDeviceGroup(context.Background(), fd.attrs.UDID, fd.policy, true, "test"); err != nil {
			return err
		}
		if fd.cond.name == "locked" {
			d.SetNotNow("*", true)
		}
		escrow := fd.attrs.Platform == mdm.PlatformMacOS && fd.cond.name != "no-bootstrap" && fd.cond.name != "late-bootstrap"
		if escrow {
			return d.SetBootstrapToken(context.Background(), []byte("bootstrap"))
		}
		return nil
	})
}

// fleetStep moves the clock, reconciles, lets every device with queued
// commands connect (as a push would make it), reconciles again, and
// clears the transient conditions the server has named.
func (r *legacyRig) fleetStep(fleet []*fleetDevice, every time.Duration) {
	r.t.Helper()
	r.clk.advance(every)
	r.reconcile()
	r.parallel(fleet, func(fd *fleetDevice) error {
		if len(r.queued(fd.dev)) == 0 {
			return nil
		}
		_, err := fd.dev.d.Connect(context.Background(), 50)
		return err
	})
	for _, fd := range fleet {
		if c := fd.cond; c.clear != nil && !fd.cleared && c.clearOn(r.state(fd.dev)) {
			c.clear(r, fd)
			fd.cleared = true
		}
	}
}

func (r *legacyRig) parallel(fleet []*fleetDevice, fn func(fd *fleetDevice) error) {
	r.t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	sem := make(chan struct{}, 16)
	for _, fd := range fleet {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(fd); err != nil {
				mu.Lock()
				errs = append(errs, fd.attrs.UDID+": "+err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		r.t.Fatal(strings.Join(errs, "\n"))
	}
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return b.String()
}
