package server_test

import (
	"context"
	"net/http"
	"slices"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
	"github.com/tidemark-mdm/tidemark/storage"
)

// What TestRingedRolloutPausesAndResumes checks, read through the admin
// API and the stored records.

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
	if f.InScope != len(r.fleet) || f.Deadline != "2026-11-25T17:00:00" || f.LatestDeadline != "2026-11-29T17:00:00" ||
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
