package server

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm/push"
	"github.com/tidemark-mdm/tidemark/storage"
)

// outboxInterval is how often the outbox is drained when nothing wakes
// the worker earlier.
const outboxInterval = 500 * time.Millisecond

// run drains the outbox into the push scheduler until ctx ends.
func (ps *pushService) run(ctx context.Context) {
	go ps.scheduler.Run(ctx)
	t := time.NewTicker(outboxInterval)
	defer t.Stop()
	for {
		if err := ps.drain(ctx); err != nil && ctx.Err() == nil {
			ps.log.Warn("draining the outbox failed", logkeys.Err, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-ps.wake:
		}
	}
}

// drain moves push requests from the outbox to the scheduler. With pushes
// off the items are acknowledged without sending: devices pick the work up
// when they next check in on their own.
func (ps *pushService) drain(ctx context.Context) error {
	for {
		items, err := ps.srv.store.Outbox(ctx, 100)
		if err != nil || len(items) == 0 {
			return err
		}
		seqs := make([]uint64, 0, len(items))
		on := ps.enabled()
		for _, it := range items {
			if it.Kind == storage.OutboxPush && on {
				ps.scheduler.Request(it.DeviceIDs...)
			}
			seqs = append(seqs, it.Seq)
		}
		if err := ps.srv.store.AckOutbox(ctx, seqs...); err != nil {
			return err
		}
	}
}

// Targets implements push.TargetSource: enrolled devices with a live token.
func (ps *pushService) Targets(ctx context.Context, ids []string) ([]push.Target, error) {
	out := make([]push.Target, 0, len(ids))
	for _, id := range ids {
		d, err := ps.srv.store.Device(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !d.Enrolled || d.PushTokenDead || len(d.PushToken) == 0 || d.PushMagic == "" {
			continue
		}
		out = append(out, push.Target{DeviceID: id, Token: hex.EncodeToString(d.PushToken), PushMagic: d.PushMagic, Topic: d.Topic})
	}
	return out, nil
}

// RecordPushOutcomes implements push.OutcomeSink in one transaction.
func (ps *pushService) RecordPushOutcomes(ctx context.Context, outcomes []push.Outcome) error {
	byID := make(map[string]push.Outcome, len(outcomes))
	ids := make([]string, 0, len(outcomes))
	for _, o := range outcomes {
		if _, seen := byID[o.DeviceID]; !seen {
			ids = append(ids, o.DeviceID)
		}
		byID[o.DeviceID] = o
		if o.Kind == push.Config {
			ps.log.Error("APNs refused the push configuration", logkeys.DeviceID, o.DeviceID,
				logkeys.HTTPStatus, o.Status, logkeys.Reason, o.Reason)
		}
	}
	return ps.srv.store.UpdateDevices(ctx, ids, func(d *storage.Device) bool {
		o := byID[d.ID]
		d.LastPush = &storage.Push{At: o.At, Status: o.Status, Reason: o.Reason, OK: o.Kind == push.Delivered}
		// Forget a dead token only if it is still the one pushed to: a
		// TokenUpdate may have replaced it meanwhile.
		if o.TokenDead && hex.EncodeToString(d.PushToken) == o.Token {
			d.PushTokenDead = true
		}
		return true
	})
}
