package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/server"
)

// userHZ is the unit of /proc/<pid>/stat times; Linux fixes it at 100
// for user space on every architecture we build for.
const userHZ = 100

// procMetrics reads another process's accounting from /proc.
func procMetrics(pid int, dbPath string) (server.Metrics, error) {
	m := server.Metrics{At: time.Now()}
	user, sys, err := procCPU(pid)
	if err != nil {
		return m, err
	}
	m.CPUUserSeconds, m.CPUSystemSeconds, m.CPUSeconds = user, sys, user+sys
	if pm, ok := server.ReadProcStatus(strconv.Itoa(pid)); ok {
		m.RSSBytes, m.PeakRSSBytes, m.RSSAnonBytes, m.RSSFileBytes = pm.RSS, pm.PeakRSS, pm.RSSAnon, pm.RSSFile
	}
	if info, err := os.Stat(dbPath); err == nil {
		m.DBSizeBytes = info.Size()
	}
	return m, nil
}

// procCPU returns utime and stime of pid in seconds.
func procCPU(pid int) (user, sys float64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the server's CPU time: %w", err)
	}
	return parseProcStat(data)
}

// parseProcStat reads fields 14 and 15 (utime, stime) of a stat line. The
// command name in field 2 may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseProcStat(data []byte) (user, sys float64, err error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, 0, fmt.Errorf("malformed /proc stat line")
	}
	f := bytes.Fields(data[end+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("malformed /proc stat line: %d fields", len(f))
	}
	u, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	s, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("malformed /proc stat times")
	}
	return float64(u) / userHZ, float64(s) / userHZ, nil
}
