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
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage"
)

// The rollout: ring "it" (a group) by Wednesday 25 November 17:00, 40 %
// of the rest three days later, everyone else seven days later.
const rolloutPolicy = `{"id":"rollout","name":"Staged to the latest release","scope":{"all":true},"target":{"kind":"latest"},
 "deadline":{"local_date_time":"2026-11-25T17:00:00"},
 "rings":[{"name":"it","groups":["it"]},{"name":"pilot","percent":40,"deadline_offset_days":3},{"name":"broad","deadline_offset_days":7}]}`

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
	t0 := time.Now()
	r := newRolloutRun(t)
	t.Logf("setup %s", time.Since(t0))
	defer func() { t.Logf("total %s", time.Since(t0)) }()
	r.step(at(24, 18), all) // ring "it" gets the update and downloads
	r.checkRings("it")
	r.checkHeld(true)
	r.checkForecast()

	// Only devices of started rings check in from here on: the others
	// have nothing to do, and the test stays fast.
	r.step(at(25, 18), "it") // "it" installed at its deadline: the pilot starts
	r.checkInstalled("it")
	r.checkRings("it", "pilot")

	r.step(at(27, 18), "it", "pilot") // the pilot downloads; a quarter of it fails
	r.checkAutoPaused()
	r.checkInstalled("it")

	r.pass(at(29, 6)) // the pilot's deadline has passed everywhere, but the policy is paused
	r.checkRings("it", "pilot")
	r.checkHeld(false)

	r.resume()
	r.step(at(29, 7), "it", "pilot")
	r.checkRings("it", "pilot", "broad")
	r.step(time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC), all)
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
	t0 := time.Now()
	defer func() { r.t.Logf("step %s: %s", t, time.Since(t0)) }()
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

func (r *rolloutRun) status() reconcile.PolicyStatus {
	r.t.Helper()
	var st []reconcile.PolicyStatus
	apiDo(r.t, r.env, http.MethodGet, "/v1/status?policy=rollout", nil, &st)
	if len(st) != 1 || len(st[0].Rings) != 3 {
		r.t.Fatalf("status: %+v", st)
	}
	return st[0]
}

// checkRings: exactly these rings have started.
func (r *rolloutRun) checkRings(started ...string) {
	r.t.Helper()
	for _, ring := range r.status().Rings {
		if want := slices.Contains(started, ring.Name); ring.Started != want {
			r.t.Errorf("ring %s started %v, want %v (%d/%d installed, %d failing)", ring.Name, ring.Started, want,
				ring.Installed, ring.Targeted, ring.Failing)
		}
	}
}

// checkHeld: devices of rings not started have nothing delivered and,
// while the policy runs, say why.
func (r *rolloutRun) checkHeld(running bool) {
	r.t.Helper()
	started := map[string]bool{}
	for _, ring := range r.status().Rings {
		started[ring.Name] = ring.Started
	}
	checked := 0
	for _, m := range r.fleet {
		id := m.dev.UDID()
		if started[r.ring[id]] || m.kind.name != "mac" || checked >= 5 {
			continue
		}
		checked++
		pr := r.record(id)
		if pr.Delivered != nil || pr.Ring != r.ring[id] ||
			(running && (pr.Reason.Code != enforcement.CodeWaitingForRing || pr.Reason.Details["ring"] != r.ring[id])) {
			r.t.Errorf("%s in ring %s (recorded %s): delivered %v, reason %s (%s)", id, r.ring[id], pr.Ring, pr.Delivered,
				pr.Reason.Code, pr.Reason.Message)
		}
	}
}

// record is the device's standing as the last pass stored it.
func (r *rolloutRun) record(id string) *reconcile.PolicyRecord {
	r.t.Helper()
	raw, err := r.env.Server.Store().Blob(context.Background(), reconcile.StateCollection, id)
	if err != nil {
		r.t.Fatalf("%s: %v", id, err)
	}
	rec, err := reconcile.DecodeRecord(raw)
	if err != nil || rec.Policies["rollout"] == nil {
		r.t.Fatalf("%s: %v %+v", id, err, rec)
	}
	return rec.Policies["rollout"]
}

