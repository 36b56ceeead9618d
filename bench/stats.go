package bench

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LatencyStats are request latencies in milliseconds.
type LatencyStats struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Summarize computes nearest-rank percentiles; samples is sorted in place.
func Summarize(samples []time.Duration) LatencyStats {
	if len(samples) == 0 {
		return LatencyStats{}
	}
	slices.Sort(samples)
	rank := func(p float64) float64 {
		// Nearest rank: the smallest sample with at least p of all samples
		// at or below it.
		i := int(p*float64(len(samples))+0.999999) - 1
		i = max(0, min(i, len(samples)-1))
		return ms(samples[i])
	}
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	return LatencyStats{P50: rank(0.50), P90: rank(0.90), P99: rank(0.99),
		Max: ms(samples[len(samples)-1]), Mean: ms(sum / time.Duration(len(samples)))}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// recorder counts requests and keeps their latencies while it is on, so
// set-up traffic never mixes into the measured phase.
type recorder struct {
	on       atomic.Bool
	requests atomic.Int64
	errors   atomic.Int64

	mu      sync.Mutex
	samples []time.Duration
	errSeen []string
}

const maxErrorSamples = 5

func (r *recorder) start() { r.on.Store(true) }
func (r *recorder) stop()  { r.on.Store(false) }

func (r *recorder) add(d time.Duration, failed bool) {
	if !r.on.Load() {
		return
	}
	r.requests.Add(1)
	if failed {
		r.errors.Add(1)
	}
	r.mu.Lock()
	r.samples = append(r.samples, d)
	r.mu.Unlock()
}

// fail records a failure that is not one HTTP request (a wrong answer).
func (r *recorder) fail(err error) {
	r.errors.Add(1)
	r.note(err)
}

// note keeps the first few error messages for the report.
func (r *recorder) note(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errSeen) < maxErrorSamples {
		r.errSeen = append(r.errSeen, err.Error())
	}
}

// roundTripper times each request until its body is closed; a transport
// error or a 5xx/4xx status counts as an error.
type roundTripper struct {
	next http.RoundTripper
	rec  *recorder
}

func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.rec.add(time.Since(start), true)
		if t.rec.on.Load() {
			t.rec.note(err)
		}
		return nil, err
	}
	failed := resp.StatusCode >= 400
	if failed && t.rec.on.Load() {
		t.rec.note(fmt.Errorf("%s %s: HTTP %d", req.Method, req.URL.Path, resp.StatusCode))
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { t.rec.add(time.Since(start), failed) }}
	return resp, nil
}

type timedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *timedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// newHTTPClient is the fleet's client: pool keep-alive connections, every
// request timed by rec.
func newHTTPClient(pool int, rec *recorder) *http.Client {
	tr := &http.Transport{
		MaxIdleConns: pool, MaxIdleConnsPerHost: pool, MaxConnsPerHost: pool,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true,
	}
	return &http.Client{Timeout: 2 * time.Minute, Transport: &roundTripper{next: tr, rec: rec}}
}
