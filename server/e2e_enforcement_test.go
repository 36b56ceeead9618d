package server_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
)

// settableClock is a server clock the test sets; the CA follows it too, so
// certificates are valid in simulated time whatever the real date.
type settableClock struct{ ns atomic.Int64 }

func newSettableClock(t time.Time) *settableClock {
	c := &settableClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *settableClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *settableClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// fleetKind describes one kind of device in the mixed fleet and what the
// policy must make of it.
type fleetKind struct {
	name       string
	attrs      func(i int) sim.Attributes
	offline    bool // enrolls, then never checks in again
	bootstrap  bool // escrows a bootstrap token
	compliance enforcement.Compliance
	reason     enforcement.Code
	// midReason is the reason expected while the update is under way.
	midReason enforcement.Code
}

var (
	enfStart    = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	enfDeadline = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)
)

func mac(i int, v, b string, supervised bool) sim.Attributes {
	a := testenv.Mac(i, v, b)
	a.Supervised = supervised
	return a
}

func phone(i int, v, b string, supervised bool) sim.Attributes {
	a := testenv.IPhone(i, v, b)
	a.Supervised = supervised
	return a
}

var fleetKinds = []fleetKind{
	{name: "mac14", attrs: func(i int) sim.Attributes { return mac(i, "14.8.3", "23J430", true) }, bootstrap: true, compliance: enforcement.Installed},
	{name: "mac15", attrs: func(i int) sim.Attributes { return mac(i, "15.7.3", "24G420", true) }, bootstrap: true, compliance: enforcement.Installed},
	{name: "mac26", attrs: func(i int) sim.Attributes { return mac(i, "26.1", "25B78", true) }, bootstrap: true, compliance: enforcement.Installed},
	{name: "mac-current", attrs: func(i int) sim.Attributes { return mac(i, "26.2", "25C56", true) }, bootstrap: true, compliance: enforcement.Installed},
	{name: "ios17", attrs: func(i int) sim.Attributes { return phone(i, "17.7.10", "21H450", true) }, compliance: enforcement.Installed},
	{name: "ios18", attrs: func(i int) sim.Attributes { return phone(i, "18.7.3", "22H120", true) }, compliance: enforcement.Installed},
	{name: "ios26", attrs: func(i int) sim.Attributes { return phone(i, "26.1", "23B85", true) }, compliance: enforcement.Installed},
	{name: "ios-unsupervised", attrs: func(i int) sim.Attributes { return phone(i, "18.7.3", "22H120", false) }, compliance: enforcement.Installed},
	{name: "mac-unsupervised", attrs: func(i int) sim.Attributes { return mac(i, "15.7.3", "24G420", false) }, bootstrap: true,
		compliance: enforcement.Required, reason: "not_supervised"},
	// Without an escrowed token the declaration still goes out (the user
	// authorises the install at the deadline) and the admin is told why.
	{name: "mac-no-bootstrap", attrs: func(i int) sim.Attributes { return mac(i, "15.7.3", "24G420", true) },
		compliance: enforcement.Installed, midReason: "bootstrap_token_missing"},
	// Offline devices: their last report is stale, so their standing is
	// unknown, and the reason says what the admin can do about it.
	{name: "mac-offline", attrs: func(i int) sim.Attributes { return mac(i, "15.7.3", "24G420", true) }, bootstrap: true, offline: true,
		compliance: enforcement.Unknown, reason: "not_checking_in"},
	{name: "ios-offline", attrs: func(i int) sim.Attributes { return phone(i, "18.7.3", "22H120", true) }, offline: true,
		compliance: enforcement.Unknown, reason: "not_checking_in"},
}

type fleetMember struct {
	kind  *fleetKind
	dev   *sim.Device
	agent *sim.DDM
}

