package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/server"
)

// policyCLINow is "today" in the catalog fixture's world.
var policyCLINow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// policyCLI starts a server (on the fixture's clock when fixtureClock) and
// returns a CLI runner for it. Until server.assemble registers the policy
// routes, they are served by a second admin handler over the same store.
func policyCLI(t *testing.T, fixtureClock bool) (*testenv.Env, func(args ...string) (string, error)) {
	t.Helper()
	env := testenv.Start(t, func(c *server.Config) {
		if fixtureClock {
			c.Now = func() time.Time { return policyCLINow }
		}
	})
	base := env.URL
	return env, func(args ...string) (string, error) {
		t.Helper()
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"--server", base, "--api-key", env.Server.APIKey()}, args...))
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
}

func TestCatalogCLI(t *testing.T) {
	_, cli := policyCLI(t, true)
	out, err := cli("catalog", "show")
	if err != nil || !strings.Contains(out, "No release catalog yet") {
		t.Fatalf("empty catalog: %v\n%s", err, out)
	}
	garbage := filepath.Join(t.TempDir(), "pmv.json")
	if err := os.WriteFile(garbage, []byte("<html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("catalog", "import", garbage); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("garbage import: %v", err)
	}
	out, err = cli("catalog", "import", golden.Path(t, "catalog/fixture.json"))
	if err != nil || !strings.Contains(out, "release catalog updated: 25 releases from file:fixture.json") ||
		!strings.Contains(out, "new   macOS 26.2 (25C56)") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err = cli("catalog", "show", "--platform", "macOS")
	if err != nil || !strings.Contains(out, "25C771056a") || strings.Contains(out, "iOS") ||
		!strings.Contains(out, "25A362") || !strings.Contains(out, "mdm,expired") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	out, err = cli("catalog", "show", "-o", "json")
	var sum policysvc.CatalogSummary
	if err != nil || json.Unmarshal([]byte(out), &sum) != nil || len(sum.Platforms) != 3 {
		t.Fatalf("show json: %v\n%s", err, out)
	}
}

func TestPolicyApplyCLI(t *testing.T) {
	_, cli := policyCLI(t, true)
	if _, err := cli("catalog", "import", golden.Path(t, "catalog/fixture.json")); err != nil {
		t.Fatal(err)
	}
	file := golden.Path(t, "policy/apply.yaml")
	out, err := cli("policy", "apply", "-f", file, "--dry-run")
	if err != nil || strings.Count(out, "would be created") != 3 {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = cli("policy", "apply", "-f", file)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	golden.Assert(t, golden.Path(t, "policy/apply.golden.txt"), []byte(out))
	if out, err = cli("policy", "apply", "-f", file); err != nil || strings.Count(out, "unchanged") != 3 {
		t.Fatalf("apply again: %v\n%s", err, out)
	}

	expiring := golden.Path(t, "policy/apply-expiring.yaml")
	_, err = cli("policy", "apply", "-f", expiring)
	if err == nil || !strings.Contains(err.Error(), "Apple stops signing iOS 26.1 on 2026-12-08") ||
		!strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("expiring target: %v", err)
	}
	out, err = cli("policy", "apply", "-f", expiring, "--force")
	if err != nil || !strings.Contains(out, "created") ||
		!strings.Contains(out, "warning: phones-261: forced: Apple stops signing iOS 26.1 on 2026-12-08") {
		t.Fatalf("forced: %v\n%s", err, out)
	}

	out, err = cli("policy", "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "policy/list.golden.json"), []byte(out))
	out, err = cli("policy", "show", "macs", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, golden.Path(t, "policy/show.golden.json"), []byte(out))
	if out, err = cli("policy", "list"); err != nil || !strings.Contains(out, "4 policies") ||
		!strings.Contains(out, "14 days after posting, 09:30") {
		t.Fatalf("list table: %v\n%s", err, out)
	}
}

// TestPolicyShowRoundTrip: what show prints, apply takes back unchanged.
func TestPolicyShowRoundTrip(t *testing.T) {
	_, cli := policyCLI(t, true)
	if _, err := cli("catalog", "import", golden.Path(t, "catalog/fixture.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("policy", "apply", "-f", golden.Path(t, "policy/apply.yaml")); err != nil {
		t.Fatal(err)
	}
	shown, err := cli("policy", "show", "phones-latest")
	if err != nil || !strings.Contains(shown, "days_after_posting: 14") || !strings.Contains(shown, "version: 1") {
		t.Fatalf("show: %v\n%s", err, shown)
	}
	file := filepath.Join(t.TempDir(), "shown.yaml")
	if err := os.WriteFile(file, []byte(shown), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("policy", "apply", "-f", file); err != nil || !strings.Contains(out, "unchanged") {
		t.Fatalf("re-apply: %v\n%s", err, out)
	}
	edited := strings.Replace(shown, "days_after_posting: 14", "days_after_posting: 10", 1)
	if err := os.WriteFile(file, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := cli("policy", "apply", "-f", file)
	if err != nil || !strings.Contains(out, "deadline.days_after_posting: 14 → 10") {
		t.Fatalf("edit: %v\n%s", err, out)
	}
	// The file still says version 1: applying it again would undo a change
	// it never saw, so it is refused.
	if _, err := cli("policy", "apply", "-f", file); err == nil || !strings.Contains(err.Error(), "at version 2, the change was based on version 1") {
		t.Fatalf("stale file: %v", err)
	}
}

func TestPolicyPauseResumeDeleteCLI(t *testing.T) {
	_, cli := policyCLI(t, true)
	if _, err := cli("policy", "apply", "-f", golden.Path(t, "policy/apply.yaml")); err != nil {
		t.Fatal(err)
	}
	var res policysvc.PolicyResult
	out, err := cli("policy", "pause", "macs", "-o", "json")
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Result != "paused" || !res.Policy.Paused {
		t.Fatalf("pause: %v\n%s", err, out)
	}
	if _, err := cli("policy", "resume", "macs", "--version", "1"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("stale resume: %v", err)
	}
	if out, err = cli("policy", "resume", "macs", "--version", "2"); err != nil || !strings.Contains(out, "resumed") {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if out, err = cli("policy", "delete", "macs"); err != nil || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if _, err := cli("policy", "show", "macs"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("show deleted: %v", err)
	}
}

func TestGroupCLI(t *testing.T) {
	env, cli := policyCLI(t, false)
	mac := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	out, err := cli("group", "add", mac.UDID(), "pilot")
	if err != nil || !strings.Contains(out, "added to pilot (groups: pilot)") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if out, err = cli("group", "add", mac.UDID(), "pilot"); err != nil || !strings.Contains(out, "already in pilot") {
		t.Fatalf("add twice: %v\n%s", err, out)
	}
	out, err = cli("group", "list", "-o", "json")
	if err != nil || strings.TrimSpace(out) != "[\n  {\n    \"name\": \"pilot\",\n    \"members\": 1\n  }\n]" {
		t.Fatalf("list json: %v\n%s", err, out)
	}
	if out, err = cli("group", "show", "pilot"); err != nil || !strings.Contains(out, mac.UDID()) {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if out, err = cli("group", "remove", mac.UDID(), "pilot"); err != nil || !strings.Contains(out, "removed from pilot (groups: -)") {
		t.Fatalf("remove: %v\n%s", err, out)
	}
	if out, err = cli("group", "list"); err != nil || strings.Contains(out, "pilot") {
		t.Fatalf("empty list: %v\n%s", err, out)
	}
	if _, err := cli("group", "add", "NOPE", "pilot"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown device: %v", err)
	}
}
