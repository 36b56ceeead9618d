package reconcile

import (
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/storage"
)

func TestBuildFacts(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	no, minus := false, -1.0
	free := 12.5
	base := func() *storage.Device {
		return &storage.Device{ID: "D1", Enrolled: true, EnrolledAt: t0, Facts: storage.Facts{
			Platform: "macOS", OSVersion: "15.7.1", BuildVersion: "24G231", DeviceInfoAt: t0, AvailableCapacityGB: &free}}
	}
	t.Run("supervision only when reported", func(t *testing.T) {
		if f := BuildFacts(base(), nil, nil); f.Supervised {
			t.Error("unknown supervision taken as supervised")
		}
		d := base()
		d.Facts.Supervised = &no
		if f := BuildFacts(d, nil, nil); f.Supervised {
			t.Error("reported false ignored")
		}
	})
	t.Run("disabled push is not a failing push", func(t *testing.T) {
		d := base()
		d.LastPush = &storage.Push{Reason: "push disabled: no push certificate"}
		if BuildFacts(d, nil, nil).PushFailing {
			t.Error("disabled push reported as failing")
		}
		d.LastPush = &storage.Push{Status: 500, Reason: "InternalServerError"}
		if !BuildFacts(d, nil, nil).PushFailing {
			t.Error("a failed push not reported")
		}
	})
	t.Run("desktop without battery is on power; space in bytes", func(t *testing.T) {
		d := base()
		d.Facts.BatteryLevel = &minus
		f := BuildFacts(d, nil, nil)
		if f.Battery != nil || f.OnPower == nil || !*f.OnPower {
			t.Errorf("battery %v on power %v", f.Battery, f.OnPower)
		}
		if f.FreeSpace == nil || *f.FreeSpace != 12_500_000_000 {
			t.Errorf("free space %v", f.FreeSpace)
		}
	})
	t.Run("newest report of the OS version wins", func(t *testing.T) {
		st := &ddm.DeviceStatus{LastReportAt: t0.Add(time.Hour),
			OSVersion:      &ddm.Stamped[string]{Value: "26.2", UpdatedAt: t0.Add(time.Hour)},
			OSBuildVersion: &ddm.Stamped[string]{Value: "25C56", UpdatedAt: t0.Add(time.Hour)}}
		f := BuildFacts(base(), st, nil)
		if f.OSVersion != "26.2" || f.BuildVersion != "25C56" || !f.InfoUpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("got %s %s %v", f.OSVersion, f.BuildVersion, f.InfoUpdatedAt)
		}
		old := &ddm.DeviceStatus{OSVersion: &ddm.Stamped[string]{Value: "15.6", UpdatedAt: t0.Add(-time.Hour)}}
		if f := BuildFacts(base(), old, nil); f.OSVersion != "15.7.1" {
			t.Errorf("older DDM report won: %s", f.OSVersion)
		}
	})
}
