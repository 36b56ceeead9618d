package enforcement

import (
	"fmt"
	"testing"
	"time"
)

// benchFleet is n devices cycling through models, versions and states so
// every branch of Evaluate is exercised.
func benchFleet(n int) []DeviceFacts {
	macVersions := []string{"13.6.1", "14.8", "15.6", "26.1", "26.2"}
	macBoards := []string{"J314sAP", "J700AP", "Mac-AA95B1DDAB278B95", "VMA2MACOSAP", "J413AP"}
	phoneVersions := []string{"16.7.10", "17.7.10", "18.7.2", "26.1", "26.2"}
	phoneModels := []string{"iPhone15,2", "iPhone18,1", "iPad7,5", "iPhone10,4", "iPad13,1"}
	states := []string{"", "none", "downloading", "installing", "failed"}
	fleet := make([]DeviceFacts, n)
	for i := range fleet {
		var f DeviceFacts
		if i%2 == 0 {
			f = baseMac()
			f.OSVersion, f.SoftwareUpdateDeviceID = macVersions[i/2%5], macBoards[i/10%5]
		} else {
			f = baseIPhone()
			f.OSVersion, f.Model = phoneVersions[i/2%5], phoneModels[i/10%5]
		}
		f.ID = fmt.Sprintf("dev-%06d", i)
		if s := states[i/50%5]; s != "" {
			f.DDM = &DDMFacts{InstallState: s, PendingOSVersion: "26.2", FailureCount: i % 3, StatusUpdatedAt: fixtureNow,
				Declarations: []DeclarationStatus{{Identifier: DeclarationIdentifier("latest-all"), Active: true, Valid: "valid"}}}
		}
		f.Supervised = i%7 != 0
		f.PushFailing = i%11 == 0
		fleet[i] = f
	}
	return fleet
}

// BenchmarkEvaluate100k evaluates a 100,000-device fleet against one
// policy per iteration. Target: well under 2 s of CPU per iteration.
func BenchmarkEvaluate100k(b *testing.B) {
	c := fixtureCatalog(b)
	fleet := benchFleet(100_000)
	p := latestPolicy()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range fleet {
			_ = Evaluate(fleet[i], p, c, fixtureNow, Options{})
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/device")
}

// The same budget as a test, so a slowdown fails CI and not only a
// benchmark nobody runs. Generous: race detector and slow CI machines.
func TestEvaluateIsCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	c := fixtureCatalog(t)
	fleet := benchFleet(20_000)
	p := latestPolicy()
	start := time.Now()
	for i := range fleet {
		_ = Evaluate(fleet[i], p, c, fixtureNow, Options{})
	}
	perDevice := time.Since(start) / time.Duration(len(fleet))
	if limit := 200 * time.Microsecond; perDevice > limit {
		t.Errorf("Evaluate takes %v per device; 100k devices would need %v", perDevice, perDevice*100_000)
	}
}
