package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/storage"
)

// policyNow is "today" in the catalog fixture's world.
var policyNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// policyClient calls the admin API as a named actor.
type policyClient struct {
	t    *testing.T
	base string
	key  string
	hc   *http.Client
}

// startPolicyEnv starts a server, on the fixture's clock when fixtureClock
// (devices cannot enroll then: their certificates would be from the past).
// Until server.assemble registers the policy routes, they are served by a
// second admin handler over the same store and policy service.
func startPolicyEnv(t *testing.T, fixtureClock bool) (*testenv.Env, *policyClient) {
	t.Helper()
	env := testenv.Start(t, func(c *server.Config) {
		if fixtureClock {
			c.Now = func() time.Time { return policyNow }
		}
	})
	pc := &policyClient{t: t, base: env.URL, key: env.Server.APIKey(), hc: env.HTTP}
	return env, pc
}

// call sends body (raw bytes, or a value sent as JSON) and returns the
// status and decoded answer.
func (c *policyClient) call(method, path, actor string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if actor != "" {
		req.Header.Set(policysvc.ActorHeader, actor)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func e2eMacPolicy(version, deadline string) enforcement.Policy {
	return enforcement.Policy{
		Name:     "Macs to " + version,
		Scope:    enforcement.Scope{All: true, Platforms: []string{"macOS"}},
		Target:   enforcement.Target{Kind: enforcement.TargetVersion, OSVersion: version},
		Deadline: enforcement.Deadline{LocalDateTime: deadline},
	}
}

func TestCatalogImportAndRefusal(t *testing.T) {
	_, c := startPolicyEnv(t, true)
	var sum policysvc.CatalogSummary
	if st := c.call("GET", "/v1/catalog", "", nil, &sum); st != 200 || sum.Loaded {
		t.Fatalf("before import: %d %+v", st, sum)
	}
	var change policysvc.CatalogChange
	fixture := golden.Read(t, golden.Path(t, "catalog/fixture.json"))
	if st := c.call("POST", "/v1/catalog?source=fixture.json", "alice", fixture, &change); st != 200 || !change.Changed || change.Releases != 25 {
		t.Fatalf("import: %d %+v", st, change)
	}
	for _, body := range []string{"", "not json", `{"PublicAssetSets":{"macOS":[]}}`} {
		var e api.Error
		if st := c.call("POST", "/v1/catalog", "mallory", []byte(body), &e); st != 400 || !strings.Contains(e.Error, "current one is kept") {
			t.Errorf("garbage %q: %d %q", body, st, e.Error)
		}
	}
	if st := c.call("GET", "/v1/catalog?platform=macOS", "", nil, &sum); st != 200 || !sum.Loaded ||
		sum.Fingerprint != change.Fingerprint || sum.Source != "fixture.json" || len(sum.Platforms) != 1 {
		t.Fatalf("after refusals: %d %+v", st, sum)
	}
	if r := sum.Platforms[0].Releases[0]; r.Version != "26.2" || r.DeviceCount == 0 || r.Posted != "2026-11-17" || r.Expires != "2027-02-19" {
		t.Errorf("newest macOS release: %+v", r)
	}
	var e api.Error
	if st := c.call("POST", "/v1/catalog/fetch", "", nil, &e); st != http.StatusConflict {
		t.Errorf("fetch without a URL: %d %q", st, e.Error)
	}
}

func TestPolicyAPILifecycle(t *testing.T) {
	env, c := startPolicyEnv(t, true)
	c.call("POST", "/v1/catalog", "alice", golden.Read(t, golden.Path(t, "catalog/fixture.json")), nil)

	var fail policysvc.ValidationFailure
	bad := enforcement.Policy{Target: enforcement.Target{Kind: "newest"}}
	if st := c.call("PUT", "/v1/policies/bad", "alice", bad, &fail); st != 400 || len(fail.Problems) < 3 || fail.PolicyID != "bad" {
		t.Fatalf("invalid policy: %d %+v", st, fail)
	}
	var res policysvc.PolicyResult
	if st := c.call("PUT", "/v1/policies/macs", "alice", e2eMacPolicy("26.2", "2026-12-04T17:00:00"), &res); st != 201 || res.Policy.Version != 1 {
		t.Fatalf("create: %d %+v", st, res)
	}
	pilot := e2eMacPolicy("26.1", "2026-12-01T17:00:00")
	pilot.Scope = enforcement.Scope{Platforms: []string{"macOS"}, Groups: []string{"pilot"}}
	if st := c.call("PUT", "/v1/policies/pilot?force=true", "alice", pilot, &fail); st != 400 ||
		!strings.Contains(strings.Join(fail.Problems, "\n"), `older than 26.2, enforced by policy "macs"`) {
		t.Fatalf("older target on an overlapping scope: %d %+v", st, fail)
	}

	phones := enforcement.Policy{Name: "Phones to 26.1", Scope: enforcement.Scope{All: true, Platforms: []string{"iOS"}},
		Target:   enforcement.Target{Kind: enforcement.TargetVersion, OSVersion: "26.1"},
		Deadline: enforcement.Deadline{LocalDateTime: "2026-12-20T17:00:00"}}
	if st := c.call("PUT", "/v1/policies/phones", "alice", phones, &fail); st != 400 ||
		!strings.Contains(fail.Error, "2026-12-08") || !strings.Contains(fail.Error, "use force") {
		t.Fatalf("expires before the deadline: %d %+v", st, fail)
	}
	res = policysvc.PolicyResult{}
	if st := c.call("PUT", "/v1/policies/phones?force=true", "alice", phones, &res); st != 201 ||
		len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "forced: Apple stops signing iOS 26.1 on 2026-12-08") {
		t.Fatalf("forced: %d %+v", st, res)
	}

	stale := e2eMacPolicy("26.2", "2026-12-11T17:00:00")
	stale.Version = 7
	var e api.Error
	if st := c.call("PUT", "/v1/policies/macs", "bob", stale, &e); st != http.StatusConflict || !strings.Contains(e.Error, "version 1") {
		t.Fatalf("stale version: %d %q", st, e.Error)
	}
	stale.Version = 1
	res = policysvc.PolicyResult{}
	if st := c.call("PUT", "/v1/policies/macs", "bob", stale, &res); st != 200 || res.Result != "updated" || res.Policy.Version != 2 {
		t.Fatalf("update: %d %+v", st, res)
	}
	if st := c.call("POST", "/v1/policies/macs/pause?version=1", "carol", nil, &e); st != http.StatusConflict {
		t.Fatalf("stale pause: %d", st)
	}
	checkPauseResume(t, c)
	checkPolicyEvents(t, env)

	if st := c.call("DELETE", "/v1/policies/phones", "alice", nil, &res); st != 200 || res.Result != "deleted" {
		t.Fatalf("delete: %d %+v", st, res)
	}
	var list []enforcement.Policy
	if st := c.call("GET", "/v1/policies", "", nil, &list); st != 200 || len(list) != 1 || list[0].ID != "macs" {
		t.Fatalf("list after delete: %d %+v", st, list)
	}
	if st := c.call("GET", "/v1/policies/phones", "", nil, &e); st != 404 {
		t.Fatalf("deleted policy: %d", st)
	}
}

func checkPauseResume(t *testing.T, c *policyClient) {
	t.Helper()
	var res policysvc.PolicyResult
	if st := c.call("POST", "/v1/policies/macs/pause", "carol", nil, &res); st != 200 || res.Result != "paused" || !res.Policy.Paused {
		t.Fatalf("pause: %d %+v", st, res)
	}
	var p enforcement.Policy
	if st := c.call("GET", "/v1/policies/macs", "", nil, &p); st != 200 || !p.Paused || p.Version != 3 {
		t.Fatalf("paused policy: %d %+v", st, p)
	}
	res = policysvc.PolicyResult{}
	if st := c.call("POST", "/v1/policies/macs/resume?version=3", "carol", nil, &res); st != 200 || res.Result != "resumed" || res.Policy.Paused {
		t.Fatalf("resume: %d %+v", st, res)
	}
}

// checkPolicyEvents: every change is a server event saying who did what.
func checkPolicyEvents(t *testing.T, env *testenv.Env) {
	t.Helper()
	events, err := env.Server.Store().Events(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	type who struct{ kind, actor string }
	var got []who
	for _, ev := range events {
		got = append(got, who{ev.Kind, ev.Data["actor"]})
		if !ev.At.Equal(policyNow) {
			t.Errorf("%s at %s, want the server clock", ev.Kind, ev.At)
		}
	}
	want := []who{{"policy_resumed", "carol"}, {"policy_paused", "carol"}, {"policy_updated", "bob"},
		{"policy_created", "alice"}, {"policy_created", "alice"}, {"catalog_changed", "alice"}}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant   %v", got, want)
	}
	if upd := events[2]; !strings.Contains(upd.Message, `deadline.local_date_time: "2026-12-04T17:00:00" → "2026-12-11T17:00:00"`) {
		t.Errorf("update event lacks the change: %q", upd.Message)
	}
	if forced := events[3]; forced.Data["forced"] != "true" || forced.Data["policy_id"] != "phones" {
		t.Errorf("forced create event: %+v", forced.Data)
	}
}

func TestDeviceGroupsAPI(t *testing.T) {
	env, c := startPolicyEnv(t, false)
	mac := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	phone := env.Enroll(t, testenv.IPhone(2, "18.6", "22G86"), 1)
	var dg policysvc.DeviceGroups
	for _, id := range []string{mac.UDID(), phone.UDID()} {
		if st := c.call("PUT", "/v1/devices/"+id+"/groups/pilot", "dana", nil, &dg); st != 200 || !dg.Changed {
			t.Fatalf("add %s: %d %+v", id, st, dg)
		}
	}
	if st := c.call("PUT", "/v1/devices/"+mac.UDID()+"/groups/lab", "dana", nil, &dg); st != 200 ||
		!slices.Equal(dg.Groups, []string{"lab", "pilot"}) {
		t.Fatalf("second group: %d %+v", st, dg)
	}
	if st := c.call("DELETE", "/v1/devices/"+phone.UDID()+"/groups/pilot", "dana", nil, &dg); st != 200 || !dg.Changed || len(dg.Groups) != 0 {
		t.Fatalf("remove: %d %+v", st, dg)
	}
	if st := c.call("DELETE", "/v1/devices/"+phone.UDID()+"/groups/pilot", "dana", nil, &dg); st != 200 || dg.Changed {
		t.Fatalf("remove twice: %d %+v", st, dg)
	}
	var groups []storage.GroupCount
	want := []storage.GroupCount{{Name: "lab", Members: 1}, {Name: "pilot", Members: 1}}
	if st := c.call("GET", "/v1/groups", "", nil, &groups); st != 200 || !slices.Equal(groups, want) {
		t.Fatalf("groups: %d %+v", st, groups)
	}
	var members policysvc.GroupMembers
	if st := c.call("GET", "/v1/groups/pilot", "", nil, &members); st != 200 || !slices.Equal(members.Members, []string{mac.UDID()}) {
		t.Fatalf("members: %d %+v", st, members)
	}
	var e api.Error
	if st := c.call("PUT", "/v1/devices/NOPE/groups/pilot", "", nil, &e); st != 404 {
		t.Errorf("unknown device: %d %q", st, e.Error)
	}
	if st := c.call("PUT", "/v1/devices/"+mac.UDID()+"/groups/-bad", "", nil, &e); st != 400 {
		t.Errorf("bad group name: %d %q", st, e.Error)
	}
	d, err := env.API.Device(context.Background(), mac.UDID())
	if err != nil || !slices.Equal(d.Groups, []string{"lab", "pilot"}) {
		t.Fatalf("device record groups: %+v %v", d, err)
	}
	events, _ := env.Server.Store().Events(context.Background(), mac.UDID(), 0)
	if events[0].Kind != "group_added" || events[0].Data["actor"] != "dana" || events[0].Data["group"] != "lab" {
		t.Errorf("device event: %+v", events[0])
	}
}
