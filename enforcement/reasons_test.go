package enforcement

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// REASONS.md is generated from the catalogue; run with -update after
// changing it.
func TestReasonsDoc(t *testing.T) {
	golden.Assert(t, "REASONS.md", renderReasons(Reasons()))
}

func renderReasons(list []ReasonInfo) []byte {
	var b bytes.Buffer
	b.WriteString("# Why a device is not updated: reason codes\n\n")
	b.WriteString("Generated from `enforcement/reasons_catalogue.go` by `go test ./enforcement -run TestReasonsDoc -update`;\n")
	b.WriteString("do not edit by hand. `{placeholders}` are filled with the device's facts.\n\n")
	b.WriteString("Severity: **info** nothing is wrong; **waiting** transient, the server retries by itself;\n")
	b.WriteString("**blocking** nothing happens until someone acts; **failed** the update was tried and failed.\n\n")
	b.WriteString("| Code | Severity | Explanation | Remedy |\n|---|---|---|---|\n")
	for _, r := range list {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Code, r.Severity, escapeCell(r.Explanation), escapeCell(r.Remedy))
	}
	return b.Bytes()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Every Code constant declared in reasons.go has a catalogue entry, and the
// catalogue has nothing else.
func TestCatalogueCoversEveryCode(t *testing.T) {
	declared := declaredCodes(t)
	seen := map[Code]bool{}
	for _, r := range Reasons() {
		if seen[r.Code] {
			t.Errorf("duplicate entry %s", r.Code)
		}
		seen[r.Code] = true
		if !declared[r.Code] {
			t.Errorf("catalogue entry %s has no constant", r.Code)
		}
		checkEntry(t, r)
	}
	for c := range declared {
		if !seen[c] {
			t.Errorf("code %s has no catalogue entry", c)
		}
	}
	for _, c := range []Code{"not_supervised", "bootstrap_token_missing", "awaiting_bootstrap_token", "battery_low",
		"insufficient_space", "not_checking_in", "push_failing", "not_in_scope", "no_release_for_model", "release_expired",
		"declaration_rejected", "update_failed", "deadline_passed", "status_unknown", "product_key_not_found",
		"schedule_failed", "status_error_no_detail", "download_stalled", "idle_after_install_request",
		"network_insufficient", "install_action_unsupported", "personalization_failed", "max_runtime_exceeded",
		"fallback_requested", "fallback_issued", "waiting_for_maintenance_window"} {
		if _, ok := LookupReason(c); !ok {
			t.Errorf("required code %s missing", c)
		}
	}
}

func checkEntry(t *testing.T, r ReasonInfo) {
	t.Helper()
	switch r.Severity {
	case SeverityInfo, SeverityWaiting, SeverityBlocking, SeverityFailed:
	default:
		t.Errorf("%s: severity %q", r.Code, r.Severity)
	}
	for _, s := range []string{r.Explanation, r.Remedy} {
		if s == "" || strings.Contains(s, "\n") || !strings.HasSuffix(s, ".") {
			t.Errorf("%s: %q must be one non-empty line ending with a period", r.Code, s)
		}
	}
}

func declaredCodes(t *testing.T) map[Code]bool {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "reasons.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[Code]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || fmt.Sprint(vs.Type) != "Code" {
			return true
		}
		for _, v := range vs.Values {
			if lit, ok := v.(*ast.BasicLit); ok {
				s, _ := strconv.Unquote(lit.Value)
				out[Code(s)] = true
			}
		}
		return true
	})
	if len(out) < 30 {
		t.Fatalf("found only %d Code constants; parser walk broken?", len(out))
	}
	return out
}

func TestNewReason(t *testing.T) {
	r := NewReason(CodeUpdateFailed, "count", "2", "detail", "Unable to verify {count}")
	if r.Message != "The update failed: Unable to verify {count} (failures so far: 2)." {
		t.Errorf("message %q: a value must not be expanded again", r.Message)
	}
	if r.Severity != SeverityFailed || r.Details["count"] != "2" {
		t.Errorf("reason %+v", r)
	}
	if r := NewReason(CodeNotSupervised); r.Message == "" || r.Remedy == "" || r.Details != nil {
		t.Errorf("plain reason %+v", r)
	}
	if r := NewReason("no_such_code"); !strings.Contains(r.Message, "no_such_code") {
		t.Errorf("unknown code rendered as %q", r.Message)
	}
	if r := NewReason(CodeBatteryLow); !strings.Contains(r.Message, "{battery}") {
		t.Errorf("missing detail must stay visible, got %q", r.Message)
	}
}