// TestPolicyDrivesMixedFleetToCompliance: one "latest" policy over 204
// mixed devices. Every reachable device that can be updated ends Installed
// (verified by the version it reports); every other device ends Required
// with the reason that explains it.
func TestPolicyDrivesMixedFleetToCompliance(t *testing.T) {
	if testing.Short() {
		t.Skip("fleet test")
	}
	clk := newSettableClock(enfStart)
	env := testenv.Start(t, func(c *server.Config) { c.Now = clk.now })
	ctx := context.Background()
	svc, _ := env.Server.PolicyService()
	raw, err := os.ReadFile("../testdata/catalog/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportCatalog(ctx, raw, "fixture", "test"); err != nil {
		t.Fatal(err)
	}
	fleet := enrollMixedFleet(t, env, 17)

	policy := `{"id":"latest","name":"Latest release by Nov 28","scope":{"all":true},"target":{"kind":"latest"},"deadline":{"local_date_time":"2026-11-28T17:00:00"}}`
	putPolicy(t, env, "latest", policy)

	step := func(at time.Time) {
		t.Helper()
		clk.set(at)
		if _, err := env.Server.Reconciler().ReconcileAll(ctx); err != nil {
			t.Fatal(err)
		}
		drain(t, env)
		eachMember(t, fleet, func(m *fleetMember) error {
			if m.kind.offline {
				return nil
			}
			if _, err := m.dev.Connect(ctx, 10); err != nil {
				return err
			}
			return m.agent.AdvanceTo(ctx, at)
		})
		if _, err := env.Server.Reconciler().ReconcileAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(enfStart)
	step(enfDeadline.Add(-23 * time.Hour))
	for _, m := range fleet {
		if m.kind.midReason == "" {
			continue
		}
		why, err := env.Server.Reconciler().Explain(ctx, m.dev.UDID(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r := why.Policies[0].Reason; r.Code != m.kind.midReason || r.Remedy == "" {
			t.Errorf("%s (%s) while updating: reason %q (%s), want %s with a remedy", m.dev.UDID(), m.kind.name, r.Code, r.Message, m.kind.midReason)
		}
	}
	step(enfDeadline.Add(-time.Hour))
	step(enfDeadline)
	step(enfDeadline.Add(time.Hour))

	counts := map[string]int{}
	for _, m := range fleet {
		why, err := env.Server.Reconciler().Explain(ctx, m.dev.UDID(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(why.Policies) != 1 {
			t.Fatalf("%s: %d policies", m.dev.UDID(), len(why.Policies))
		}
		p := why.Policies[0]
		got := fmt.Sprintf("%s/%s", p.State.Compliance, p.Reason.Code)
		if p.State.Compliance == enforcement.Installed {
			got = string(enforcement.Installed) + "/"
		}
		want := fmt.Sprintf("%s/%s", m.kind.compliance, m.kind.reason)
		if got != want {
			t.Errorf("%s (%s): got %s, want %s (step %s, os %s, reason %q: %s)", m.dev.UDID(), m.kind.name, got, want,
				p.State.Step, why.Facts.OSVersion, p.Reason.Code, p.Reason.Message)
		}
		if p.Reason.Code != "" && p.Reason.Remedy == "" {
			t.Errorf("%s: reason %s without a remedy", m.dev.UDID(), p.Reason.Code)
		}
		counts[m.kind.name+" "+got]++
	}
	t.Logf("outcomes: %v", counts)
}

func putPolicy(t *testing.T, env *testenv.Env, id, body string) {
	t.Helper()
	var out map[string]any
	if err := env.API.Do(context.Background(), "PUT", "/v1/policies/"+id, jsonRaw(body), &out); err != nil {
		t.Fatalf("put policy: %v", err)
	}
}

type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

func enrollMixedFleet(t *testing.T, env *testenv.Env, perKind int) []*fleetMember {
	t.Helper()
	var fleet []*fleetMember
	n := 0
	for k := range fleetKinds {
		for range perKind {
			n++
			kind := &fleetKinds[k]
			d := env.NewDevice(t, kind.attrs(n), n)
			fleet = append(fleet, &fleetMember{kind: kind, dev: d, agent: sim.EnableDDM(d, sim.DDMOptions{Clock: enfStart})})
		}
	}
	ctx := context.Background()
	eachMember(t, fleet, func(m *fleetMember) error {
		if err := m.dev.Enroll(ctx, env.Profile); err != nil {
			return err
		}
		if m.kind.bootstrap {
			if err := m.dev.SetBootstrapToken(ctx, []byte("token-"+m.dev.UDID())); err != nil {
				return err
			}
		}
		// Facts a real device reports when asked.
		_, err := m.dev.Connect(ctx, 10)
		return err
	})
	return fleet
}

func eachMember(t *testing.T, fleet []*fleetMember, fn func(m *fleetMember) error) {
	t.Helper()
	errs := make([]error, len(fleet))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range fleet {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(fleet[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", fleet[i].dev.UDID(), err)
		}
	}
}