// checkInstalled: every device of these kinds that was not set to fail
// runs the target.
func (r *rolloutRun) checkInstalled(kinds ...string) {
	r.t.Helper()
	for _, m := range r.fleet {
		if !slices.Contains(kinds, m.kind.name) || r.failing[m.dev.UDID()] {
			continue
		}
		if p := r.record(m.dev.UDID()); p.State.Compliance != enforcement.Installed {
			r.t.Errorf("%s (%s, ring %s): %s/%s %s", m.dev.UDID(), m.kind.name, r.ring[m.dev.UDID()],
				p.State.Compliance, p.State.Step, p.Reason.Code)
		}
	}
}

func (r *rolloutRun) checkForecast() {
	r.t.Helper()
	var f rollout.Forecast
	apiDo(r.t, r.env, http.MethodGet, "/v1/policies/rollout/forecast", nil, &f)
	got := map[string][]enforcement.Code{}
	for _, d := range f.AtRisk {
		for _, risk := range d.Risks {
			got[d.DeviceID] = append(got[d.DeviceID], risk.Code)
		}
	}
	for id, code := range r.risk {
		if !slices.Contains(got[id], code) {
			r.t.Errorf("forecast: %s should be at risk of %s, got %v", id, code, got[id])
		}
	}
	for id, codes := range got {
		if r.risk[id] == "" {
			r.t.Errorf("forecast: %s is at risk (%v) but should not be", id, codes)
		}
	}
	if f.InScope != len(r.fleet) || f.Deadline != "2026-11-25T17:00:00" || f.LatestDeadline != "2026-12-02T17:00:00" ||
		f.EstimatedCompliantPercent < 80 || f.EstimatedCompliantPercent > 100 {
		r.t.Errorf("forecast: in scope %d, deadlines %s..%s, estimate %.1f %%", f.InScope, f.Deadline, f.LatestDeadline, f.EstimatedCompliantPercent)
	}
}

func (r *rolloutRun) checkAutoPaused() {
	r.t.Helper()
	var p enforcement.Policy
	apiDo(r.t, r.env, http.MethodGet, "/v1/policies/rollout", nil, &p)
	if !p.Paused {
		r.t.Fatalf("the policy did not pause itself: rings %+v", r.status().Rings)
	}
	st := r.status()
	if st.AutoPause == nil || st.AutoPause.Ring != "pilot" || st.AutoPause.Failed < 2 {
		r.t.Errorf("auto-pause record %+v", st.AutoPause)
	}
	if st.Rings[2].Started {
		r.t.Error("the broad ring started although the policy paused itself")
	}
	ev := r.lastEvent(rollout.EventKind)
	if ev.Data["ring"] != "pilot" || ev.Data["policy_id"] != "rollout" || ev.Data["threshold_percent"] != "10" {
		r.t.Errorf("pause event %+v", ev)
	}
	if r.lastEvent("policy_paused").Data["actor"] != rollout.PauseActor {
		r.t.Error("the pause was not recorded as the policy service's change by auto-pause")
	}
}

func (r *rolloutRun) resume() {
	r.t.Helper()
	apiDo(r.t, r.env, http.MethodPost, "/v1/policies/rollout/resume", nil, nil)
}

func (r *rolloutRun) serverEvents() []storage.Event {
	r.t.Helper()
	var ev []storage.Event
	apiDo(r.t, r.env, http.MethodGet, "/v1/events?limit=1000", nil, &ev)
	return ev
}

func (r *rolloutRun) events(kind string) int {
	n := 0
	for _, e := range r.serverEvents() {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func (r *rolloutRun) lastEvent(kind string) storage.Event {
	r.t.Helper()
	for _, e := range r.serverEvents() {
		if e.Kind == kind {
			return e
		}
	}
	r.t.Fatalf("no %s event", kind)
	return storage.Event{}
}

