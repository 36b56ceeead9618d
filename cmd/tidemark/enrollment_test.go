package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enrollment"
	"github.com/tidemark-mdm/tidemark/storage/bolt"
)

type noCatalog struct{}

func (noCatalog) Catalog(context.Context) (*enforcement.Catalog, error) {
	return nil, enforcement.ErrNoCatalog
}

// runEnrollment runs `tidemark enrollment ...` against an admin API that
// serves only the enrollment routes (the command is tested before it is
// added to the root command).
func runEnrollment(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	g := &globalFlags{server: url, apiKey: "k", output: "table"}
	cmd := newEnrollmentCmd(g)
	cmd.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "")
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestEnrollmentMinOSCommands(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	admin := enrollment.NewAdmin(st, noCatalog{}, time.Now, quiet)
	ts := httptest.NewServer(api.New("k", nil, nil, nil, nil, admin.APIOptions()...))
	defer ts.Close()

	out, err := runEnrollment(t, ts.URL, "min-os", "show")
	if err != nil || !strings.Contains(out, "no minimum-OS rules") {
		t.Fatalf("show empty: %v\n%s", err, out)
	}
	out, err = runEnrollment(t, ts.URL, "min-os", "set", "--rule", "macOS:15.4:name=fleet", "--rule", "iPadOS:latest-in-major:model=iPad13,*")
	if err != nil || !strings.Contains(out, ">= 15.4") || !strings.Contains(out, "iPad13,*") || !strings.Contains(out, "warning: no release catalog") {
		t.Fatalf("set rules: %v\n%s", err, out)
	}
	if _, err := runEnrollment(t, ts.URL, "min-os", "set", "--allow-unsigned-machine-info"); err != nil {
		t.Fatal(err)
	}
	out, err = runEnrollment(t, ts.URL, "min-os", "show", "-o", "json")
	var v enrollment.SettingsView
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || len(v.Rules) != 2 || !v.AllowUnsigned {
		t.Fatalf("flag-only set must keep the rules: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(file, []byte(`{"rules":[{"platform":"iOS","mode":"latest"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err = runEnrollment(t, ts.URL, "min-os", "set", "-f", file); err != nil || !strings.Contains(out, "unsigned MachineInfo: refused") {
		t.Fatalf("set from file: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"min-os", "set"},
		{"min-os", "set", "--clear", "--rule", "iOS:latest"},
		{"min-os", "set", "--rule", "tvOS:17.0"},
	} {
		if out, err := runEnrollment(t, ts.URL, bad...); err == nil {
			t.Errorf("%v accepted:\n%s", bad, out)
		}
	}
	if out, err = runEnrollment(t, ts.URL, "min-os", "set", "--clear"); err != nil || !strings.Contains(out, "no minimum-OS rules") {
		t.Fatalf("clear: %v\n%s", err, out)
	}
}
