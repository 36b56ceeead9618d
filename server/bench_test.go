package server_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/certs"
	"github.com/tidemark-mdm/tidemark/internal/testenv"
	"github.com/tidemark-mdm/tidemark/server"
	"github.com/tidemark-mdm/tidemark/storage"
)

// benchDevice is a device enrolled straight through the handler with an
// identity issued by the CA (no SCEP: client key generation would dominate).
type benchDevice struct {
	udid string
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newBenchServer(b *testing.B) *server.Server {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "data")
	srv, err := server.New(server.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv
}

func signedRequest(b testing.TB, d benchDevice, checkin bool, body []byte) *http.Request {
	sig, err := certs.SignMdmBody(d.cert, d.key, body, false)
	if err != nil {
		b.Fatal(err)
	}
	path := "/mdm"
	if checkin {
		path = "/mdm/checkin"
	}
	r := httptest.NewRequest(http.MethodPut, path, bytes.NewReader(body))
	r.Header.Set("Mdm-Signature", sig)
	if checkin {
		r.Header.Set("Content-Type", "application/x-apple-aspen-mdm-checkin")
	}
	return r
}

func serve(b testing.TB, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", r.URL.Path, w.Code, w.Body)
	}
	return w
}

func checkinBody(msgType, udid string) []byte {
	extra := ""
	if msgType == "TokenUpdate" {
		extra = `<key>PushMagic</key><string>magic</string><key>Token</key><data>AAECAwQFBgcICQ==</data><key>Topic</key><string>com.apple.mgmt.External.bench</string>`
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>MessageType</key>
	<string>` + msgType + `</string>` + extra + `
	<key>UDID</key>
	<string>` + udid + `</string>
</dict>
</plist>`)
}

func enrollBenchDevices(b *testing.B, srv *server.Server, n int) []benchDevice {
	b.Helper()
	h := srv.Handler()
	out := make([]benchDevice, n)
	for i := range n {
		key := testenv.Key(i)
		udid := fmt.Sprintf("BENCH-%08d", i)
		cert, err := srv.CA().IssueDirect(&key.PublicKey, udid, 24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = benchDevice{udid: udid, cert: cert, key: key}
		serve(b, h, signedRequest(b, out[i], true, checkinBody("Authenticate", udid)))
		serve(b, h, signedRequest(b, out[i], true, checkinBody("TokenUpdate", udid)))
	}
	return out
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn b.N times and reports server CPU per request. The
// signing done by the simulated device happens before the timer runs.
func measure(b *testing.B, prepare func(i int) *http.Request, h http.Handler) {
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = prepare(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		serve(b, h, reqs[i])
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/req")
}

func BenchmarkSignedIdleCheckin(b *testing.B) {
	srv := newBenchServer(b)
	devs := enrollBenchDevices(b, srv, 100)
	measure(b, func(i int) *http.Request {
		d := devs[i%len(devs)]
		return signedRequest(b, d, false, []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Status</key><string>Idle</string><key>UDID</key><string>`+d.udid+`</string></dict></plist>`))
	}, srv.Handler())
}

func BenchmarkSignedTokenUpdate(b *testing.B) {
	srv := newBenchServer(b)
	devs := enrollBenchDevices(b, srv, 100)
	measure(b, func(i int) *http.Request {
		d := devs[i%len(devs)]
		return signedRequest(b, d, true, checkinBody("TokenUpdate", d.udid))
	}, srv.Handler())
}

// BenchmarkConnectWithCommand measures the request pair of a queued
// command: Idle → command, Acknowledged → empty body.
func BenchmarkConnectWithCommand(b *testing.B) {
	srv := newBenchServer(b)
	devs := enrollBenchDevices(b, srv, 100)
	ctx := context.Background()
	h := srv.Handler()
	reqs := make([]*http.Request, 0, 2*b.N)
	for i := 0; i < b.N; i++ {
		d := devs[i%len(devs)]
		uuid := fmt.Sprintf("BENCH-CMD-%d", i)
		raw := []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key><string>SecurityInfo</string></dict><key>CommandUUID</key><string>` + uuid + `</string></dict></plist>`)
		if err := srv.Store().Enqueue(ctx, storage.Command{UUID: uuid, RequestType: "SecurityInfo", Raw: raw, CreatedAt: time.Now()}, []string{d.udid}); err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs,
			signedRequest(b, d, false, []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Status</key><string>Idle</string><key>UDID</key><string>`+d.udid+`</string></dict></plist>`)),
			signedRequest(b, d, false, []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>CommandUUID</key><string>`+uuid+`</string><key>Status</key><string>Acknowledged</string><key>UDID</key><string>`+d.udid+`</string></dict></plist>`)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for _, r := range reqs {
		serve(b, h, r)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/pair")
}

// BenchmarkFanOut10k enqueues one command to 10,000 enrolled devices in one
// call and reports the database size per 10k devices.
func BenchmarkFanOut10k(b *testing.B) {
	srv := newBenchServer(b)
	ctx := context.Background()
	const n = 10_000
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("FAN-%08d", i)
		if _, err := srv.Store().Authenticate(ctx, storage.Enrollment{DeviceID: ids[i], CertHash: fmt.Sprintf("%064d", i)}, time.Now()); err != nil {
			b.Fatal(err)
		}
		if _, err := srv.Store().TokenUpdate(ctx, ids[i], storage.TokenUpdate{Topic: "t", PushMagic: "m", PushToken: []byte{1, 2, 3}}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	raw := []byte(`<plist version="1.0"><dict><key>Command</key><dict><key>RequestType</key><string>DeviceInformation</string></dict></dict></plist>`)
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := srv.Store().Enqueue(ctx, storage.Command{UUID: fmt.Sprintf("FAN-CMD-%d", i), RequestType: "DeviceInformation", Raw: raw, CreatedAt: time.Now()}, ids); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	info, err := os.Stat(filepath.Join(srv.Config().DataDir, server.DBFile))
	if err == nil {
		b.ReportMetric(float64(info.Size())/(1<<20), "db-MiB")
	}
}
