package server

import (
	"context"
	"errors"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/enforcement/legacy"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm/httpmdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// newReconciler builds the enforcement worker and subscribes it to the
// events that can change a device's standing.
func (s *Server) newReconciler() *reconcile.Worker {
	opts := []reconcile.Option{reconcile.WithLogger(s.log.With(logkeys.Component, "enforcement")),
		reconcile.WithClock(s.cfg.Now)}
	if s.cfg.ReconcileInterval > 0 {
		opts = append(opts, reconcile.WithInterval(s.cfg.ReconcileInterval))
	}
	// The legacy driver queues through the notifying store so the device
	// is pushed as soon as a command is queued.
	driverStore := notifyingStore{Store: s.store, enqueued: s.push.nudge}
	opts = append(opts, reconcile.WithLegacyDriver(legacy.New(driverStore, s.cfg.LegacyDriver,
		legacy.WithLogger(s.log.With(logkeys.Component, "legacy")))))
	w := reconcile.New(s.store, s.policy, s.ddm, opts...)
	s.ddm.OnStatus(func(_ context.Context, id string, _ *ddm.DeviceStatus) { w.Trigger(id) })
	s.policy.OnPolicyChange(func(string) { w.Trigger() })
	s.policy.OnCatalogChange(func() { w.Trigger() })
	return w
}

// Reconciler exposes the enforcement worker to in-process tools.
func (s *Server) Reconciler() *reconcile.Worker { return s.reconciler }

// deviceHooks fans device lifecycle notifications out to DDM and the
// enforcement engine.
type deviceHooks struct {
	ddm httpmdm.Hooks
	rec *reconcile.Worker
}

func (h deviceHooks) Enrolled(ctx context.Context, id string, first bool) {
	h.ddm.Enrolled(ctx, id, first)
	h.rec.Trigger(id)
}

func (h deviceHooks) ReportStored(ctx context.Context, id, requestType, status string) {
	h.ddm.ReportStored(ctx, id, requestType, status)
	switch requestType {
	case "DeviceInformation", "SecurityInfo", "AvailableOSUpdates", "ScheduleOSUpdate", "OSUpdateStatus", "ScheduleOSUpdateScan":
		h.rec.Trigger(id)
	}
}

// enforcementExtra adds the device's standing per policy to device show.
func (s *Server) enforcementExtra(ctx context.Context, d *storage.Device, into map[string]any) error {
	raw, err := s.store.Blob(ctx, reconcile.StateCollection, d.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, err := reconcile.DecodeRecord(raw)
	if err != nil {
		return err
	}
	type standing struct {
		Compliance string    `json:"compliance"`
		Step       string    `json:"step,omitempty"`
		Reason     string    `json:"reason,omitempty"`
		Message    string    `json:"message,omitempty"`
		Remedy     string    `json:"remedy,omitempty"`
		Target     string    `json:"target,omitempty"`
		Deadline   string    `json:"deadline,omitempty"`
		Since      time.Time `json:"since"`
	}
	out := map[string]standing{}
	for id, pr := range rec.Policies {
		out[id] = standing{Compliance: string(pr.State.Compliance), Step: string(pr.State.Step), Reason: string(pr.Reason.Code),
			Message: pr.Reason.Message, Remedy: pr.Reason.Remedy, Target: pr.State.TargetVersion,
			Deadline: pr.State.LocalDeadline, Since: pr.State.Since}
	}
	into["enforcement"] = out
	return nil
}
