package bolt

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidemark-mdm/tidemark/storage"
)

var benchAt = time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)

// benchFleet opens a store holding n enrolled devices, written in one
// transaction so setup does not dominate the run.
func benchFleet(b *testing.B, n int) (*Store, []string) {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ids := make([]string, n)
	err = s.update(func(tx *bolt.Tx) error {
		for i := range ids {
			ids[i] = fmt.Sprintf("%08X-%04X-%04X-%04X-%012X", i, i%0xffff, 0x4000, 0x8000, i)
			d := &storage.Device{ID: ids[i], Enrolled: true, FirstSeen: benchAt, EnrolledAt: benchAt,
				CertHash: "sha256:" + ids[i], Topic: "com.apple.mgmt.External.bench", PushToken: []byte(ids[i]),
				Facts: storage.Facts{Platform: "macOS", OSVersion: "15.3", SerialNumber: fmt.Sprintf("C02X%07d", i)}}
			if err := saveDevice(tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, ids
}

var benchRaw = []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key>
<string>DeviceInformation</string><key>Queries</key><array><string>OSVersion</string>
<string>BuildVersion</string></array></dict><key>CommandUUID</key><string>x</string></dict></plist>`)

// BenchmarkEnqueue10k queues one command to 10,000 enrolled devices in one
// call: the cost of a fleet-wide action (one transaction, one fsync).
func BenchmarkEnqueue10k(b *testing.B) {
	s, ids := benchFleet(b, 10000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cmd := storage.Command{UUID: fmt.Sprintf("bench-%d", i), RequestType: "DeviceInformation", Raw: benchRaw, CreatedAt: benchAt}
		if err := s.Enqueue(b.Context(), cmd, ids); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleNextCommand is the commonest request: a device checks in
// and has nothing queued.
func BenchmarkIdleNextCommand(b *testing.B) {
	s, ids := benchFleet(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		cmd, err := s.NextCommand(b.Context(), ids[5000], true, benchAt)
		if err != nil || cmd != nil {
			b.Fatalf("NextCommand = %v, %v; want an empty queue", cmd, err)
		}
	}
}

// BenchmarkIdleNextCommandParallel is the same from many devices at once:
// empty-queue answers must not contend for the write lock.
func BenchmarkIdleNextCommandParallel(b *testing.B) {
	s, ids := benchFleet(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			cmd, err := s.NextCommand(b.Context(), ids[i%len(ids)], true, benchAt)
			if err != nil || cmd != nil {
				b.Errorf("NextCommand = %v, %v; want an empty queue", cmd, err)
				return
			}
		}
	})
}
