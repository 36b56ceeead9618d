package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
)

// Metrics is the process accounting the metrics endpoint serves. Load
// tools (tidemark bench) read it before and after a measured phase, so
// every figure is cumulative or a current level, never a rate.
type Metrics struct {
	CPUUserSeconds   float64 `json:"cpu_user_seconds"`
	CPUSystemSeconds float64 `json:"cpu_system_seconds"`
	// CPUSeconds is user+system CPU time of the whole process since start.
	CPUSeconds   float64 `json:"cpu_seconds"`
	RSSBytes     int64   `json:"rss_bytes"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	// RSSAnonBytes and RSSFileBytes split RSSBytes: memory the process
	// holds, and pages of mapped files (mostly the database).
	RSSAnonBytes int64  `json:"rss_anon_bytes"`
	RSSFileBytes int64  `json:"rss_file_bytes"`
	Goroutines   int    `json:"goroutines"`
	GoHeapBytes  uint64 `json:"go_heap_bytes"`
	DBSizeBytes  int64  `json:"db_size_bytes"`
	// DBReadTxs counts read transactions started since open.
	DBReadTxs int `json:"db_read_txs"`
	// DBPageWrites and DBWriteSeconds are bbolt's write accounting of
	// committed transactions (page writes, time spent writing them).
	DBPageWrites   int64   `json:"db_page_writes"`
	DBWriteSeconds float64 `json:"db_write_seconds"`
	// DBFreePages is pages the database file holds but does not use.
	DBFreePages int `json:"db_free_pages"`
	// At is when the snapshot was taken.
	At time.Time `json:"at"`
}

// MetricsHandler serves the process metrics as JSON. It is cheap enough to
// poll (no stop-the-world memory statistics); mount it behind the admin key.
func (s *Server) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(s.Metrics())
	})
}

// MetricsRoute registers GET /v1/metrics on the admin API, so the key
// guards it: pass api.WithRoutes(s.MetricsRoute) to api.New.
func (s *Server) MetricsRoute(mux *http.ServeMux, _ *api.Server) {
	mux.Handle("GET /v1/metrics", s.MetricsHandler())
}

// Metrics takes a snapshot of the process accounting.
func (s *Server) Metrics() Metrics {
	m := Metrics{Goroutines: runtime.NumGoroutine(), At: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.CPUUserSeconds = time.Duration(ru.Utime.Nano()).Seconds()
		m.CPUSystemSeconds = time.Duration(ru.Stime.Nano()).Seconds()
		m.CPUSeconds = m.CPUUserSeconds + m.CPUSystemSeconds
		// ru_maxrss is KiB on Linux; /proc below is preferred when present.
		m.PeakRSSBytes = int64(ru.Maxrss) * 1024
	}
	if pm, ok := ReadProcStatus("self"); ok {
		m.RSSBytes, m.PeakRSSBytes, m.RSSAnonBytes, m.RSSFileBytes = pm.RSS, pm.PeakRSS, pm.RSSAnon, pm.RSSFile
	}
	m.GoHeapBytes = heapBytes()
	if info, err := os.Stat(filepath.Join(s.cfg.DataDir, DBFile)); err == nil {
		m.DBSizeBytes = info.Size()
	}
	st := s.store.DB().Stats()
	m.DBReadTxs, m.DBFreePages = st.TxN, st.FreePageN
	m.DBPageWrites, m.DBWriteSeconds = st.TxStats.GetWrite(), st.TxStats.GetWriteTime().Seconds()
	return m
}

// ProcMemory is a process's resident memory from /proc/<pid>/status.
// RSSFile counts pages of mapped files (the bbolt file), which the kernel
// can drop and re-read; RSSAnon is memory only the process holds.
type ProcMemory struct {
	RSS, PeakRSS, RSSAnon, RSSFile int64
}

// ReadProcStatus reads the memory of a process ("self" or a pid); ok is
// false off Linux.
func ReadProcStatus(pid string) (m ProcMemory, ok bool) {
	data, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return m, false
	}
	fields := map[string]*int64{"VmRSS:": &m.RSS, "VmHWM:": &m.PeakRSS, "RssAnon:": &m.RSSAnon, "RssFile:": &m.RSSFile}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 2 {
			continue
		}
		if dst, ok := fields[string(f[0])]; ok {
			*dst = kibBytes(f[1])
		}
	}
	return m, m.RSS > 0
}

// kibBytes parses a kB count of /proc into bytes.
func kibBytes(field []byte) int64 {
	n, err := strconv.ParseInt(string(field), 10, 64)
	if err != nil {
		return 0
	}
	return n * 1024
}

// heapBytes is the live-and-unswept heap, read through runtime/metrics
// because runtime.ReadMemStats stops the world.
func heapBytes() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}
