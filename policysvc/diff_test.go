package policysvc

import (
	"slices"
	"testing"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

func TestDiffPolicies(t *testing.T) {
	base := func() *enforcement.Policy {
		p := macPolicy("p", "26.2", "2026-12-04T17:00:00")
		return &p
	}
	tests := []struct {
		name   string
		mutate func(p *enforcement.Policy)
		want   []string
	}{
		{"server-owned fields are not changes", func(p *enforcement.Policy) {
			p.Version, p.Paused, p.CreatedAt = 9, true, fixtureNow
		}, nil},
		{"one nested field", func(p *enforcement.Policy) { p.Target.OSVersion = "26.1" },
			[]string{`target.os_version: "26.2" → "26.1"`}},
		{"set and unset", func(p *enforcement.Policy) {
			p.Deadline = enforcement.Deadline{DaysAfterPosting: ptr(14)}
			p.Notifications = ptr(false)
		}, []string{
			`deadline.days_after_posting: (none) → 14`,
			`deadline.local_date_time: "2026-12-04T17:00:00" → (none)`,
			`notifications: (none) → false`,
		}},
		{"lists are one value", func(p *enforcement.Policy) { p.Scope.Platforms = []string{"macOS", "iOS"} },
			[]string{`scope.platforms: ["macOS"] → ["macOS","iOS"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base()
			tt.mutate(next)
			if got := diffPolicies(base(), next); !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	created := diffPolicies(nil, base())
	want := []string{
		`deadline.local_date_time: (none) → "2026-12-04T17:00:00"`, `name: (none) → "Macs to 26.2"`,
		`scope.all: (none) → true`, `scope.platforms: (none) → ["macOS"]`,
		`target.kind: (none) → "version"`, `target.os_version: (none) → "26.2"`,
	}
	if !slices.Equal(created, want) {
		t.Errorf("a new policy lists its fields:\n%q", created)
	}
}
