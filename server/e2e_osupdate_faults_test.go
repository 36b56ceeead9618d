package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage"
)

// TestOSUpdateFailureModes: each failure mode a device shows ends in
// stored state that tells it apart from the others; where the condition
// can clear, the test clears it and the flow goes on.
func TestOSUpdateFailureModes(t *testing.T) {
	key := macMinor.ProductKey
	asap := mdm.InstallActionInstallASAP
	cases := []struct {
		name   string
		attrs  func(a *sim.Attributes)
		faults sim.LegacyFaults
		run    func(t *testing.T, r *osuRig)
	}{
		{name: "not-offered-yet", faults: sim.LegacyFaults{HiddenScans: map[string]int{key: 1}}, run: func(t *testing.T, r *osuRig) {
			r.send(mdm.RequestScheduleOSUpdateScan, nil)
			r.send(mdm.RequestAvailableOSUpdates, nil)
			assertJSONEqual(t, "first scan", r.state().Available, []mdm.AvailableOSUpdate{macMajor, macXProt, macFirmw})
			uuid := r.schedule(key, asap)
			chain := sim.UpdateNotAvailableChain(key)
			st := r.state()
			assertJSONEqual(t, "results", st.ScheduleResults, []mdm.UpdateResult{{ProductKey: key, InstallAction: mdm.InstallActionError, Status: mdm.UpdateStatusIdle, ErrorChain: chain}})
			assertJSONEqual(t, "last error", st.LastError, &commands.ErrorRecord{At: r.at, RequestType: mdm.RequestScheduleOSUpdate, Status: mdm.UpdateStatusIdle, ProductKey: key, ErrorChain: chain})
			assertJSONEqual(t, "history", st.History, map[string][]commands.StatusPoint{key: {point(r.at, mdm.RequestScheduleOSUpdate, "Idle", 0, false, "Error")}})
			r.wantResult(uuid, mdm.StatusAcknowledged, nil) // the command worked; the update result failed
			r.send(mdm.RequestScheduleOSUpdateScan, map[string]any{"force": true})
			r.send(mdm.RequestAvailableOSUpdates, nil)
			assertJSONEqual(t, "second scan", r.state().Available, macCatalog())
		}},
		{name: "status-error-no-detail", run: func(t *testing.T, r *osuRig) {
			r.schedule(key, asap)
			r.lg.SetFaults(sim.LegacyFaults{StatusErrorNoDetail: true})
			uuid := r.send(mdm.RequestOSUpdateStatus, nil)
			st := r.state()
			assertJSONEqual(t, "last error", st.LastError, &commands.ErrorRecord{At: r.at, RequestType: mdm.RequestOSUpdateStatus, Status: mdm.StatusError})
			if st.Status != nil || !st.StatusAt.IsZero() || len(st.History[key]) != 1 {
				t.Errorf("an error answer must not look like a status: %+v", st)
			}
			r.wantResult(uuid, mdm.StatusError, nil)
			r.lg.SetFaults(sim.LegacyFaults{})
			if items := r.poll(); len(items) != 1 || items[0].DownloadPercentComplete != 0.25 {
				t.Errorf("after the error cleared: %+v", items)
			}
		}},
		{name: "download-stuck", faults: sim.LegacyFaults{DownloadStuck: true}, run: func(t *testing.T, r *osuRig) {
			r.schedule(key, asap)
			want := []commands.StatusPoint{point(r.at, mdm.RequestScheduleOSUpdate, "Downloading", 0, false, asap)}
			for range 3 {
				r.poll()
				want = append(want, statusPoint(r.at, "Downloading", 0, false))
			}
			st := r.state()
			assertJSONEqual(t, "history", st.History[key], want)
			assertJSONEqual(t, "status", st.Status, []mdm.OSUpdateStatusItem{{ProductKey: key, Status: "Downloading"}})
			if st.LastError != nil {
				t.Errorf("a stuck download is not an error: %+v", st.LastError)
			}
		}},
		{name: "idle-after-install-request", faults: sim.LegacyFaults{IdleAfterInstall: true}, run: func(t *testing.T, r *osuRig) {
			r.schedule(key, asap)
			want := []commands.StatusPoint{point(r.at, mdm.RequestScheduleOSUpdate, "Idle", 0, false, asap)}
			for range 3 {
				r.poll()
				want = append(want, statusPoint(r.at, "Idle", 0, false))
			}
			st := r.state()
			assertJSONEqual(t, "results", st.ScheduleResults, []mdm.UpdateResult{{ProductKey: key, InstallAction: asap, Status: "Idle"}})
			assertJSONEqual(t, "history", st.History[key], want)
			if st.Status[0].Meaning().Class != mdm.UpdateIdle || st.LastError != nil {
				t.Errorf("idle: %+v %+v", st.Status, st.LastError)
			}
		}},
		{name: "download-insufficient-space", attrs: func(a *sim.Attributes) { a.FreeGB = 1 }, run: func(t *testing.T, r *osuRig) {
			r.schedule(key, asap)
			items := r.poll()
			assertJSONEqual(t, "status", items, []mdm.OSUpdateStatusItem{{ProductKey: key, Status: mdm.UpdateStatusDownloadInsufficientSpace}})
			if m := items[0].Meaning(); m.Class != mdm.UpdateBlocked || m.Reason != mdm.ReasonInsufficientSpace {
				t.Errorf("meaning %+v", m)
			}
			if f := r.facts(); f.AvailableCapacityGB == nil || *f.AvailableCapacityGB != 1 {
				t.Errorf("facts show free space %v", f.AvailableCapacityGB)
			}
			r.dev.Update(func(a *sim.Attributes) { a.FreeGB = 80 })
			if items := r.poll(); items[0].Status != mdm.UpdateStatusDownloading {
				t.Errorf("after freeing space: %+v", items)
			}
		}},
		{name: "install-insufficient-power", attrs: func(a *sim.Attributes) { a.BatteryLevel, a.OnPower = 0.3, false }, run: func(t *testing.T, r *osuRig) {
			r.schedule(key, asap)
			var items []mdm.OSUpdateStatusItem
			for range 5 {
				items = r.poll()
			}
			assertJSONEqual(t, "status", items, []mdm.OSUpdateStatusItem{{ProductKey: key, IsDownloaded: true, DownloadPercentComplete: 1, Status: mdm.UpdateStatusInstallInsufficientPower}})
			if m := items[0].Meaning(); m.Class != mdm.UpdateWaiting || m.Reason != mdm.ReasonInsufficientPower || r.state().LastError != nil {
				t.Errorf("meaning %+v", m)
			}
			r.dev.Update(func(a *sim.Attributes) { a.OnPower = true })
			if items := r.poll(); items[0].Status != mdm.UpdateStatusInstalling {
				t.Errorf("after plugging in: %+v", items)
			}
			r.poll()
			r.send(mdm.RequestDeviceInformation, nil)
			if f := r.facts(); f.OSVersion != "13.6.5" {
				t.Errorf("after plugging in the device runs %s", f.OSVersion)
			}
		}},
		{name: "install-action-unsupported", faults: sim.LegacyFaults{ActionUnsupported: []string{key}}, run: func(t *testing.T, r *osuRig) {
			r.schedule(key, asap)
			chain := sim.ActionUnsupportedChain(key, asap)
			st := r.state()
			assertJSONEqual(t, "results", st.ScheduleResults, []mdm.UpdateResult{{ProductKey: key, InstallAction: mdm.InstallActionError, Status: mdm.UpdateStatusIdle, ErrorChain: chain}})
			assertJSONEqual(t, "last error", st.LastError, &commands.ErrorRecord{At: r.at, RequestType: mdm.RequestScheduleOSUpdate, Status: mdm.UpdateStatusIdle, ProductKey: key, ErrorChain: chain})
			if st.ScheduleResults[0].Failure() != mdm.ReasonScheduleError {
				t.Errorf("meaning %+v", st.ScheduleResults[0].Meaning())
			}
		}},
		{name: "schedule-error", faults: sim.LegacyFaults{ScheduleError: true}, run: func(t *testing.T, r *osuRig) {
			uuid := r.schedule(key, asap)
			st := r.state()
			assertJSONEqual(t, "last error", st.LastError, &commands.ErrorRecord{At: r.at, RequestType: mdm.RequestScheduleOSUpdate, Status: mdm.StatusError, ErrorChain: sim.ScheduleErrorChain()})
			if st.ScheduleResults != nil || !st.ScheduledAt.IsZero() || st.History != nil {
				t.Errorf("a failed command leaves no results: %+v", st)
			}
			r.wantResult(uuid, mdm.StatusError, sim.ScheduleErrorChain())
		}},
		{name: "personalization-failure", faults: sim.LegacyFaults{PersonalizationFailure: true}, run: func(t *testing.T, r *osuRig) {
			r.schedule(key, asap)
			var items []mdm.OSUpdateStatusItem
			for range 5 {
				items = r.poll()
			}
			assertJSONEqual(t, "status", items, []mdm.OSUpdateStatusItem{{ProductKey: key, IsDownloaded: true, DownloadPercentComplete: 1, Status: mdm.UpdateStatusInstallFailed}})
			failedAt := r.at
			r.schedule(key, asap) // the retry reports why
			chain := sim.PersonalizationErrorChain()
			st := r.state()
			assertJSONEqual(t, "last error", st.LastError, &commands.ErrorRecord{At: r.at, RequestType: mdm.RequestScheduleOSUpdate, Status: mdm.UpdateStatusInstallFailed, ProductKey: key, ErrorChain: chain})
			h := st.History[key]
			assertJSONEqual(t, "last points", h[len(h)-2:], []commands.StatusPoint{
				statusPoint(failedAt, "InstallFailed", 1, true), point(r.at, mdm.RequestScheduleOSUpdate, "InstallFailed", 0, false, "Error")})
			if m := st.ScheduleResults[0].Meaning(); m.Class != mdm.UpdateFailed || m.Reason != mdm.ReasonInstallFailed {
				t.Errorf("meaning %+v", m)
			}
		}},
		{name: "notnow-while-locked", run: func(t *testing.T, r *osuRig) {
			r.send(mdm.RequestAvailableOSUpdates, nil)
			before := r.state()
			r.dev.SetNotNow("*", true)
			uuid := r.schedule(key, asap)
			assertJSONEqual(t, "state unchanged", r.state(), before)
			var se *api.StatusError
			if _, err := r.result(uuid); !errors.As(err, &se) || se.Status != http.StatusNotFound {
				t.Errorf("NotNow stored a result: %v", err)
			}
			var q []storage.QueueEntry
			if err := r.env.API.Do(context.Background(), http.MethodGet, "/v1/devices/"+r.dev.UDID()+"/queue", nil, &q); err != nil ||
				len(q) != 1 || q[0].UUID != uuid || q[0].NotNowCount != 1 {
				t.Errorf("queue after NotNow: %+v %v", q, err)
			}
			r.dev.SetNotNow("*", false)
			r.at = r.clk.tick()
			if n, err := r.dev.Connect(context.Background(), 5); err != nil || n != 1 {
				t.Fatalf("unlocked device: %d %v", n, err)
			}
			r.wantResult(uuid, mdm.StatusAcknowledged, nil)
			if st := r.state(); !st.ScheduledAt.Equal(r.at) {
				t.Errorf("delivered after unlock: %+v", st)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := testenv.Mac(1, "13.6.4", "22G513")
			if tc.attrs != nil {
				tc.attrs(&a)
			}
			r := newOSURig(t, a, sim.LegacyConfig{Catalog: macCatalog(), Faults: tc.faults})
			tc.run(t, r)
			r.goldenState(tc.name)
		})
	}
}
