//go:build crash

package crashtest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/internal/crashtest"
	"github.com/tidemark-mdm/tidemark/sim"
)

// ledger records every write the server answered with 2xx, and every
// bootstrap token a device tried to set (a write whose answer was lost
// may still have committed).
type ledger struct {
	mu        sync.Mutex
	enqueued  map[string][]string // uuid → target devices
	results   map[string]string   // crashtest.Pair → status
	bootstrap map[string]*tokenLog
	// fresh* are this round's acknowledged writes, checked online.
	freshEnqueued, freshResults []string
	writes                      int
}

type tokenLog struct {
	attempts [][]byte
	acked    int // index of the last acknowledged attempt, -1 for none
}

func newLedger(devices []*sim.Device) *ledger {
	l := &ledger{enqueued: map[string][]string{}, results: map[string]string{}, bootstrap: map[string]*tokenLog{}}
	for _, d := range devices {
		l.bootstrap[d.UDID()] = &tokenLog{acked: -1}
	}
	return l
}

func (l *ledger) ackEnqueue(uuid string, devices []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enqueued[uuid] = devices
	l.freshEnqueued = append(l.freshEnqueued, uuid)
	l.writes++
}

func (l *ledger) ackResult(device, uuid, status string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := crashtest.Pair(device, uuid)
	l.results[p] = status
	l.freshResults = append(l.freshResults, p)
	l.writes++
}

// attemptBootstrap records a token before it is sent; ack marks it
// answered 2xx.
func (l *ledger) attemptBootstrap(device string, token []byte) (ack func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	log := l.bootstrap[device]
	log.attempts = append(log.attempts, token)
	i := len(log.attempts) - 1
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		log.acked = i
		l.writes++
	}
}

// checkOffline compares the acknowledged writes with the file.
func (l *ledger) checkOffline(snap *crashtest.Snapshot) []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for uuid, devices := range l.enqueued {
		if _, ok := snap.Commands[uuid]; !ok {
			errs = append(errs, fmt.Errorf("acknowledged enqueue %s lost: no command record", uuid))
		}
		for _, d := range devices {
			p := crashtest.Pair(d, uuid)
			_, answered := snap.Results[p]
			if !answered && !snap.Queued[p] {
				errs = append(errs, fmt.Errorf("acknowledged enqueue %s to %s lost: neither queued nor answered", uuid, d))
			}
		}
	}
	for p, status := range l.results {
		if got, ok := snap.Results[p]; !ok || got != status {
			errs = append(errs, fmt.Errorf("acknowledged result %q lost: stored %q, want %q", p, got, status))
		}
	}
	return errs
}

// checkOnline reads this round's acknowledged writes back through the
// restarted server, and every device's bootstrap token.
func (l *ledger) checkOnline(ctx context.Context, client *api.Client, devices []*sim.Device) []error {
	l.mu.Lock()
	enq, res := l.freshEnqueued, l.freshResults
	l.freshEnqueued, l.freshResults = nil, nil
	l.mu.Unlock()
	var errs []error
	for _, uuid := range enq {
		if err := client.Do(ctx, http.MethodGet, "/v1/commands/"+url.PathEscape(uuid), nil, nil); err != nil {
			errs = append(errs, fmt.Errorf("acknowledged command %s: %w", uuid, err))
		}
	}
	for _, p := range res {
		device, uuid, _ := bytes.Cut([]byte(p), []byte{0})
		var r api.Result
		path := "/v1/devices/" + url.PathEscape(string(device)) + "/results/" + url.PathEscape(string(uuid))
		if err := client.Do(ctx, http.MethodGet, path, nil, &r); err != nil || r.Status != l.results[p] {
			errs = append(errs, fmt.Errorf("acknowledged result %s of %s: status %q, %v", uuid, device, r.Status, err))
		}
	}
	for _, d := range devices {
		if err := l.checkBootstrap(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func (l *ledger) checkBootstrap(ctx context.Context, d *sim.Device) error {
	got, err := d.GetBootstrapToken(ctx)
	if err != nil {
		return fmt.Errorf("GetBootstrapToken of %s after restart: %w", d.UDID(), err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	log := l.bootstrap[d.UDID()]
	if log.acked < 0 && got == nil {
		return nil
	}
	for i := max(log.acked, 0); i < len(log.attempts); i++ {
		if bytes.Equal(got, log.attempts[i]) {
			return nil
		}
	}
	return fmt.Errorf("bootstrap token of %s: stored %x is not the last acknowledged one (attempt %d of %d) nor a later attempt",
		d.UDID(), got, log.acked, len(log.attempts))
}
