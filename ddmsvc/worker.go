package ddmsvc

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// syncInterval is how often the sync queue is drained when nothing wakes
// the worker earlier.
const syncInterval = 500 * time.Millisecond

// Run drains the DDM sync queue until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(syncInterval)
	defer t.Stop()
	for {
		if err := s.Drain(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("draining the DDM sync queue failed", logkeys.Err, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// Drain turns every pending sync item into DeclarativeManagement commands
// (and, through the queue, pushes). An item is acknowledged only after its
// commands are queued, so a crash in between repeats the work rather than
// losing it; repeating is harmless because pending commands are coalesced.
func (s *Service) Drain(ctx context.Context) error {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	for {
		items, err := s.store.DDMSyncs(ctx, 100)
		if err != nil || len(items) == 0 {
			return err
		}
		var ids []string
		seqs := make([]uint64, 0, len(items))
		for _, it := range items {
			ids = append(ids, it.DeviceIDs...)
			seqs = append(seqs, it.Seq)
		}
		slices.Sort(ids)
		if err := s.notify(ctx, slices.Compact(ids)); err != nil {
			return err
		}
		if err := s.store.AckDDMSyncs(ctx, seqs...); err != nil {
			return err
		}
	}
}

// notify queues one DeclarativeManagement command per distinct tokens
// document: devices holding the same declarations share one command (one
// transaction), each gets its own queue entry and push.
func (s *Service) notify(ctx context.Context, ids []string) error {
	groups := map[string][]string{}
	for _, id := range ids {
		tokens, err := s.tokensToSend(ctx, id)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// One unreadable device must not hold up the syncs behind it.
			s.log.Warn("DDM sync skipped", logkeys.DeviceID, id, logkeys.Err, err)
			continue
		}
		if tokens != nil {
			groups[string(tokens)] = append(groups[string(tokens)], id)
		}
	}
	for _, tokens := range slices.Sorted(maps.Keys(groups)) {
		if err := s.enqueueSync(ctx, []byte(tokens), groups[tokens]); err != nil {
			return err
		}
	}
	if len(groups) > 0 {
		s.onEnqueued()
	}
	return nil
}

// tokensToSend returns the tokens document the device should be sent, or
// nil when it needs no command: not enrolled, not DDM-capable, or a
// command with these very tokens is already on its way. A command that was
// not delivered yet is replaced: its tokens may be stale.
func (s *Service) tokensToSend(ctx context.Context, id string) ([]byte, error) {
	dev, err := s.store.Device(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !dev.Enrolled {
		return nil, err
	}
	h, err := s.holdingsOf(ctx, dev)
	if err != nil || !h.capable {
		return nil, err
	}
	tokens, err := s.tokensDoc(h)
	if err != nil {
		return nil, err
	}
	queue, err := s.store.Queue(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, e := range queue {
		if e.RequestType != mdm.RequestDeclarativeManagement {
			continue
		}
		if e.Delivered == 0 {
			if err := s.store.Cancel(ctx, id, e.UUID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
			continue
		}
		if same, err := s.carries(ctx, e.UUID, tokens); err != nil || same {
			return nil, err
		}
	}
	return tokens, nil
}

// carries reports whether the queued command uuid embeds tokens.
func (s *Service) carries(ctx context.Context, uuid string, tokens []byte) (bool, error) {
	cmd, err := s.store.Command(ctx, uuid)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var env struct {
		Command mdm.DeclarativeManagement `plist:"Command"`
	}
	if err := mdm.DecodePlist(cmd.Raw, &env); err != nil {
		return false, nil
	}
	return bytes.Equal(env.Command.Data, tokens), nil
}

// enqueueSync queues one command to ids. When a device left the fleet
// since it was read, the others still get theirs.
func (s *Service) enqueueSync(ctx context.Context, tokens []byte, ids []string) error {
	cmd, err := syncCommand(tokens, s.now())
	if err != nil {
		return err
	}
	err = s.store.Enqueue(ctx, cmd, ids)
	gone := errors.Is(err, storage.ErrNotEnrolled) || errors.Is(err, storage.ErrNotFound)
	switch {
	case err == nil:
		return nil
	case !gone:
		return err
	case len(ids) == 1:
		return nil // this device left meanwhile
	}
	for _, id := range ids {
		if err := s.enqueueSync(ctx, tokens, []string{id}); err != nil {
			return err
		}
	}
	return nil
}

func syncCommand(tokens []byte, at time.Time) (storage.Command, error) {
	payload, err := mdm.NewDeclarativeManagement(tokens)
	if err != nil {
		return storage.Command{}, err
	}
	uuid := mdm.NewCommandUUID()
	raw, err := mdm.Command{UUID: uuid, Payload: payload}.Encode()
	if err != nil {
		return storage.Command{}, err
	}
	return storage.Command{UUID: uuid, RequestType: mdm.RequestDeclarativeManagement, Raw: raw, CreatedAt: at}, nil
}
