package legacy

import (
	"context"
	"errors"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/storage"
)

// View is the driver's record for one device and policy, as `device why`
// shows it: scans, the commands it queued and when, what waits in the
// queue, and the track with its attempts, failures (raw error chains) and
// next planned action.
type View struct {
	Scan      ScanState            `json:"scan"`
	Requested map[string]time.Time `json:"requested,omitempty"`
	Queued    []storage.QueueEntry `json:"queued,omitempty"`
	Track     *Track               `json:"track"`
}

// ExplainLegacy implements reconcile.LegacyExplainer; nil when the driver
// never handled the device under this policy.
func (d *Driver) ExplainLegacy(ctx context.Context, deviceID, policyID string) (any, error) {
	v, err := d.View(ctx, deviceID, policyID)
	if err != nil || v == nil {
		return nil, err
	}
	return v, nil
}

// View returns the driver's record for a device and policy (nil when none).
func (d *Driver) View(ctx context.Context, deviceID, policyID string) (*View, error) {
	raw, err := d.store.Blob(ctx, Collection, deviceID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rec, err := DecodeRecord(raw)
	if err != nil {
		return nil, err
	}
	t := rec.Tracks[policyID]
	if t == nil {
		return nil, nil
	}
	queue, err := d.store.Queue(ctx, deviceID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	v := &View{Scan: rec.Scan, Requested: rec.Requested, Track: t}
	for _, e := range queue {
		if driverKinds[e.RequestType] {
			v.Queued = append(v.Queued, e)
		}
	}
	return v, nil
}

var driverKinds = map[string]bool{
	"ScheduleOSUpdateScan": true, "AvailableOSUpdates": true, "ScheduleOSUpdate": true,
	"OSUpdateStatus": true, "DeviceInformation": true,
}

// roughEvaluation approximates the evaluation from the plan, for workers
// that call Drive without one.
func roughEvaluation(in reconcile.LegacyInput) enforcement.Evaluation {
	pl := in.Plan
	ev := enforcement.Evaluation{DeviceID: pl.DeviceID, PolicyID: pl.PolicyID, Target: pl.Target, Path: pl.Path, EvaluatedAt: in.Now}
	p := &pass{in: in, now: in.Now}
	ev.DeadlinePassed = pl.Target.LocalDeadline != "" && !in.Now.Before(p.deadline(true))
	switch {
	case pl.Action == enforcement.ActionDeliver || pl.Action == enforcement.ActionBlocked:
		ev.Compliance = enforcement.Required
	case len(pl.Reasons) == 0:
		ev.Compliance = enforcement.Installed
	default:
		ev.Reason = pl.Reasons[0]
		switch ev.Reason.Code {
		case enforcement.CodeStatusUnknown, enforcement.CodeDeviceIDUnknown, enforcement.CodeCatalogUnavailable:
			ev.Compliance = enforcement.Unknown
		case enforcement.CodeReleaseExpired:
			ev.Compliance = enforcement.Required
		default:
			ev.Compliance = enforcement.NotRequired
		}
	}
	return ev
}
