package push

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSetCertificateSwitchesNewConnections(t *testing.T) {
	f := newFakeAPNs(t, answer(200, ""))
	c := f.client(t) // presents serial 1
	if out := c.Push(context.Background(), []Target{testTarget("a")}); out[0].Kind != Delivered {
		t.Fatalf("first push: %+v", out[0])
	}
	c.SetCertificate(testClientCert(t, 2))
	if out := c.Push(context.Background(), []Target{testTarget("b")}); out[0].Kind != Delivered {
		t.Fatalf("second push: %+v", out[0])
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].ClientSerial != 1 || reqs[1].ClientSerial != 2 {
		t.Fatalf("client serials seen = %v, want [1 2]", serials(reqs))
	}
}

func serials(reqs []seenRequest) []int64 {
	var s []int64
	for _, r := range reqs {
		s = append(s, r.ClientSerial)
	}
	return s
}

// TestSetCertificateDuringPushes swaps certificates while pushes are in
// flight; under -race this proves the swap is safe, and every push must
// still be delivered with one of the two certificates.
func TestSetCertificateDuringPushes(t *testing.T) {
	f := newFakeAPNs(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		w.WriteHeader(200)
	})
	c := f.client(t, WithConcurrency(4))
	renewed := []tls.Certificate{testClientCert(t, 2), testClientCert(t, 3)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, cert := range renewed {
			c.SetCertificate(cert)
			time.Sleep(10 * time.Millisecond)
		}
	})
	var targets []Target
	for i := range 12 {
		targets = append(targets, testTarget(fmt.Sprintf("dev-%d", i)))
	}
	for range 3 {
		for _, o := range c.Push(context.Background(), targets) {
			if o.Kind != Delivered {
				t.Errorf("%s: %v", o.DeviceID, o.Err)
			}
		}
	}
	wg.Wait()
	if out := c.Push(context.Background(), targets[:1]); out[0].Kind != Delivered {
		t.Fatalf("push after swaps: %v", out[0].Err)
	}
	reqs := f.requests()
	if last := reqs[len(reqs)-1].ClientSerial; last != 3 {
		t.Errorf("last push presented serial %d, want 3", last)
	}
}

func TestPushConcurrencyIsBounded(t *testing.T) {
	var inFlight, peak atomic.Int32
	f := newFakeAPNs(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		w.WriteHeader(200)
	})
	c := f.client(t, WithConcurrency(3))
	var targets []Target
	for i := range 15 {
		targets = append(targets, testTarget(fmt.Sprintf("dev-%02d", i)))
	}
	out := c.Push(context.Background(), targets)
	for i, o := range out {
		if o.DeviceID != targets[i].DeviceID || o.Kind != Delivered {
			t.Errorf("outcome %d = %s %v, want %s delivered", i, o.DeviceID, o.Kind, targets[i].DeviceID)
		}
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency %d, want 2..3", p)
	}
}
