package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/sim"
	"github.com/tidemark-mdm/tidemark/storage"
)

const cliEnforcement = `{"Type":"com.apple.configuration.softwareupdate.enforcement.specific","Identifier":"cli.enforce",
"Payload":{"TargetOSVersion":"26.1","TargetLocalDateTime":"2026-12-20T18:00:00"}}`

const cliActivation = `{"Type":"com.apple.activation.simple","Identifier":"cli.activation",
"Payload":{"StandardConfigurations":["cli.enforce"]}}`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRun(t *testing.T, env *testenv.Env, args ...string) string {
	t.Helper()
	out, err := run(t, env, args...)
	if err != nil {
		t.Fatalf("tidemark %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestDDMCommands(t *testing.T) {
	env := testenv.Start(t)
	d := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	agent := sim.EnableDDM(d, sim.DDMOptions{})
	out := mustRun(t, env, "declaration", "put", "-f", writeFile(t, "e.json", cliEnforcement))
	if !strings.Contains(out, "stored cli.enforce") {
		t.Fatalf("put: %s", out)
	}
	if out = mustRun(t, env, "declaration", "put", "-f", writeFile(t, "e.json", cliEnforcement)); !strings.Contains(out, "unchanged") {
		t.Fatalf("second put: %s", out)
	}
	mustRun(t, env, "declaration", "put", "-f", writeFile(t, "a.json", cliActivation))
	if _, err := run(t, env, "declaration", "put", "-f", writeFile(t, "bad.json", `{"Type":"x"`)); err == nil {
		t.Fatal("invalid JSON accepted")
	}
	if out = mustRun(t, env, "set", "add", "cli", "cli.enforce", "cli.activation"); !strings.Contains(out, "cli.enforce") {
		t.Fatalf("set add: %s", out)
	}
	if out = mustRun(t, env, "set", "assign", "cli", "--device", d.UDID()); !strings.Contains(out, "1 device(s) changed") {
		t.Fatalf("set assign: %s", out)
	}
	if err := env.Server.DDM().Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Connect(context.Background(), 3); err != nil || agent.LastError() != nil {
		t.Fatalf("sync: %v %v", err, agent.LastError())
	}
	if out = mustRun(t, env, "ddm", "status", "--device", d.UDID()); !strings.Contains(out, "waiting") || !strings.Contains(out, "cli.enforce") {
		t.Fatalf("ddm status: %s", out)
	}
	if out = mustRun(t, env, "ddm", "queue", "--device", d.UDID()); !strings.Contains(out, "26.1") || !strings.Contains(out, "ddm-status") {
		t.Fatalf("ddm queue: %s", out)
	}
	var eff ddmsvc.EffectiveSettingsView
	if err := json.Unmarshal([]byte(mustRun(t, env, "ddm", "effective-settings", "--device", d.UDID(), "-o", "json")), &eff); err != nil || eff.DeviceID != d.UDID() {
		t.Fatalf("effective-settings json: %+v %v", eff, err)
	}
	var sets []storage.DeclarationSet
	if err := json.Unmarshal([]byte(mustRun(t, env, "set", "list", "-o", "json")), &sets); err != nil || len(sets) != 1 || sets[0].DeviceCount != 1 {
		t.Fatalf("set list json: %+v %v", sets, err)
	}
	if out = mustRun(t, env, "declaration", "list"); !strings.Contains(out, "cli.enforce") || !strings.Contains(out, "2 declaration(s)") {
		t.Fatalf("declaration list: %s", out)
	}
	if _, err := run(t, env, "declaration", "delete", "cli.enforce"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("delete in use: %v", err)
	}
	mustRun(t, env, "set", "unassign", "cli", "--all")
	mustRun(t, env, "set", "remove", "cli", "cli.enforce", "cli.activation")
	mustRun(t, env, "declaration", "delete", "cli.activation")
	if out = mustRun(t, env, "declaration", "delete", "cli.enforce"); !strings.Contains(out, "deleted cli.enforce") {
		t.Fatalf("delete: %s", out)
	}
}
