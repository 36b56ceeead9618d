package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

func concurrencyTests() map[string]func(*testing.T, storage.Store) {
	return map[string]func(*testing.T, storage.Store){
		"EnqueueWhileDeviceDrains": testConcurrentEnqueueAndDrain,
	}
}

const (
	producers           = 4
	commandsPerProducer = 40
)

// testConcurrentEnqueueAndDrain runs producers enqueueing to one device
// (and a bystander) while a simulated device takes and acknowledges
// commands and a reader lists the queue: every command must arrive exactly
// once and each producer's commands in the order it queued them.
func testConcurrentEnqueueAndDrain(t *testing.T, s storage.Store) {
	enroll(t, s, "dev", "bystander")
	errs := make(chan error, producers+2)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() { errs <- produce(t, s, p) })
	}
	var delivered []string
	var consumers sync.WaitGroup
	consumers.Go(func() {
		var err error
		delivered, err = simulateDevice(t, s, done)
		errs <- err
	})
	consumers.Go(func() { errs <- readWhileBusy(t, s, done) })
	wg.Wait()
	close(done)
	consumers.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkDeliveries(t, delivered)
	if q := queueUUIDs(t, s, "bystander"); len(q) != producers*commandsPerProducer/2 {
		t.Fatalf("bystander queue has %d commands, want %d", len(q), producers*commandsPerProducer/2)
	}
}

func produce(t *testing.T, s storage.Store, p int) error {
	for n := range commandsPerProducer {
		ids := []string{"dev"}
		if n%2 == 0 {
			ids = append(ids, "bystander")
		}
		if err := s.Enqueue(ctx(t), command(fmt.Sprintf("p%d-%03d", p, n)), ids); err != nil {
			return fmt.Errorf("producer %d: %w", p, err)
		}
	}
	return nil
}

// simulateDevice takes commands until the producers are done and the
// queue is empty, acknowledging each one.
func simulateDevice(t *testing.T, s storage.Store, done <-chan struct{}) ([]string, error) {
	var got []string
	idle := true
	for {
		cmd, err := s.NextCommand(ctx(t), "dev", idle, at(3))
		if err != nil {
			return got, err
		}
		idle = false
		if cmd == nil {
			select {
			case <-done:
				if cmd, err = s.NextCommand(ctx(t), "dev", false, at(3)); cmd == nil || err != nil {
					return got, err
				}
			default:
				time.Sleep(100 * time.Microsecond)
				continue
			}
		}
		got = append(got, cmd.UUID)
		o, err := s.StoreReport(ctx(t), result("dev", cmd.UUID, "Acknowledged"), storage.ResultEffects{})
		if err != nil || o != storage.ReportStored {
			return got, fmt.Errorf("report %s: %s, %v", cmd.UUID, outcomeName(o), err)
		}
	}
}

func readWhileBusy(t *testing.T, s storage.Store, done <-chan struct{}) error {
	for {
		select {
		case <-done:
			return nil
		default:
		}
		if _, err := s.Queue(ctx(t), "dev"); err != nil {
			return err
		}
		if _, err := s.Results(ctx(t), "dev", 3); err != nil {
			return err
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func checkDeliveries(t *testing.T, delivered []string) {
	t.Helper()
	seen := map[string]bool{}
	last := map[int]int{}
	for p := range producers {
		last[p] = -1
	}
	for _, uuid := range delivered {
		if seen[uuid] {
			t.Fatalf("%s delivered twice", uuid)
		}
		seen[uuid] = true
		var p, n int
		if _, err := fmt.Sscanf(uuid, "p%d-%d", &p, &n); err != nil {
			t.Fatalf("unexpected delivery %q", uuid)
		}
		if n != last[p]+1 {
			t.Fatalf("producer %d: %s delivered after #%d", p, uuid, last[p])
		}
		last[p] = n
	}
	if len(delivered) != producers*commandsPerProducer {
		t.Fatalf("%d commands delivered, want %d", len(delivered), producers*commandsPerProducer)
	}
}
