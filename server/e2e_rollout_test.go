package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
)

// The rollout: ring "it" (a group) by Wednesday 25 November 17:00, 40 %
// of the rest three days later, everyone else four days later.
const rolloutPolicy = `{"id":"rollout","name":"Staged to the latest release","scope":{"all":true},"target":{"kind":"latest"},
 "deadline":{"local_date_time":"2026-11-25T17:00:00"},
 "rings":[{"name":"it","groups":["it"]},{"name":"pilot","percent":40,"deadline_offset_days":3},{"name":"broad","deadline_offset_days":4}]}`

// rolloutKinds: a healthy fleet with a handful of devices the forecast
// must name, each with the risk it must give.
var rolloutKinds = []struct {
	fleetKind
	count int
	risk  enforcement.Code // "" = not at risk
}{
	{fleetKind{name: "it", attrs: func(i int) sim.Attributes { return mac(i, "26.1", "25B78", true) }, bootstrap: true}, 20, ""},
	{fleetKind{name: "mac", attrs: func(i int) sim.Attributes { return mac(i, "26.1", "25B78", true) }, bootstrap: true}, 45, ""},
	{fleetKind{name: "phone", attrs: func(i int) sim.Attributes { return phone(i, "26.1", "23B85", true) }}, 46, ""},
	{fleetKind{name: "unsupervised", attrs: func(i int) sim.Attributes { return mac(i, "26.1", "25B78", false) }, bootstrap: true}, 2, enforcement.CodeNotSupervised},
	{fleetKind{name: "no-token", attrs: func(i int) sim.Attributes { return mac(i, "26.1", "25B78", true) }}, 2, enforcement.CodeBootstrapTokenMissing},
	{fleetKind{name: "low-battery", attrs: func(i int) sim.Attributes {
		a := phone(i, "26.1", "23B85", true)
		a.BatteryLevel = 0.2
		return a
	}}, 2, enforcement.CodeBatteryLow},
	{fleetKind{name: "full-disk", attrs: func(i int) sim.Attributes {
		a := mac(i, "26.1", "25B78", true)
		a.FreeGB = 10
		return a
	}, bootstrap: true}, 1, enforcement.CodeInsufficientSpace},
	{fleetKind{name: "offline", attrs: func(i int) sim.Attributes { return mac(i, "26.1", "25B78", true) }, bootstrap: true, offline: true}, 2, enforcement.CodeNotCheckingIn},
}

var (
	rolloutStart = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at           = func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }
)

// TestRingedRolloutPausesAndResumes: 120 devices in three rings. The
// pilot ring fails above the threshold: the policy pauses itself, the
// last ring never starts while it is paused, already updated devices
// stay updated, and resuming continues the rollout. Before the deadline
// the forecast names exactly the devices at risk.
func TestRingedRolloutPausesAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("fleet test")
	}
	r := newRolloutRun(t)
	r.step(at(24, 18), all) // ring "it" gets the update and downloads
	r.checkRings("it")
	r.checkHeld(true)
	r.checkForecast()

	// Only devices of started rings check in from here on: the others
	// have nothing to do, and the test stays fast.
	r.step(at(25, 18), "it") // "it" installed at its deadline: the pilot starts
	r.checkInstalled("it")
	r.checkRings("it", "pilot")

	r.step(at(27, 18), "pilot") // the pilot downloads; a quarter of it fails
	r.checkAutoPaused()

	// The pilot's deadline has passed everywhere, but the policy is
	// paused: the broad ring waits, and devices already updated stay so.
	r.step(at(29, 6), "it")
	r.checkRings("it", "pilot")
	r.checkHeld(false)
	r.checkInstalled("it")

	r.resume()
	r.step(at(29, 7), "pilot") // the pilot gets its update again; the broad ring starts
	r.checkRings("it", "pilot", "broad")
	r.step(at(29, 18), "broad")
	r.checkInstalled("it", "mac", "phone")
	if n := r.events(rollout.EventKind); n != 1 {
		t.Errorf("%d automatic pauses, want exactly 1: acknowledged failures must not pause the policy again", n)
	}
}

