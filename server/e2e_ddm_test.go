package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage"
)

// The deadline of the enforcement declaration, and the simulated clock the
// devices start from.
var (
	ddmDeadline = time.Date(2026, 12, 20, 18, 0, 0, 0, time.UTC)
	ddmStart    = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
)

const (
	enforceID    = "tidemark.e2e.enforce-26.1"
	activationID = "tidemark.e2e.activation"
)

func enforcementJSON(version, build string) string {
	return fmt.Sprintf(`{"Type":%q,"Identifier":%q,"Payload":{"TargetOSVersion":%q,"TargetBuildVersion":%q,"TargetLocalDateTime":%q}}`,
		ddm.TypeEnforcementSpecific, enforceID, version, build, ddmDeadline.Format(ddm.LocalDateTimeLayout))
}

var activationJSON = `{"Type":"com.apple.activation.simple","Identifier":"` + activationID +
	`","Payload":{"StandardConfigurations":["` + enforceID + `"]}}`

// ddmFleet is a set of enrolled DDM-capable sim devices.
type ddmFleet struct {
	env     *testenv.Env
	devices []*sim.Device
	agents  []*sim.DDM
}

func enrollDDMFleet(t *testing.T, env *testenv.Env, n int) *ddmFleet {
	t.Helper()
	f := &ddmFleet{env: env}
	for i := range n {
		d := env.NewDevice(t, testenv.Mac(i+1, "15.7.1", "24G231"), i)
		f.devices = append(f.devices, d)
		f.agents = append(f.agents, sim.EnableDDM(d, sim.DDMOptions{Clock: ddmStart}))
	}
	f.each(t, func(i int) error { return f.devices[i].Enroll(context.Background(), env.Profile) })
	return f
}

// each runs fn for every device, a few at a time, and fails on any error.
func (f *ddmFleet) each(t *testing.T, fn func(i int) error) {
	t.Helper()
	errs := make([]error, len(f.devices))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range f.devices {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("device %d (%s): %v", i, f.devices[i].UDID(), err)
		}
	}
}

func (f *ddmFleet) ids() []string {
	out := make([]string, len(f.devices))
	for i, d := range f.devices {
		out[i] = d.UDID()
	}
	return out
}

