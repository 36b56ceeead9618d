package policysvc

import (
	"slices"
	"strings"
	"testing"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/golden"
)

func TestParsePolicyFileShapes(t *testing.T) {
	got, err := ParsePolicyFile(golden.Read(t, golden.Path(t, "policy/apply.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []string{"macs", "phones-latest", "ipads-18"}) {
		t.Fatalf("ids %v", ids)
	}
	macs, phones, ipads := got[0], got[1], got[2]
	if macs.Target.OSVersion != "26.2" || !macs.IncludeSecurityImprovements || !macs.Scope.All ||
		macs.Deadline.LocalDateTime != "2026-12-04T17:00:00" {
		t.Errorf("single document: %+v", macs)
	}
	if phones.Target.Kind != enforcement.TargetLatest || phones.Deadline.DaysAfterPosting == nil ||
		*phones.Deadline.DaysAfterPosting != 14 || phones.Notifications == nil || *phones.Notifications {
		t.Errorf("list document: %+v", phones)
	}
	if ipads.Target.Major != 18 || !slices.Equal(ipads.Scope.DeviceIDs, []string{"00008103-000A1B2C3D4E5F60"}) {
		t.Errorf("wrapped document: %+v", ipads)
	}
}

func TestParsePolicyFileRefusals(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"typo in a field", "id: a\nname: A\ntarget:\n  kind: version\n  os_versoin: \"26.2\"\n", "line 5: field os_versoin not found"},
		{"typo in a list", "- id: a\n  nmae: A\n", "line 2: field nmae not found"},
		{"extra key beside policies", "policies: []\nversion: 2\n", "field version not found"},
		{"duplicate id", "- id: a\n- id: a\n", `policy id "a" appears twice`},
		{"empty", "# nothing\n", "no policy found"},
		{"not YAML", "id: [unclosed\n", "document 1"},
		{"wrong type", "id: a\ndeadline:\n  days_after_posting: soon\n", "document 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicyFile([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// FuzzParsePolicyFile: any input gives policies or an error, never a panic.
func FuzzParsePolicyFile(f *testing.F) {
	f.Add(golden.Read(f, golden.Path(f, "policy/apply.yaml")))
	f.Add(golden.Read(f, golden.Path(f, "policy/apply-expiring.yaml")))
	f.Add([]byte("policies:\n  - id: a\n---\n- id: b\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		policies, err := ParsePolicyFile(data)
		if err == nil && len(policies) == 0 {
			t.Fatal("no error and no policy")
		}
	})
}