type rolloutRun struct {
	t       *testing.T
	env     *testenv.Env
	clk     *settableClock
	fleet   []*fleetMember
	risk    map[string]enforcement.Code // device → expected forecast risk
	ring    map[string]string           // device → ring name
	failing map[string]bool
}

func newRolloutRun(t *testing.T) *rolloutRun {
	clk := newSettableClock(rolloutStart)
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
	r := &rolloutRun{t: t, env: env, clk: clk, risk: map[string]enforcement.Code{}, ring: map[string]string{}, failing: map[string]bool{}}
	n := 0
	for k := range rolloutKinds {
		for range rolloutKinds[k].count {
			n++
			kind := &rolloutKinds[k].fleetKind
			d := env.NewDevice(t, kind.attrs(n), n)
			r.fleet = append(r.fleet, &fleetMember{kind: kind, dev: d, agent: sim.EnableDDM(d, sim.DDMOptions{Clock: rolloutStart})})
			if rk := rolloutKinds[k].risk; rk != "" {
				r.risk[d.UDID()] = rk
			}
		}
	}
	eachMember(t, r.fleet, func(m *fleetMember) error {
		if err := m.dev.Enroll(ctx, env.Profile); err != nil {
			return err
		}
		if m.kind.bootstrap {
			return m.dev.SetBootstrapToken(ctx, []byte("token-"+m.dev.UDID()))
		}
		return nil
	})
	for _, m := range r.fleet {
		if m.kind.name == "it" {
			apiDo(t, env, http.MethodPut, "/v1/devices/"+m.dev.UDID()+"/groups/it", nil, nil)
		}
	}
	putPolicy(t, env, "rollout", rolloutPolicy)
	r.assignRings()
	return r
}

// assignRings works out every device's ring as the server does, and makes
// a quarter of the healthy pilot devices fail while downloading.
func (r *rolloutRun) assignRings() {
	var p enforcement.Policy
	if err := json.Unmarshal([]byte(rolloutPolicy), &p); err != nil {
		r.t.Fatal(err)
	}
	pilots, healthy := 0, 0
	for _, m := range r.fleet {
		f := enforcement.DeviceFacts{ID: m.dev.UDID()}
		if m.kind.name == "it" {
			f.Groups = []string{"it"}
		}
		name := p.Rings[rollout.RingIndex(&p, &f)].Name
		r.ring[f.ID] = name
		if name != "pilot" {
			continue
		}
		pilots++
		if m.kind.name == "mac" || m.kind.name == "phone" {
			if healthy%4 == 0 {
				m.agent.SetFailure(ddm.InstallStateDownloading, "Unable to verify the update")
				r.failing[f.ID] = true
			}
			healthy++
		}
	}
	if pilots < 20 || len(r.failing)*10 < pilots {
		r.t.Fatalf("pilot ring has %d devices, %d failing: the test needs at least 20 and over 10 %%", pilots, len(r.failing))
	}
	r.t.Logf("pilot ring: %d devices, %d set to fail", pilots, len(r.failing))
}

// pass runs one reconcile pass at t.
func (r *rolloutRun) pass(t time.Time) {
	r.t.Helper()
	r.clk.set(t)
	if _, err := r.env.Server.Reconciler().ReconcileAll(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// all: every ring checks in.
const all = ""

// step is a pass, the online devices of these rings checking in and
// moving their clock to t, and a second pass that sees what they reported.
func (r *rolloutRun) step(t time.Time, rings ...string) {
	r.t.Helper()
	r.pass(t)
	drain(r.t, r.env)
	ctx := context.Background()
	eachMember(r.t, r.fleet, func(m *fleetMember) error {
		if m.kind.offline || (!slices.Contains(rings, all) && !slices.Contains(rings, r.ring[m.dev.UDID()])) {
			return nil
		}
		if _, err := m.dev.Connect(ctx, 10); err != nil {
			return err
		}
		return m.agent.AdvanceTo(ctx, t)
	})
	r.pass(t)
}