func apiDo(t *testing.T, env *testenv.Env, method, path string, in, out any) {
	t.Helper()
	if err := env.API.Do(context.Background(), method, path, in, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

func putDeclaration(t *testing.T, env *testenv.Env, doc string) ddmsvc.PutDeclarationResult {
	t.Helper()
	var res ddmsvc.PutDeclarationResult
	apiDo(t, env, http.MethodPut, "/v1/declarations", json.RawMessage(doc), &res)
	return res
}

// drain runs the DDM sync worker once, so commands are queued before the
// test looks.
func drain(t *testing.T, env *testenv.Env) {
	t.Helper()
	if err := env.Server.DDM().Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func ddmCommands(t *testing.T, env *testenv.Env, id string) int {
	t.Helper()
	var q []storage.QueueEntry
	apiDo(t, env, http.MethodGet, "/v1/devices/"+url.PathEscape(id)+"/queue", nil, &q)
	n := 0
	for _, e := range q {
		if e.RequestType == mdm.RequestDeclarativeManagement {
			n++
		}
	}
	return n
}

func serverStatus(t *testing.T, env *testenv.Env, id string) *ddm.DeviceStatus {
	t.Helper()
	var v ddmsvc.StatusView
	apiDo(t, env, http.MethodGet, "/v1/devices/"+url.PathEscape(id)+"/ddm/status", nil, &v)
	return v.Status
}

// TestDDMEnforcementFleet: an enforcement declaration assigned to 100
// devices through the admin API gives each exactly one DeclarativeManagement
// command; the devices sync and report every step of the update, and the
// server's per-device status follows them to the new OS version.
func TestDDMEnforcementFleet(t *testing.T) {
	env := testenv.Start(t)
	f := enrollDDMFleet(t, env, 100)
	putDeclaration(t, env, enforcementJSON("26.1", "25B78"))
	putDeclaration(t, env, activationJSON)
	apiDo(t, env, http.MethodPost, "/v1/sets/fleet/add", ddmsvc.SetChange{Declarations: []string{enforceID, activationID}}, nil)
	var assigned ddmsvc.AssignResult
	apiDo(t, env, http.MethodPost, "/v1/sets/fleet/assign", ddmsvc.AssignRequest{Devices: f.ids()}, &assigned)
	if len(assigned.Changed) != 100 {
		t.Fatalf("assigned %d devices, want 100", len(assigned.Changed))
	}
	drain(t, env)
	drain(t, env)
	for _, id := range f.ids() {
		if n := ddmCommands(t, env, id); n != 1 {
			t.Fatalf("%s has %d DeclarativeManagement commands queued, want exactly 1", id, n)
		}
	}
	f.each(t, func(i int) error {
		n, err := f.devices[i].Connect(context.Background(), 5)
		if err == nil && n != 1 {
			err = fmt.Errorf("handled %d commands, want 1", n)
		}
		if err == nil {
			err = f.agents[i].LastError()
		}
		return err
	})
	f.expectPhase(t, ddm.InstallStateWaiting, "15.7.1", true)
	for _, step := range []struct {
		at    time.Time
		state ddm.InstallState
	}{
		{ddmDeadline.Add(-23 * time.Hour), ddm.InstallStateDownloading},
		{ddmDeadline.Add(-time.Hour), ddm.InstallStatePrepared},
		{ddmDeadline.Add(-10 * time.Minute), ddm.InstallStateInstalling},
	} {
		f.advance(t, step.at)
		f.expectPhase(t, step.state, "15.7.1", true)
	}
	f.advance(t, ddmDeadline)
	f.expectPhase(t, ddm.InstallStateNone, "26.1", false)
	for _, d := range f.devices[:3] {
		dev, err := env.API.Device(context.Background(), d.UDID())
		if err != nil || dev.Facts.OSVersion != "26.1" || dev.Facts.BuildVersion != "25B78" {
			t.Fatalf("device facts after the update: %+v, %v", dev, err)
		}
	}
}

func (f *ddmFleet) advance(t *testing.T, at time.Time) {
	t.Helper()
	f.each(t, func(i int) error { return f.agents[i].AdvanceTo(context.Background(), at) })
}

// expectPhase checks, for every device, what the device says and what the
// server stored.
func (f *ddmFleet) expectPhase(t *testing.T, state ddm.InstallState, osVersion string, pending bool) {
	t.Helper()
	for i, d := range f.devices {
		if got := f.agents[i].InstallState(); got != state {
			t.Fatalf("%s: device is %q, want %q", d.UDID(), got, state)
		}
		st := serverStatus(t, f.env, d.UDID())
		if st.InstallState == nil || st.InstallState.Value != state {
			t.Fatalf("%s: server install state %+v, want %q", d.UDID(), st.InstallState, state)
		}
		if st.OSVersion == nil || st.OSVersion.Value != osVersion {
			t.Fatalf("%s: server OS version %+v, want %s", d.UDID(), st.OSVersion, osVersion)
		}
		pv := st.PendingVersion
		if pv == nil || (pv.Value.OSVersion == "26.1") != pending {
			t.Fatalf("%s: server pending version %+v, want pending=%v", d.UDID(), pv, pending)
		}
		decl, ok := st.Declarations[enforceID]
		if !ok || !decl.Active || (decl.Valid == "valid") != pending {
			t.Fatalf("%s: server's view of the enforcement declaration: %+v", d.UDID(), decl)
		}
		if ir := st.InstallReason; ir == nil || ir.Value.DeclarationID != enforceID {
			t.Fatalf("%s: install reason %+v", d.UDID(), ir)
		}
	}
}
