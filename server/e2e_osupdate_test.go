package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage"
)

// The legacy OS-update flow end to end: the admin API queues typed
// commands, simulated devices answer through signed HTTP, and the update
// state the server stores is read back through `device show`.

var (
	macMinor = sim.MacOSUpdate("13.6.5", "22G621", false, 1_200_000_000)
	macMajor = sim.MacOSUpdate("14.4.1", "23E224", true, 6_900_000_000)
	macXProt = sim.MacConfigData("052-96247", "XProtectPlistConfigData", "2192")
	macFirmw = sim.MacFirmware("061-07370", "Firmware Update", 30_000_000)
	iosMinor = sim.IOSUpdate("16.7.7", "20H330", 450_000_000, 2_100_000_000)
	iosMajor = sim.IOSUpdate("17.4.1", "21E236", 6_400_000_000, 8_000_000_000)
)

func macCatalog() []mdm.AvailableOSUpdate {
	return []mdm.AvailableOSUpdate{macMinor, macMajor, macXProt, macFirmw}
}

// manualClock moves only when the test says, so every stored time is
// exact. It starts at the next whole minute: the CA is dated by the real
// clock, so the simulated time must not run before it.
type manualClock struct {
	mu   sync.Mutex
	base time.Time
	t    time.Time
}

func newManualClock() *manualClock {
	base := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	return &manualClock{base: base, t: base}
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) tick() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Minute)
	return c.t
}

type osuRig struct {
	t   *testing.T
	env *testenv.Env
	clk *manualClock
	dev *sim.Device
	lg  *sim.Legacy
	at  time.Time // when the last command was answered
}

func newOSURig(t *testing.T, a sim.Attributes, cfg sim.LegacyConfig) *osuRig {
	t.Helper()
	clk := newManualClock()
	env := testenv.Start(t, func(c *server.Config) { c.Now = clk.now })
	r := &osuRig{t: t, env: env, clk: clk, dev: env.Enroll(t, a, 0)}
	r.lg = r.dev.EnableLegacyUpdates(cfg)
	r.send(mdm.RequestDeviceInformation, nil) // supervision and OS facts gate the update commands
	return r
}

// send queues a typed command, lets a minute pass and lets the device
// answer it; it returns the command UUID.
func (r *osuRig) send(kind string, params map[string]any) string {
	r.t.Helper()
	ctx := context.Background()
	q, err := r.env.API.Enqueue(ctx, api.EnqueueRequest{Devices: []string{r.dev.UDID()}, Type: kind, Params: params})
	if err != nil {
		r.t.Fatalf("enqueue %s: %v", kind, err)
	}
	r.at = r.clk.tick()
	if n, err := r.dev.Connect(ctx, 5); err != nil || n != 1 {
		r.t.Fatalf("connect after %s: handled %d, %v", kind, n, err)
	}
	return q.CommandUUID
}

func (r *osuRig) schedule(key, action string) string {
	return r.send(mdm.RequestScheduleOSUpdate, map[string]any{"updates": []any{map[string]any{"product_key": key, "install_action": action}}})
}

// poll sends OSUpdateStatus and returns the stored status list.
func (r *osuRig) poll() []mdm.OSUpdateStatusItem {
	r.t.Helper()
	r.send(mdm.RequestOSUpdateStatus, nil)
	return r.state().Status
}

// state is the update state as `device show` reports it.
func (r *osuRig) state() commands.UpdateState {
	r.t.Helper()
	d, err := r.env.API.Device(context.Background(), r.dev.UDID())
	if err != nil {
		r.t.Fatal(err)
	}
	var st commands.UpdateState
	raw, err := json.Marshal(d.Extra["os_updates"])
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return st
}

func (r *osuRig) facts() storage.Facts {
	r.t.Helper()
	d, err := r.env.API.Device(context.Background(), r.dev.UDID())
	if err != nil {
		r.t.Fatal(err)
	}
	return d.Facts
}

// result is the stored result row of a command.
func (r *osuRig) result(uuid string) (api.Result, error) {
	var res api.Result
	p := "/v1/devices/" + url.PathEscape(r.dev.UDID()) + "/results/" + url.PathEscape(uuid)
	return res, r.env.API.Do(context.Background(), http.MethodGet, p, nil, &res)
}

func (r *osuRig) wantResult(uuid, status string, chain []mdm.ErrorChainItem) {
	r.t.Helper()
	res, err := r.result(uuid)
	if err != nil {
		r.t.Fatal(err)
	}
	var want []storage.ErrorChain
	for _, e := range chain {
		want = append(want, storage.ErrorChain{Code: e.ErrorCode, Domain: e.ErrorDomain,
			LocalizedDescription: e.LocalizedDescription, USEnglishDescription: e.USEnglishDescription})
	}
	if res.Status != status || !reflect.DeepEqual(res.ErrorChain, want) {
		r.t.Errorf("result %s: status %s chain %+v; want %s %+v", res.RequestType, res.Status, res.ErrorChain, status, want)
	}
}

