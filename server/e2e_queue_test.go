package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage"
)

func enrollFleet(t *testing.T, env *testenv.Env, n int) []*sim.Device {
	t.Helper()
	out := make([]*sim.Device, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		a := testenv.Mac(i+1, "15.7.1", "24G231")
		if i%2 == 1 {
			a = testenv.IPhone(i+1, "18.6", "22G86")
		}
		out[i] = env.NewDevice(t, a, i)
		wg.Add(1)
		go func(d *sim.Device) {
			defer wg.Done()
			if err := d.Enroll(context.Background(), env.Profile); err != nil {
				errs <- err
			}
		}(out[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

func connectAll(t *testing.T, fleet []*sim.Device) {
	t.Helper()
	var wg sync.WaitGroup
	for _, d := range fleet {
		wg.Add(1)
		go func(d *sim.Device) {
			defer wg.Done()
			if _, err := d.Connect(context.Background(), 20); err != nil {
				t.Errorf("%s: %v", d.UDID(), err)
			}
		}(d)
	}
	wg.Wait()
}

// TestFanOutDeviceInformation: one API call queues to 50 devices; every
// device drains it, facts land, and an unknown command ends in 50 Error
// results that are never delivered again.
func TestFanOutDeviceInformation(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	fleet := enrollFleet(t, env, 50)
	for i, d := range fleet {
		d.Update(func(a *sim.Attributes) {
			a.BatteryLevel = 0.42
			a.OSVersion = map[bool]string{true: "15.7.2", false: "18.7"}[i%2 == 0]
		})
	}
	resp, err := env.API.Enqueue(ctx, api.EnqueueRequest{All: true, Type: "DeviceInformation"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Devices) != 50 {
		t.Fatalf("queued to %d devices", len(resp.Devices))
	}
	connectAll(t, fleet)
	for i, d := range fleet {
		res, err := env.Server.Store().Result(ctx, d.UDID(), resp.CommandUUID)
		if err != nil || res.Status != "Acknowledged" {
			t.Fatalf("%s: result %v %v", d.UDID(), res, err)
		}
		dev, err := env.API.Device(ctx, d.UDID())
		if err != nil {
			t.Fatal(err)
		}
		wantOS := map[bool]string{true: "15.7.2", false: "18.7"}[i%2 == 0]
		if dev.Facts.OSVersion != wantOS || dev.Facts.BatteryLevel == nil || *dev.Facts.BatteryLevel != 0.42 ||
			dev.Facts.Supervised == nil || !*dev.Facts.Supervised || dev.Facts.DeviceInfoAt.IsZero() {
			t.Errorf("%s facts not updated: %+v", d.UDID(), dev.Facts)
		}
	}

	raw := rawCommand("FANOUT-UNKNOWN-1", "FrobnicateDevice")
	if _, err := env.API.Enqueue(ctx, api.EnqueueRequest{All: true, Raw: raw}); err != nil {
		t.Fatal(err)
	}
	connectAll(t, fleet)
	connectAll(t, fleet) // a second session must not see it again
	for _, d := range fleet {
		res, err := env.Server.Store().Result(ctx, d.UDID(), "FANOUT-UNKNOWN-1")
		if err != nil || res.Status != "Error" || len(res.ErrorChain) != 1 || res.ErrorChain[0].Code != 12021 {
			t.Fatalf("%s: %+v %v", d.UDID(), res, err)
		}
		n := 0
		for _, r := range d.Received() {
			if r.UUID == "FANOUT-UNKNOWN-1" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s received the unknown command %d times", d.UDID(), n)
		}
	}
}

func rawCommand(uuid, requestType string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key><string>` + requestType +
		`</string></dict><key>CommandUUID</key><string>` + uuid + `</string></dict></plist>`
}

func TestDuplicateCommandUUIDRefused(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	d := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	first := rawCommand("DUP-1", "SecurityInfo")
	if _, err := env.API.Enqueue(ctx, api.EnqueueRequest{Devices: []string{d.UDID()}, Raw: first}); err != nil {
		t.Fatal(err)
	}
	_, err := env.API.Enqueue(ctx, api.EnqueueRequest{Devices: []string{d.UDID()}, Raw: rawCommand("DUP-1", "DeviceInformation")})
	var se *api.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusConflict {
		t.Fatalf("want 409, got %v", err)
	}
	cmd, err := env.Server.Store().Command(ctx, "DUP-1")
	if err != nil || string(cmd.Raw) != first || cmd.RequestType != "SecurityInfo" {
		t.Fatalf("stored command changed: %+v %v", cmd, err)
	}
}

// report builds a command report body.
func report(udid, uuid, status, requestType string) []byte {
	rt := ""
	if requestType != "-" {
		rt = `<key>RequestType</key><string>` + requestType + `</string>`
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
<key>CommandUUID</key><string>` + uuid + `</string>` + rt + `<key>Status</key><string>` + status +
		`</string><key>UDID</key><string>` + udid + `</string></dict></plist>`)
}

func TestQueueSemanticsOverHTTP(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	a := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	b := env.Enroll(t, testenv.Mac(2, "15.7.1", "24G231"), 1)
	for _, u := range []string{"Q-1", "Q-2"} {
		if _, err := env.API.Enqueue(ctx, api.EnqueueRequest{Devices: []string{a.UDID()}, Raw: rawCommand(u, "SecurityInfo")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.API.Enqueue(ctx, api.EnqueueRequest{Devices: []string{b.UDID()}, Raw: rawCommand("B-1", "SecurityInfo")}); err != nil {
		t.Fatal(err)
	}
	send := func(body []byte) *sim.Response {
		t.Helper()
		r, err := a.Report(ctx, body, sim.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	next := func(r *sim.Response) string {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if len(r.Body) == 0 {
			return ""
		}
		for _, u := range []string{"Q-1", "Q-2", "B-1"} {
			if strings.Contains(string(r.Body), ">"+u+"<") {
				return u
			}
		}
		t.Fatalf("unexpected command %s", r.Body)
		return ""
	}
	if got := next(send(idleReport(a.UDID()))); got != "Q-1" {
		t.Fatalf("FIFO: first is %q", got)
	}
	// NotNow: skipped for the rest of the session.
	if got := next(send(report(a.UDID(), "Q-1", "NotNow", "SecurityInfo"))); got != "Q-2" {
		t.Fatalf("after NotNow: %q", got)
	}
	if got := next(send(report(a.UDID(), "Q-2", "NotNow", "-"))); got != "" {
		t.Fatalf("after second NotNow the session must end empty, got %q", got)
	}
	// A new session (Idle) makes them eligible again.
	if got := next(send(idleReport(a.UDID()))); got != "Q-1" {
		t.Fatalf("new session: %q", got)
	}
	// A validly signed but unparseable report: 400, command stays queued.
	if r := send([]byte("<plist><dict><key>Status</key></plist>")); r.Status != http.StatusBadRequest {
		t.Fatalf("unparseable report: %d", r.Status)
	}
	// A report for another device's command: answered with our next command; B's queue untouched.
	if got := next(send(report(a.UDID(), "B-1", "Acknowledged", "SecurityInfo"))); got != "Q-1" {
		t.Fatalf("foreign UUID answered with %q", got)
	}
	if q, _ := env.Server.Store().Queue(ctx, b.UDID()); len(q) != 1 {
		t.Fatalf("B's queue changed: %+v", q)
	}
	// A report with empty RequestType is matched by CommandUUID.
	if got := next(send(report(a.UDID(), "Q-1", "Acknowledged", "-"))); got != "Q-2" {
		t.Fatalf("after ack: %q", got)
	}
	res, err := env.Server.Store().Result(ctx, a.UDID(), "Q-1")
	if err != nil || res.RequestType != "SecurityInfo" {
		t.Fatalf("result of empty RequestType: %+v %v", res, err)
	}
	// Errors are final and keep the ErrorChain; repeats are stored once.
	errBody := strings.Replace(string(report(a.UDID(), "Q-2", "Error", "SecurityInfo")), "</dict></plist>",
		`<key>ErrorChain</key><array><dict><key>ErrorCode</key><integer>12345</integer><key>ErrorDomain</key><string>MCMDMErrorDomain</string><key>LocalizedDescription</key><string>Nope</string><key>USEnglishDescription</key><string>Nope</string></dict></array></dict></plist>`, 1)
	if got := next(send([]byte(errBody))); got != "" {
		t.Fatalf("after the last result: %q", got)
	}
	if got := next(send(report(a.UDID(), "Q-2", "Acknowledged", "SecurityInfo"))); got != "" {
		t.Fatalf("repeated result: %q", got)
	}
	res, err = env.Server.Store().Result(ctx, a.UDID(), "Q-2")
	if err != nil || res.Status != "Error" || len(res.ErrorChain) != 1 || res.ErrorChain[0].USEnglishDescription != "Nope" {
		t.Fatalf("first final status must win: %+v %v", res, err)
	}
	results, _ := env.Server.Store().Results(ctx, a.UDID(), 0)
	if len(results) != 2 {
		t.Errorf("want 2 stored results, got %d", len(results))
	}
}

func TestCancelAndHistoryThroughAPI(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	d := env.Enroll(t, testenv.IPhone(1, "18.6", "22G86"), 0)
	if _, err := env.API.Enqueue(ctx, api.EnqueueRequest{Devices: []string{d.UDID()}, Raw: rawCommand("C-1", "SecurityInfo")}); err != nil {
		t.Fatal(err)
	}
	if err := env.API.Do(ctx, http.MethodDelete, "/v1/devices/"+d.UDID()+"/queue/C-1", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Connect(ctx, 5); err != nil || n != 0 {
		t.Fatalf("cancelled command delivered: %d %v", n, err)
	}
	err := env.API.Do(ctx, http.MethodDelete, "/v1/devices/"+d.UDID()+"/queue/C-1", nil, nil)
	var se *api.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Fatalf("second cancel: %v", err)
	}
	var ev []storage.Event
	if err := env.API.Do(ctx, http.MethodGet, "/v1/devices/"+d.UDID()+"/events", nil, &ev); err != nil || len(ev) == 0 || ev[0].Kind != "command_cancelled" {
		t.Fatalf("events: %+v %v", ev, err)
	}
	if _, err := env.API.Enqueue(ctx, api.EnqueueRequest{Devices: []string{d.UDID()}, Type: "DeviceInformation"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Connect(ctx, 5); err != nil {
		t.Fatal(err)
	}
	var results []api.Result
	if err := env.API.Do(ctx, http.MethodGet, "/v1/devices/"+d.UDID()+"/results", nil, &results); err != nil || len(results) != 1 {
		t.Fatalf("results: %v %v", results, err)
	}
	var one api.Result
	if err := env.API.Do(ctx, http.MethodGet, "/v1/devices/"+d.UDID()+"/results/"+results[0].UUID, nil, &one); err != nil {
		t.Fatal(err)
	}
	if one.Decoded == nil || !strings.Contains(one.RawPlist, "QueryResponses") {
		t.Errorf("result view lacks raw or decoded form: %+v", one)
	}
}

func TestAdminAPIRefusals(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	d := env.Enroll(t, testenv.IPhone(1, "18.6", "22G86"), 0)
	cases := []struct {
		name string
		req  api.EnqueueRequest
		want int
	}{
		{"no target", api.EnqueueRequest{Type: "DeviceInformation"}, 400},
		{"both raw and type", api.EnqueueRequest{All: true, Type: "SecurityInfo", Raw: rawCommand("X", "SecurityInfo")}, 400},
		{"unknown type", api.EnqueueRequest{All: true, Type: "Explode"}, 400},
		{"bad params", api.EnqueueRequest{All: true, Type: "ScheduleOSUpdateScan", Params: map[string]any{"forse": true}}, 400},
		{"raw not a command", api.EnqueueRequest{All: true, Raw: "<plist><dict/></plist>"}, 400},
		{"unknown device", api.EnqueueRequest{Devices: []string{"NOPE"}, Type: "SecurityInfo"}, 404},
		{"invalid device id", api.EnqueueRequest{Devices: []string{"../x"}, Type: "SecurityInfo"}, 400},
		{"scan on iPhone", api.EnqueueRequest{Devices: []string{d.UDID()}, Type: "ScheduleOSUpdateScan"}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := env.Snapshot(t)
			_, err := env.API.Enqueue(ctx, tc.req)
			var se *api.StatusError
			if !errors.As(err, &se) || se.Status != tc.want {
				t.Fatalf("want %d, got %v", tc.want, err)
			}
			env.AssertUnchanged(t, before)
		})
	}
	bad := api.NewClient(env.URL, "wrong-key", nil)
	_, err := bad.Devices(ctx, nil)
	var se *api.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("wrong API key: %v", err)
	}
}
