package legacy

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// fixture drives passes without storage: the clock, the stored update
// state and the queue are plain values the test changes between passes.
type fixture struct {
	t      *testing.T
	cfg    Config
	now    time.Time
	in     reconcile.LegacyInput
	eval   enforcement.Evaluation
	us     *commands.UpdateState
	rec    *Record
	queue  []storage.QueueEntry
	sent   []string // request types, in order, over every pass
	uuids  int
	offer  mdm.AvailableOSUpdate
	target string
}

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, platform string, deadline time.Duration) *fixture {
	f := &fixture{t: t, cfg: Config{}.withDefaults(), now: t0, us: &commands.UpdateState{}, target: "13.7.8"}
	f.rec, _ = DecodeRecord(nil)
	osv, build := "13.7.7", "22H722"
	f.offer = mdm.AvailableOSUpdate{ProductKey: "MSU_13.7.8", Version: "13.7.8", Build: "22H730", DownloadSize: 1.2e9, AllowsInstallLater: true}
	if platform != mdm.PlatformMacOS {
		osv, build, f.target = "16.7.15", "20H380", "16.7.16"
		f.offer = mdm.AvailableOSUpdate{ProductKey: "iOSUpdate20H392", Version: "16.7.16", Build: "20H392", DownloadSize: 4.5e8}
	}
	supervised := true
	dev := &storage.Device{ID: "dev1", Enrolled: true, EnrolledAt: t0.Add(-time.Hour), LastSeen: t0,
		Facts: storage.Facts{Platform: platform, OSVersion: osv, BuildVersion: build, Supervised: &supervised}}
	wallDeadline := t0.Add(deadline).Format(enforcement.LocalDateTimeLayout)
	target := enforcement.ResolvedTarget{OSVersion: f.target, LocalDeadline: wallDeadline}
	f.in = reconcile.LegacyInput{Device: dev,
		Facts:  enforcement.DeviceFacts{ID: "dev1", Platform: platform, OSVersion: osv, BuildVersion: build, LastSeen: t0, InfoUpdatedAt: t0, Supervised: true},
		Policy: enforcement.Policy{ID: "p1"},
		Plan:   enforcement.DevicePlan{DeviceID: "dev1", PolicyID: "p1", InScope: true, Path: enforcement.PathLegacy, Action: enforcement.ActionDeliver, Target: target}}
	f.eval = enforcement.Evaluation{Compliance: enforcement.Required, Target: target, DeadlinePassed: deadline < -12*time.Hour}
	return f
}

// pass runs one pass at the fixture's time and "sends" what it wants,
// skipping queued types as the driver does. The queue keeps what was sent
// until answer() removes it.
func (f *fixture) pass() *pass {
	f.t.Helper()
	f.in.Now, f.in.Facts.LastSeen, f.in.Device.LastSeen = f.now, f.now, f.now
	p := newPass(f.cfg, f.in, f.eval, f.us, f.rec, f.queue)
	p.run()
	for _, w := range p.wants {
		if p.isQueued(w.kind) {
			continue
		}
		f.uuids++
		uuid := fmt.Sprintf("uuid-%d", f.uuids)
		e := storage.QueueEntry{UUID: uuid, RequestType: w.kind, QueuedAt: f.now}
		p.queued[w.kind] = e
		f.queue = append(f.queue, e)
		p.rec.Requested[w.kind] = f.now
		f.sent = append(f.sent, w.kind+paramsLabel(w.params))
		if w.sent != nil {
			w.sent(uuid)
		}
	}
	p.conclude()
	return p
}

func paramsLabel(params map[string]any) string {
	ups, ok := params["updates"].([]any)
	if !ok {
		return ""
	}
	item := ups[0].(map[string]any)
	label := ":" + item["install_action"].(string)
	if d, ok := item["max_user_deferrals"]; ok {
		label += fmt.Sprintf("/%d", d)
	}
	return label
}

// answer removes a type from the queue and lets the clock move.
func (f *fixture) answer(kind string, at time.Time) {
	for i, e := range f.queue {
		if e.RequestType == kind {
			f.queue = append(f.queue[:i:i], f.queue[i+1:]...)
			return
		}
	}
	f.t.Fatalf("%s was not queued", kind)
}

func (f *fixture) scanned(items ...mdm.AvailableOSUpdate) {
	f.now = f.now.Add(time.Minute)
	for _, k := range []string{mdm.RequestScheduleOSUpdateScan, mdm.RequestAvailableOSUpdates} {
		for _, e := range f.queue {
			if e.RequestType == k {
				f.answer(k, f.now)
				break
			}
		}
	}
	f.us.AvailableAt, f.us.Available = f.now, items
}

func (f *fixture) scheduled(res mdm.UpdateResult) {
	f.now = f.now.Add(time.Minute)
	f.answer(mdm.RequestScheduleOSUpdate, f.now)
	f.us.ScheduledAt, f.us.ScheduleResults = f.now, []mdm.UpdateResult{res}
	if res.InstallAction == mdm.InstallActionError {
		f.us.LastError = &commands.ErrorRecord{At: f.now, RequestType: mdm.RequestScheduleOSUpdate, Status: res.Status, ErrorChain: res.ErrorChain}
	}
}

func (f *fixture) status(after time.Duration, items ...mdm.OSUpdateStatusItem) {
	f.now = f.now.Add(after)
	f.answer(mdm.RequestOSUpdateStatus, f.now)
	f.us.StatusAt, f.us.Status = f.now, items
}

func (f *fixture) lastSent() string {
	if len(f.sent) == 0 {
		return ""
	}
	return f.sent[len(f.sent)-1]
}

func replaceComma(s string) string {
	out := ""
	for _, p := range splitComma(s) {
		if out != "" {
			out += " "
		}
		out += p
	}
	return out
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// started brings the fixture to an accepted install request.
func (f *fixture) started(action string) {
	f.t.Helper()
	f.pass()
	f.scanned(f.offer)
	f.pass()
	f.scheduled(mdm.UpdateResult{ProductKey: f.offer.ProductKey, InstallAction: action, Status: mdm.UpdateStatusIdle})
	if p := f.pass(); p.t.Phase != PhaseInstalling && p.t.Phase != PhaseDownloading {
		f.t.Fatalf("phase %s after %s", p.t.Phase, action)
	}
}