var jsonTime = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`)

// goldenState pins the whole stored state a scenario ends in; times are
// written as minutes after the clock's start so the file is stable.
func (r *osuRig) goldenState(name string) {
	r.t.Helper()
	js, err := json.MarshalIndent(r.state(), "", "  ")
	if err != nil {
		r.t.Fatal(err)
	}
	js = jsonTime.ReplaceAllFunc(js, func(b []byte) []byte {
		at, err := time.Parse(`"`+time.RFC3339+`"`, string(b))
		if err != nil {
			r.t.Fatal(err)
		}
		if at.IsZero() {
			return b
		}
		return []byte(fmt.Sprintf(`"start+%dm"`, int(at.Sub(r.clk.base)/time.Minute)))
	})
	golden.Assert(r.t, golden.Path(r.t, "sim/e2e/"+name+".json"), append(js, '\n'))
}

func point(at time.Time, source, status string, percent float64, downloaded bool, action string) commands.StatusPoint {
	return commands.StatusPoint{At: at, Source: source, Status: status, Percent: percent, Download: downloaded, Action: action}
}

func statusPoint(at time.Time, status string, percent float64, downloaded bool) commands.StatusPoint {
	return point(at, mdm.RequestOSUpdateStatus, status, percent, downloaded, "")
}

func assertJSONEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func TestOSUpdateHappyPathMac(t *testing.T) {
	r := newOSURig(t, testenv.Mac(1, "13.6.4", "22G513"), sim.LegacyConfig{Catalog: macCatalog()})
	key := macMinor.ProductKey
	scan := r.send(mdm.RequestScheduleOSUpdateScan, map[string]any{"force": true})
	scanAt := r.at
	avail := r.send(mdm.RequestAvailableOSUpdates, nil)
	st := r.state()
	if !st.LastScanAt.Equal(scanAt) || st.LastScanStatus != mdm.StatusAcknowledged || !st.AvailableAt.Equal(r.at) {
		t.Errorf("scan/available times: %+v", st)
	}
	assertJSONEqual(t, "available", st.Available, macCatalog())
	assertJSONEqual(t, "warnings", st.Warnings, []string{`item 3 (061-07370): Version " " is not an OS version`})

	sched := r.schedule(key, mdm.InstallActionInstallASAP)
	schedAt := r.at
	st = r.state()
	assertJSONEqual(t, "schedule results", st.ScheduleResults,
		[]mdm.UpdateResult{{ProductKey: key, InstallAction: mdm.InstallActionInstallASAP, Status: mdm.UpdateStatusDownloading}})
	want := []commands.StatusPoint{point(schedAt, mdm.RequestScheduleOSUpdate, mdm.UpdateStatusDownloading, 0, false, mdm.InstallActionInstallASAP)}
	for _, p := range []struct {
		status  string
		percent float64
	}{{"Downloading", 0.25}, {"Downloading", 0.5}, {"Downloading", 0.75}, {"Downloading", 1}, {"Installing", 1}} {
		items := r.poll()
		if len(items) != 1 || items[0].Status != p.status || items[0].DownloadPercentComplete.Float64() != p.percent {
			t.Fatalf("poll: %+v, want %s %.2f", items, p.status, p.percent)
		}
		want = append(want, statusPoint(r.at, p.status, p.percent, p.percent == 1))
	}
	if items := r.poll(); len(items) != 0 {
		t.Fatalf("after the restart the device still reports %+v", items)
	}
	st = r.state()
	assertJSONEqual(t, "history", st.History, map[string][]commands.StatusPoint{key: want})
	if st.LastError != nil {
		t.Errorf("last error %+v", st.LastError)
	}

	r.send(mdm.RequestDeviceInformation, nil)
	if f := r.facts(); f.OSVersion != "13.6.5" || f.BuildVersion != "22G621" || !f.DeviceInfoAt.Equal(r.at) {
		t.Errorf("facts after the update: %s (%s) at %s", f.OSVersion, f.BuildVersion, f.DeviceInfoAt)
	}
	r.send(mdm.RequestAvailableOSUpdates, nil)
	assertJSONEqual(t, "available after the update", r.state().Available, []mdm.AvailableOSUpdate{macMajor, macXProt, macFirmw})
	for _, uuid := range []string{scan, avail, sched} {
		r.wantResult(uuid, mdm.StatusAcknowledged, nil)
	}
	r.goldenState("happy-macos")
}

func TestOSUpdateHappyPathIPhone(t *testing.T) {
	r := newOSURig(t, testenv.IPhone(1, "16.7.5", "20H307"), sim.LegacyConfig{Catalog: []mdm.AvailableOSUpdate{iosMinor, iosMajor}, DownloadSteps: 2})
	r.send(mdm.RequestAvailableOSUpdates, nil)
	assertJSONEqual(t, "available", r.state().Available, []mdm.AvailableOSUpdate{iosMinor, iosMajor})
	r.send(mdm.RequestScheduleOSUpdate, map[string]any{"updates": []any{map[string]any{"product_version": "16.7.7", "install_action": "InstallASAP"}}})
	assertJSONEqual(t, "schedule results", r.state().ScheduleResults,
		[]mdm.UpdateResult{{ProductKey: iosMinor.ProductKey, InstallAction: mdm.InstallActionInstallASAP, Status: mdm.UpdateStatusDownloading}})
	var seen []string
	for range 6 {
		items := r.poll()
		if len(items) == 0 {
			break
		}
		seen = append(seen, items[0].Status)
	}
	if strings.Join(seen, ",") != "Downloading,Downloading,Installing" {
		t.Errorf("statuses %v", seen)
	}
	r.send(mdm.RequestDeviceInformation, nil)
	if f := r.facts(); f.OSVersion != "16.7.7" || f.BuildVersion != "20H330" || f.Platform != mdm.PlatformIOS {
		t.Errorf("facts after the update: %+v", f)
	}
	if got := len(r.state().History[iosMinor.ProductKey]); got != 4 {
		t.Errorf("history has %d points, want 4", got)
	}
	r.goldenState("happy-ios")
}

// TestOSUpdateValidationRefusals: commands a device cannot take are
// refused by the API with the reason, and nothing is queued.
func TestOSUpdateValidationRefusals(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	unsupervised := testenv.Mac(1, "14.6", "23G80")
	unsupervised.Supervised = false
	devices := []*sim.Device{
		env.Enroll(t, unsupervised, 0), env.Enroll(t, testenv.Mac(2, "27.0", "27A5209"), 1),
		env.Enroll(t, testenv.IPhone(3, "17.6", "21G80"), 2), env.Enroll(t, testenv.Mac(4, "14.6", "23G80"), 3),
	}
	for _, d := range devices {
		if _, err := env.API.Enqueue(ctx, apiEnqueue(d.UDID(), mdm.RequestDeviceInformation)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Connect(ctx, 5); err != nil {
			t.Fatal(err)
		}
	}
	item := func(fields ...any) map[string]any {
		m := map[string]any{"product_version": "15.1", "install_action": "InstallASAP"}
		for i := 0; i < len(fields); i += 2 {
			m[fields[i].(string)] = fields[i+1]
		}
		return map[string]any{"updates": []any{m}}
	}
	before := env.Snapshot(t)
	cases := []struct {
		name, device, kind string
		params             map[string]any
		all                bool
		reason             string
	}{
		{"unsupervised", devices[0].UDID(), mdm.RequestScheduleOSUpdate, item(), false, "requires a supervised device"},
		{"OS 27", devices[1].UDID(), mdm.RequestScheduleOSUpdate, item(), false, "removed in macOS 27"},
		{"OS 27 status", devices[1].UDID(), mdm.RequestOSUpdateStatus, nil, false, "removed in macOS 27"},
		{"NotifyOnly on iPhone", devices[2].UDID(), mdm.RequestScheduleOSUpdate, item("product_version", "17.6.1", "install_action", "NotifyOnly"), false, "NotifyOnly is not supported on iOS"},
		{"scan on iPhone", devices[2].UDID(), mdm.RequestScheduleOSUpdateScan, nil, false, "not supported on iOS"},
		{"deferrals without InstallLater", devices[3].UDID(), mdm.RequestScheduleOSUpdate, item("max_user_deferrals", 3), false, "MaxUserDeferrals is only allowed with InstallAction InstallLater"},
		{"already installed", devices[3].UDID(), mdm.RequestScheduleOSUpdate, item("product_version", "14.6"), false, "already runs 14.6"},
		{"all with one unsupervised", "", mdm.RequestOSUpdateStatus, nil, true, "device " + devices[0].UDID() + ": "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := api.EnqueueRequest{Type: tc.kind, Params: tc.params, All: tc.all}
			if tc.device != "" {
				req.Devices = []string{tc.device}
			}
			_, err := env.API.Enqueue(ctx, req)
			var se *api.StatusError
			if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(se.Message, tc.reason) {
				t.Errorf("want 400 with %q, got %v", tc.reason, err)
			}
		})
	}
	env.AssertUnchanged(t, before)
	// The supervised Mac on 14.6 takes the same command with InstallLater.
	if _, err := env.API.Enqueue(ctx, api.EnqueueRequest{Devices: []string{devices[3].UDID()}, Type: mdm.RequestScheduleOSUpdate,
		Params: item("install_action", "InstallLater", "max_user_deferrals", 3)}); err != nil {
		t.Errorf("valid command refused: %v", err)
	}
}
