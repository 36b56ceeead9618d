package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
)

// run executes the CLI in-process against env.
func run(t *testing.T, env *testenv.Env, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"--server", env.URL, "--api-key", env.Server.APIKey()}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestDeviceListAndShow(t *testing.T) {
	env := testenv.Start(t)
	mac := env.Enroll(t, testenv.Mac(1, "15.7.1", "24G231"), 0)
	env.Enroll(t, testenv.IPhone(2, "18.6", "22G86"), 1)

	out, err := run(t, env, "device", "list", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var devices []api.Device
	if err := json.Unmarshal([]byte(out), &devices); err != nil || len(devices) != 2 {
		t.Fatalf("json list: %v %q", err, out)
	}
	out, err = run(t, env, "device", "list")
	if err != nil || !strings.Contains(out, "PLATFORM") || !strings.Contains(out, "iOS") || !strings.Contains(out, "2 device(s)") {
		t.Fatalf("table list: %v\n%s", err, out)
	}
	out, err = run(t, env, "device", "show", mac.UDID())
	if err != nil || !strings.Contains(out, "15.7.1") || !strings.Contains(out, "not escrowed") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if _, err := run(t, env, "device", "show", "NOPE"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown device: %v", err)
	}
	if _, err := run(t, env, "device", "list", "-o", "yaml"); err == nil {
		t.Fatal("bad --output accepted")
	}
}

func TestCommandLifecycle(t *testing.T) {
	env := testenv.Start(t)
	d := env.Enroll(t, testenv.IPhone(1, "18.6", "22G86"), 0)
	out, err := run(t, env, "command", "device-info", "--device", d.UDID(), "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var resp api.EnqueueResponse
	if err := json.Unmarshal([]byte(out), &resp); err != nil || resp.RequestType != "DeviceInformation" {
		t.Fatalf("enqueue: %v %q", err, out)
	}
	out, err = run(t, env, "command", "list", "--device", d.UDID())
	if err != nil || !strings.Contains(out, resp.CommandUUID) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err := d.Connect(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, env, "command", "result", "--device", d.UDID(), resp.CommandUUID)
	if err != nil || !strings.Contains(out, "Acknowledged") || !strings.Contains(out, "QueryResponses") {
		t.Fatalf("result: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "cmd.plist")
	raw := `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key><string>SecurityInfo</string></dict><key>CommandUUID</key><string>CLI-RAW-1</string></dict></plist>`
	if err := os.WriteFile(file, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err = run(t, env, "command", "send", "--all", "-f", file); err != nil || !strings.Contains(out, "CLI-RAW-1") {
		t.Fatalf("send: %v %s", err, out)
	}
	if out, err = run(t, env, "command", "cancel", "--device", d.UDID(), "CLI-RAW-1"); err != nil {
		t.Fatalf("cancel: %v %s", err, out)
	}
	out, err = run(t, env, "events", "--device", d.UDID())
	if err != nil || !strings.Contains(out, "command_cancelled") {
		t.Fatalf("events: %v\n%s", err, out)
	}
}

func TestEnrollProfileAndChallenge(t *testing.T) {
	env := testenv.Start(t)
	file := filepath.Join(t.TempDir(), "enroll.mobileconfig")
	if _, err := run(t, env, "enroll-profile", "--one-time", "-O", file); err != nil {
		t.Fatal(err)
	}
	p, err := os.ReadFile(file)
	if err != nil || !bytes.Contains(p, []byte("com.apple.security.scep")) || !bytes.Contains(p, []byte("/mdm/checkin")) {
		t.Fatalf("profile: %v", err)
	}
	out, err := run(t, env, "challenge", "create", "-o", "json")
	if err != nil || !strings.Contains(out, `"challenge"`) {
		t.Fatalf("challenge: %v %s", err, out)
	}
	out, err = run(t, env, "push-cert", "show")
	if err != nil || !strings.Contains(out, "pushes are off") {
		t.Fatalf("push-cert show: %v %s", err, out)
	}
}

func TestLocalServerDefaults(t *testing.T) {
	env := testenv.Start(t)
	// Without --server/--api-key the CLI reads the data dir's api.key and admin.url.
	if err := os.WriteFile(filepath.Join(env.DataDir, "admin.url"), []byte(env.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"device", "list"})
	t.Setenv("TIDEMARK_DATA_DIR", env.DataDir)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("local defaults: %v", err)
	}
	if !strings.Contains(out.String(), "0 device(s)") {
		t.Errorf("output %q", out.String())
	}
	t.Setenv("TIDEMARK_DATA_DIR", t.TempDir())
	root = newRootCmd()
	root.SetArgs([]string{"device", "list"})
	root.SetOut(&out)
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "start the server first") {
		t.Fatalf("missing api.key: %v", err)
	}
}
