package bolt

import (
	"sync"
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

// sentMarks counts deliveries of queued commands in memory. Recording a
// delivery in the database cost a write transaction on every command
// sent, doubling the cost of a command round trip; the count is only
// shown to admins and consulted while the entry is queued, so it is kept
// here and folded into the entry when the entry is next written (NotNow).
// A crash loses counts of commands still awaiting an answer, nothing more:
// the queue itself is durable.
type sentMarks struct {
	mu sync.Mutex
	m  map[string]map[string]sentMark // device id → command uuid → mark
}

type sentMark struct {
	count int
	at    time.Time
}

func (s *sentMarks) add(id, uuid string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]map[string]sentMark{}
	}
	dev := s.m[id]
	if dev == nil {
		dev = map[string]sentMark{}
		s.m[id] = dev
	}
	mk := dev[uuid]
	mk.count++
	if at.After(mk.at) {
		mk.at = at
	}
	dev[uuid] = mk
}

func (s *sentMarks) get(id, uuid string) sentMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id][uuid]
}

// drop forgets what was folded into a stored entry (or dequeued with it).
func (s *sentMarks) drop(id, uuid string, folded sentMark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dev := s.m[id]
	mk, ok := dev[uuid]
	if !ok {
		return
	}
	// A delivery recorded while the fold committed stays counted.
	if mk.count -= folded.count; mk.count <= 0 {
		delete(dev, uuid)
	} else {
		dev[uuid] = mk
	}
	if len(dev) == 0 {
		delete(s.m, id)
	}
}

// forget drops the mark of an entry that left the queue.
func (s *sentMarks) forget(id, uuid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if dev := s.m[id]; dev != nil {
		delete(dev, uuid)
		if len(dev) == 0 {
			delete(s.m, id)
		}
	}
}

func (s *sentMarks) dropDevice(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// apply adds the unsaved deliveries to entries read from the database.
func (s *sentMarks) apply(id string, entries []storage.QueueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dev := s.m[id]
	if len(dev) == 0 {
		return
	}
	for i := range entries {
		if mk, ok := dev[entries[i].UUID]; ok {
			fold(&entries[i], mk)
		}
	}
}

func fold(e *storage.QueueEntry, mk sentMark) {
	e.Delivered += mk.count
	if mk.at.After(e.LastSentAt) {
		e.LastSentAt = mk.at
	}
}
