package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/sim"
)

// ddmRequest sends a DeclarativeManagement check-in and returns the
// answer whatever its status.
func ddmRequest(t *testing.T, d *sim.Device, endpoint string, data []byte) *sim.Response {
	t.Helper()
	resp, err := d.Declarative(context.Background(), endpoint, data)
	var se *sim.StatusError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("%s: %v", endpoint, err)
	}
	return resp
}

func syncFleet(t *testing.T, env *testenv.Env) *ddmFleet {
	t.Helper()
	f := enrollDDMFleet(t, env, 3)
	putDeclaration(t, env, enforcementJSON("26.1", "25B78"))
	putDeclaration(t, env, activationJSON)
	apiDo(t, env, http.MethodPost, "/v1/sets/fleet/add", ddmsvc.SetChange{Declarations: []string{enforceID, activationID}}, nil)
	apiDo(t, env, http.MethodPost, "/v1/sets/fleet/assign", ddmsvc.AssignRequest{Devices: f.ids()[:2]}, nil)
	drain(t, env)
	f.each(t, func(i int) error {
		if _, err := f.devices[i].Connect(context.Background(), 5); err != nil {
			return err
		}
		if i == 2 { // not assigned, so never told: it syncs on its own
			return f.agents[i].Sync(context.Background())
		}
		return f.agents[i].LastError()
	})
	return f
}

// TestDDMTokensStableAndChanged: tokens do not move for an unchanged set
// (repeated syncs, re-putting the same declaration) and change, with one
// new command for exactly the devices holding it, when a payload changes.
func TestDDMTokensStableAndChanged(t *testing.T) {
	env := testenv.Start(t)
	f := syncFleet(t, env)
	a, b, c := f.devices[0], f.devices[1], f.devices[2]
	first := ddmRequest(t, a, "tokens", nil).Body
	if again := ddmRequest(t, a, "tokens", nil).Body; !bytes.Equal(first, again) {
		t.Fatalf("tokens moved between syncs:\n%s\n%s", first, again)
	}
	if other := ddmRequest(t, b, "tokens", nil).Body; !bytes.Equal(first, other) {
		t.Fatalf("devices holding the same set got different tokens:\n%s\n%s", first, other)
	}
	if res := putDeclaration(t, env, enforcementJSON("26.1", "25B78")); res.Changed {
		t.Fatal("re-putting an unchanged declaration reported a change")
	}
	drain(t, env)
	if n := ddmCommands(t, env, a.UDID()); n != 0 {
		t.Fatalf("unchanged declaration queued %d commands", n)
	}
	if again := ddmRequest(t, a, "tokens", nil).Body; !bytes.Equal(first, again) {
		t.Fatalf("tokens moved after an unchanged put:\n%s\n%s", first, again)
	}
	oldToken := f.agents[0].Held()[enforceID]
	res := putDeclaration(t, env, enforcementJSON("26.2", "25C56"))
	if !res.Changed || res.Declaration.ServerToken == oldToken {
		t.Fatalf("changed payload: %+v (old token %s)", res, oldToken)
	}
	drain(t, env)
	for i, want := range []int{1, 1, 0} {
		if n := ddmCommands(t, env, f.devices[i].UDID()); n != want {
			t.Fatalf("device %d has %d DeclarativeManagement commands, want %d", i, n, want)
		}
	}
	if changed := ddmRequest(t, a, "tokens", nil).Body; bytes.Equal(first, changed) {
		t.Fatal("DeclarationsToken did not change with the payload")
	}
	if _, err := a.Connect(context.Background(), 5); err != nil || f.agents[0].LastError() != nil {
		t.Fatalf("sync after the change: %v, %v", err, f.agents[0].LastError())
	}
	if got := f.agents[0].Held()[enforceID]; got != res.Declaration.ServerToken {
		t.Fatalf("device holds token %s, server serves %s", got, res.Declaration.ServerToken)
	}
	if n, err := c.Connect(context.Background(), 5); n != 0 || err != nil {
		t.Fatalf("unassigned device was given %d commands (%v)", n, err)
	}
}

