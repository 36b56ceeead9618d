package rollout

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// fixtureNow is "today" in the catalog fixture's world.
var fixtureNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

var (
	catOnce sync.Once
	catVal  *enforcement.Catalog
	catErr  error
)

func fixtureCatalog(t testing.TB) *enforcement.Catalog {
	t.Helper()
	catOnce.Do(func() {
		catVal, catErr = enforcement.ParseCatalog(golden.Read(t, golden.Path(t, "catalog/fixture.json")))
	})
	if catErr != nil {
		t.Fatal(catErr)
	}
	return catVal
}

func ptr[T any](v T) *T { return &v }

// ringed is a policy to macOS 26.2 by 2026-12-01 17:00 (a Tuesday) in
// three rings: the "it" group, 30 % of the rest, then everyone else.
func ringed() enforcement.Policy {
	return enforcement.Policy{
		ID: "ringed", Name: "Ringed", Scope: enforcement.Scope{All: true, Platforms: []string{"macOS"}},
		Target:   enforcement.Target{Kind: enforcement.TargetVersion, OSVersion: "26.2"},
		Deadline: enforcement.Deadline{LocalDateTime: "2026-12-01T17:00:00"},
		Rings: []enforcement.Ring{
			{Name: "it", Groups: []string{"it"}},
			{Name: "pilot", Percent: 30, DeadlineOffsetDays: 3},
			{Name: "broad", DeadlineOffsetDays: 7},
		},
	}
}

// mac is a healthy supervised Mac on 26.1 seen a minute ago.
func mac(id string, groups ...string) enforcement.DeviceFacts {
	return enforcement.DeviceFacts{
		ID: id, Platform: "macOS", OSVersion: "26.1", BuildVersion: "25B78",
		InfoUpdatedAt: fixtureNow.Add(-time.Hour), Model: "Mac15,3", SoftwareUpdateDeviceID: "J314sAP",
		Supervised: true, AppleSilicon: true, BootstrapEscrowed: true, BootstrapRequired: ptr(true),
		EnrolledAt: fixtureNow.Add(-90 * 24 * time.Hour), LastSeen: fixtureNow.Add(-time.Minute),
		Battery: ptr(0.8), OnPower: ptr(false), FreeSpace: ptr(int64(200e9)), Enrolled: true, Groups: groups,
	}
}

// deviceIn finds a device id the hash puts in ring want of p.
func deviceIn(t *testing.T, p *enforcement.Policy, want int) string {
	t.Helper()
	for i := range 1000 {
		f := mac(fmt.Sprintf("dev-%d", i))
		if RingIndex(p, &f) == want {
			return f.ID
		}
	}
	t.Fatalf("no device lands in ring %d", want)
	return ""
}

// eval builds an evaluation for tally tests.
func eval(id string, c enforcement.Compliance, step enforcement.Step, code enforcement.Code, deadline string) enforcement.Evaluation {
	ev := enforcement.Evaluation{DeviceID: id, Compliance: c, Step: step, Target: enforcement.ResolvedTarget{LocalDeadline: deadline}}
	if code != "" {
		ev.Reason = enforcement.NewReason(code)
	}
	return ev
}
