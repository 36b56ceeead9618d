package policysvc

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/storage"
)

func TestPutPolicyLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.importFixture(t)
	var changed []string
	e.svc.OnPolicyChange(func(id string) { changed = append(changed, id) })
	alice := WriteOptions{Actor: "alice"}

	res, err := e.svc.PutPolicy(ctx, macPolicy("macs", "26.2", "2026-12-04T17:00:00"), alice)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != ResultCreated || res.Policy.Version != 1 || !res.Policy.CreatedAt.Equal(fixtureNow) ||
		!slices.Contains(res.Changes, `target.os_version: (none) → "26.2"`) {
		t.Fatalf("create: %+v", res)
	}
	e.clock.Add(time.Minute)
	res, err = e.svc.PutPolicy(ctx, macPolicy("macs", "26.2", "2026-12-04T17:00:00"), alice)
	if err != nil || res.Result != ResultUnchanged || res.Policy.Version != 1 {
		t.Fatalf("same content: %+v %v", res, err)
	}
	p := macPolicy("macs", "26.2", "2026-12-11T17:00:00")
	p.Version = 1
	res, err = e.svc.PutPolicy(ctx, p, WriteOptions{Actor: "bob"})
	if err != nil || res.Result != ResultUpdated || res.Policy.Version != 2 || !res.Policy.CreatedAt.Equal(fixtureNow) ||
		!slices.Equal(res.Changes, []string{`deadline.local_date_time: "2026-12-04T17:00:00" → "2026-12-11T17:00:00"`}) {
		t.Fatalf("update: %+v %v", res, err)
	}
	// Based on version 1 again: someone else's edit would be lost.
	p.Deadline.LocalDateTime = "2026-12-18T17:00:00"
	if _, err := e.svc.PutPolicy(ctx, p, alice); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("stale version: %v", err)
	}
	if !slices.Equal(changed, []string{"macs", "macs"}) {
		t.Errorf("hooks saw %v", changed)
	}
	events := e.serverEvents(t)
	if !slices.Equal(kinds(events), []string{"policy_updated", "policy_created", "catalog_changed"}) {
		t.Fatalf("events: %v", kinds(events))
	}
	upd := events[0]
	if upd.Data["actor"] != "bob" || upd.Data["version"] != "2" || !strings.Contains(upd.Message, "by bob") ||
		!strings.Contains(upd.Data["changes"], "2026-12-11T17:00:00") || !upd.At.Equal(fixtureNow.Add(time.Minute)) {
		t.Errorf("update event: %+v", upd)
	}
}