// TestDDMRefusals: a device gets only its own declarations; hostile
// endpoints and malformed reports are refused and change nothing; partial
// reports merge.
func TestDDMRefusals(t *testing.T) {
	env := testenv.Start(t)
	f := syncFleet(t, env)
	a, c := f.devices[0], f.devices[2]
	before := env.Snapshot(t)
	resp := ddmRequest(t, c, "declaration/configuration/"+enforceID, nil)
	if resp.Status != http.StatusNotFound || bytes.Contains(resp.Body, []byte("TargetOSVersion")) {
		t.Fatalf("unassigned declaration: %d %s", resp.Status, resp.Body)
	}
	if resp := ddmRequest(t, a, "declaration/activation/"+enforceID, nil); resp.Status == http.StatusOK {
		t.Fatal("a configuration was served under the activation class")
	}
	for _, ep := range []string{"../x", "//h/x", "%2e%2e/x", "declaration/configuration/%2e%2e", "https://evil.example/x",
		"/tokens", "declaration/configuration/a%2fb", "tokens/../status", strings.Repeat("a", 600)} {
		if resp := ddmRequest(t, a, ep, nil); resp.Status != http.StatusBadRequest {
			t.Errorf("endpoint %q: status %d, want 400", ep, resp.Status)
		}
	}
	for _, body := range []string{`{"StatusItems":`, `[]`, `"x"`, ``} {
		if resp := ddmRequest(t, a, "status", []byte(body)); resp.Status != http.StatusBadRequest {
			t.Errorf("status report %q: status %d, want 400", body, resp.Status)
		}
	}
	env.AssertUnchanged(t, before)

	partial := `{"StatusItems":{"softwareupdate":{"install-state":"downloading","beta-enrollment":7}}}`
	if resp := ddmRequest(t, a, "status", []byte(partial)); resp.Status != http.StatusOK {
		t.Fatalf("partial report with one bad item: %d %s", resp.Status, resp.Body)
	}
	st := serverStatus(t, env, a.UDID())
	if st.InstallState.Value != ddm.InstallStateDownloading || st.OSVersion == nil || st.OSVersion.Value != "15.7.1" ||
		st.PendingVersion == nil || st.PendingVersion.Value.OSVersion != "26.1" || st.BetaEnrollment != nil {
		t.Fatalf("partial report did not merge: %+v", st)
	}
	var v ddmsvc.StatusView
	apiDo(t, env, http.MethodGet, "/v1/devices/"+a.UDID()+"/ddm/status?history=1", nil, &v)
	if len(v.History) != 1 || !bytes.Contains(v.History[0].Report, []byte("softwareupdate.beta-enrollment")) {
		t.Fatalf("history does not record the skipped item: %+v", v.History)
	}
}

// TestDDMAdminRefusals: what the admin API refuses, and how it says so.
func TestDDMAdminRefusals(t *testing.T) {
	env := testenv.Start(t)
	f := syncFleet(t, env)
	ctx := context.Background()
	bad := `{"Type":"` + ddm.TypeEnforcementSpecific + `","Identifier":"x","Payload":{"TargetOSVersion":"26.1","TargetLocalDateTime":"tomorrow","Foo":1}}`
	var body ddmsvc.ErrorBody
	err := env.API.Do(ctx, http.MethodPut, "/v1/declarations", json.RawMessage(bad), &body)
	wantAPIError(t, err, http.StatusBadRequest, "Payload.TargetLocalDateTime", "Payload.Foo")
	settings := `{"Type":"` + ddm.TypeSoftwareUpdateSettings + `","Identifier":"cadence","Payload":{"RecommendedCadence":"Newest"}}`
	putDeclaration(t, env, settings)
	err = env.API.Do(ctx, http.MethodPost, "/v1/sets/fleet/add", ddmsvc.SetChange{Declarations: []string{"cadence"}}, nil)
	wantAPIError(t, err, http.StatusBadRequest, f.devices[0].UDID(), "RecommendedCadence", "macOS")
	err = env.API.Do(ctx, http.MethodDelete, "/v1/declarations/"+enforceID, nil, nil)
	wantAPIError(t, err, http.StatusConflict, "fleet", activationID)
	err = env.API.Do(ctx, http.MethodPut, "/v1/declarations",
		json.RawMessage(`{"Type":"com.apple.activation.simple","Identifier":"`+ddmsvc.ActivationID+`","Payload":{"StandardConfigurations":["cadence"]}}`), nil)
	wantAPIError(t, err, http.StatusBadRequest, "reserved")
	err = env.API.Do(ctx, http.MethodPost, "/v1/sets/fleet/assign", ddmsvc.AssignRequest{Devices: []string{"NOPE-1"}}, nil)
	wantAPIError(t, err, http.StatusNotFound, "NOPE-1")
	if enforcement.StatusSubscriptionIdentifier != ddmsvc.StatusSubscriptionsID {
		t.Fatalf("the built-in subscription (%s) is not the one the enforcement engine looks for (%s)",
			ddmsvc.StatusSubscriptionsID, enforcement.StatusSubscriptionIdentifier)
	}
}

func wantAPIError(t *testing.T, err error, status int, mentions ...string) {
	t.Helper()
	var se *api.StatusError
	if !errors.As(err, &se) || se.Status != status {
		t.Fatalf("want HTTP %d, got %v", status, err)
	}
	for _, m := range mentions {
		if !strings.Contains(se.Message, m) {
			t.Errorf("error %q does not name %q", se.Message, m)
		}
	}
}

// TestDDMReenrollmentSyncs: re-enrolling empties the queue; a device
// holding declarations is told to sync again.
func TestDDMReenrollmentSyncs(t *testing.T) {
	env := testenv.Start(t)
	f := syncFleet(t, env)
	if err := f.devices[0].Enroll(context.Background(), env.Profile); err != nil {
		t.Fatal(err)
	}
	drain(t, env)
	if n := ddmCommands(t, env, f.devices[0].UDID()); n != 1 {
		t.Fatalf("after re-enrollment: %d DeclarativeManagement commands, want 1", n)
	}
	if n := ddmCommands(t, env, f.devices[1].UDID()); n != 0 {
		t.Fatalf("another device got %d commands", n)
	}
}
