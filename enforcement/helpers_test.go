package enforcement

import (
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// fixtureNow is "today" in the fixture's world.
var fixtureNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

var (
	fixtureOnce sync.Once
	fixtureCat  *Catalog
	fixtureErr  error
)

// fixtureCatalog parses testdata/catalog/fixture.json once per test binary.
func fixtureCatalog(t testing.TB) *Catalog {
	t.Helper()
	fixtureOnce.Do(func() {
		raw := golden.Read(t, golden.Path(t, "catalog/fixture.json"))
		fixtureCat, fixtureErr = ParseCatalog(raw)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureCat
}

func realCatalog(t testing.TB, date string) *Catalog {
	t.Helper()
	c, err := ParseCatalog(golden.Read(t, golden.Path(t, "catalog/real/pmv-"+date+".json")))
	if err != nil {
		t.Fatalf("pmv-%s: %v", date, err)
	}
	return c
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// baseMac is a healthy, supervised Apple silicon Mac on macOS 26.1 seen a
// minute ago; tests change one thing at a time.
func baseMac() DeviceFacts {
	return DeviceFacts{
		ID: "mac-1", Platform: "macOS", OSVersion: "26.1", BuildVersion: "25B78",
		InfoUpdatedAt: fixtureNow.Add(-time.Hour), Model: "Mac15,3", SoftwareUpdateDeviceID: "J314sAP",
		Supervised: true, AppleSilicon: true, BootstrapEscrowed: true, BootstrapRequired: ptr(true),
		EnrolledAt: fixtureNow.Add(-90 * 24 * time.Hour), LastSeen: fixtureNow.Add(-time.Minute),
		Battery: ptr(0.8), OnPower: ptr(false), FreeSpace: ptr(int64(200e9)), Enrolled: true,
		Groups: []string{"staff"},
	}
}

// baseIPhone is a supervised iPhone 14 Pro on iOS 26.1.
func baseIPhone() DeviceFacts {
	return DeviceFacts{
		ID: "iphone-1", Platform: "iOS", OSVersion: "26.1", BuildVersion: "23B85",
		InfoUpdatedAt: fixtureNow.Add(-time.Hour), Model: "iPhone15,2",
		Supervised: true, EnrolledAt: fixtureNow.Add(-90 * 24 * time.Hour), LastSeen: fixtureNow.Add(-time.Minute),
		Battery: ptr(0.9), FreeSpace: ptr(int64(50e9)), Enrolled: true, Groups: []string{"staff"},
	}
}

// latestPolicy enforces the latest release 14 days after posting at 17:00.
func latestPolicy() Policy {
	return Policy{
		ID: "latest-all", Name: "Latest everywhere", Scope: Scope{All: true},
		Target:   Target{Kind: TargetLatest},
		Deadline: Deadline{DaysAfterPosting: ptr(14), TimeOfDay: "17:00"},
	}
}

func versionPolicy(version, deadline string, platforms ...string) Policy {
	return Policy{
		ID: "pin-" + version, Name: "Pin " + version, Scope: Scope{All: true, Platforms: platforms},
		Target:   Target{Kind: TargetVersion, OSVersion: version},
		Deadline: Deadline{LocalDateTime: deadline},
	}
}
