package server

import (
	"context"
	"errors"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/storage"
	"github.com/tidemark-mdm/tidemark/storage/bolt"
)

// notifyingStore wakes the push worker right after an enqueue committed,
// instead of waiting for its next tick.
type notifyingStore struct {
	*bolt.Store
	enqueued func()
}

func (n notifyingStore) Enqueue(ctx context.Context, cmd storage.Command, ids []string) error {
	if err := n.Store.Enqueue(ctx, cmd, ids); err != nil {
		return err
	}
	n.enqueued()
	return nil
}

// nudge wakes the outbox worker without blocking.
func (ps *pushService) nudge() {
	select {
	case ps.wake <- struct{}{}:
	default:
	}
}

// updateStateExtra adds the legacy update state to `device show`.
func (s *Server) updateStateExtra(ctx context.Context, d *storage.Device, into map[string]any) error {
	raw, err := s.store.Blob(ctx, commands.UpdateStateCollection, d.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := commands.DecodeUpdateState(raw)
	if err != nil {
		return err
	}
	into["os_updates"] = st
	return nil
}