func TestPutPolicyValidation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.importFixture(t)
	if _, err := e.svc.PutPolicy(ctx, macPolicy("macs", "26.2", "2026-12-04T17:00:00"), WriteOptions{Actor: "a"}); err != nil {
		t.Fatal(err)
	}
	bad := enforcement.Policy{ID: "bad", Target: enforcement.Target{Kind: "newest"}, DetailsURL: "ftp://x"}
	_, err := e.svc.PutPolicy(ctx, bad, WriteOptions{})
	var invalid *InvalidPolicyError
	if !errors.As(err, &invalid) || len(invalid.Validation.Problems) < 4 {
		t.Fatalf("every problem listed: %v", err)
	}
	for _, want := range []string{"name is empty", "scope selects no devices", `target kind "newest"`, "deadline:", "details_url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	// Older than the policy already in force on an overlapping scope.
	pilot := macPolicy("pilot", "26.1", "2026-12-01T17:00:00")
	pilot.Scope = enforcement.Scope{Platforms: []string{"macOS"}, Groups: []string{"pilot"}}
	if _, err := e.svc.PutPolicy(ctx, pilot, WriteOptions{Force: true}); !errors.As(err, &invalid) ||
		!strings.Contains(err.Error(), `enforced by policy "macs"`) {
		t.Fatalf("older overlapping target, even forced: %v", err)
	}

	// Apple stops signing 26.1 on 2026-12-08, before the deadline.
	late := macPolicy("late", "26.1", "2026-12-20T17:00:00")
	late.Scope = enforcement.Scope{DeviceIDs: []string{"dev-1"}, Platforms: []string{"macOS"}}
	if _, err := e.svc.DeletePolicy(ctx, "macs", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.PutPolicy(ctx, late, WriteOptions{})
	if !errors.As(err, &invalid) ||
		!strings.Contains(err.Error(), "2026-12-08") || !strings.Contains(err.Error(), "use force") {
		t.Fatalf("expiry before the deadline: %v", err)
	}
	res, err := e.svc.PutPolicy(ctx, late, WriteOptions{Force: true, Actor: "carol"})
	if err != nil || res.Result != ResultCreated || len(res.Warnings) == 0 || !strings.HasPrefix(res.Warnings[0], "forced:") {
		t.Fatalf("forced: %+v %v", res, err)
	}
	if ev := e.serverEvents(t)[0]; ev.Data["forced"] != "true" || !strings.Contains(ev.Data["warnings"], "2026-12-08") {
		t.Errorf("forced event: %+v", ev)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.importFixture(t)
	hooks := 0
	e.svc.OnPolicyChange(func(string) { hooks++ })
	res, err := e.svc.PutPolicy(ctx, macPolicy("macs", "26.2", "2026-12-04T17:00:00"), WriteOptions{DryRun: true})
	if err != nil || res.Result != ResultCreated || !res.DryRun {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	if list, _ := e.svc.Policies(ctx); len(list) != 0 || hooks != 0 || len(e.serverEvents(t)) != 1 {
		t.Fatalf("dry run wrote: %d policies, %d hooks", len(list), hooks)
	}
}

func TestPauseResumeDelete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.importFixture(t)
	if _, err := e.svc.PutPolicy(ctx, macPolicy("macs", "26.2", "2026-12-04T17:00:00"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.SetPaused(ctx, "macs", true, WriteOptions{Actor: "ops", Version: 1})
	if err != nil || res.Result != ResultPaused || !res.Policy.Paused || res.Policy.Version != 2 {
		t.Fatalf("pause: %+v %v", res, err)
	}
	if res, err = e.svc.SetPaused(ctx, "macs", true, WriteOptions{}); err != nil || res.Result != ResultUnchanged {
		t.Fatalf("pause twice: %+v %v", res, err)
	}
	// A replace keeps the pause: only resume lifts it.
	p := macPolicy("macs", "26.2", "2026-12-11T17:00:00")
	if res, err = e.svc.PutPolicy(ctx, p, WriteOptions{}); err != nil || !res.Policy.Paused || res.Policy.Version != 3 {
		t.Fatalf("replace while paused: %+v %v", res, err)
	}
	if _, err := e.svc.SetPaused(ctx, "macs", false, WriteOptions{Version: 2}); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("stale resume: %v", err)
	}
	if res, err = e.svc.SetPaused(ctx, "macs", false, WriteOptions{Actor: "ops"}); err != nil || res.Result != ResultResumed || res.Policy.Paused {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if _, err := e.svc.DeletePolicy(ctx, "macs", WriteOptions{Version: 1}); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("stale delete: %v", err)
	}
	if _, err := e.svc.DeletePolicy(ctx, "macs", WriteOptions{Actor: "ops", Version: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetPaused(ctx, "macs", true, WriteOptions{}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("pause a deleted policy: %v", err)
	}
	got := kinds(e.serverEvents(t))
	want := []string{"policy_deleted", "policy_resumed", "policy_updated", "policy_paused", "policy_created", "catalog_changed"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant   %v", got, want)
	}
}

func TestResumeRevalidates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.importFixture(t)
	mustPut := func(p enforcement.Policy) {
		t.Helper()
		if _, err := e.svc.PutPolicy(ctx, p, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(macPolicy("old", "15.7.3", "2026-12-04T17:00:00"))
	if _, err := e.svc.SetPaused(ctx, "old", true, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	mustPut(macPolicy("new", "26.2", "2026-12-04T17:00:00"))
	_, err := e.svc.SetPaused(ctx, "old", false, WriteOptions{})
	var invalid *InvalidPolicyError
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), `policy "new"`) {
		t.Fatalf("resuming an older target under a newer policy: %v", err)
	}
	if p, _ := e.svc.Policy(ctx, "old"); !p.Paused {
		t.Error("a refused resume changed the policy")
	}
}
