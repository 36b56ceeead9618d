package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
	"github.com/tidemark-mdm/tidemark/storage"
)

// rolloutStatus adds the ring lines and the latest automatic pause to the
// statuses of policies under rollout control. Rings are counted from the
// stored records (one extra scan, only when a ringed policy is shown).
func (w *Worker) rolloutStatus(ctx context.Context, out []PolicyStatus) error {
	ringed := map[string]*PolicyStatus{}
	states := map[string]*rollout.State{}
	for i := range out {
		p := &out[i].Policy
		if !rollout.Controlled(p) {
			continue
		}
		st, err := w.rolloutState(ctx, p)
		if err != nil {
			return err
		}
		out[i].AutoPause = st.LastPause
		if len(p.Rings) > 0 {
			ringed[p.ID], states[p.ID] = &out[i], st
		}
	}
	if len(ringed) == 0 {
		return nil
	}
	tallies := map[string]*rollout.Tally{}
	for id := range ringed {
		tallies[id] = rollout.NewTally()
	}
	err := w.store.ForEachBlob(ctx, StateCollection, func(id string, raw []byte) error {
		rec, err := DecodeRecord(raw)
		if err != nil {
			return err
		}
		for pid, pr := range rec.Policies {
			if t := tallies[pid]; t != nil {
				ev := pr.evaluation(id, pid)
				t.Add(pr.Ring, &ev, pr.State.Since)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, ps := range ringed {
		ps.Rings = rollout.RingStatuses(&ps.Policy, states[id], tallies[id])
	}
	return nil
}

// Forecast reports a policy's readiness before its deadline: the devices
// at risk with their reasons and the expected compliance (see
// rollout.Forecast). It reads every device's facts, so it is meant for
// an admin's request, not for every pass.
func (w *Worker) Forecast(ctx context.Context, policyID string) (*rollout.Forecast, error) {
	policies, cat, err := w.inputs(ctx)
	if err != nil {
		return nil, err
	}
	var p *enforcement.Policy
	for i := range policies {
		if policies[i].ID == policyID {
			p = &policies[i]
		}
	}
	if p == nil {
		return nil, fmt.Errorf("policy %s: %w", policyID, storage.ErrNotFound)
	}
	st, err := w.rolloutState(ctx, p)
	if err != nil {
		return nil, err
	}
	fc := rollout.NewForecaster(*p, cat, st, w.now(), w.opts)
	err = w.eachPage(ctx, func(page []storage.Device, in map[string]stored) error {
		for i := range page {
			fd, err := forecastDevice(&page[i], in[page[i].ID], p.ID)
			if err != nil {
				return err
			}
			fc.Add(fd)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := fc.Result()
	return &f, nil
}

func forecastDevice(d *storage.Device, in stored, policyID string) (*rollout.ForecastDevice, error) {
	f, us, rec, err := decodeStored(d, in)
	if err != nil {
		return nil, err
	}
	fd := &rollout.ForecastDevice{Facts: f, UpdateSizes: updateSizes(us)}
	if pr := rec.Policies[policyID]; pr != nil {
		fd.State, fd.Reason = pr.State, pr.Reason
	}
	return fd, nil
}

// updateSizes reads the space each listed update needs (download plus
// install size), by version, from the device's last AvailableOSUpdates.
func updateSizes(us *commands.UpdateState) map[string]int64 {
	if us == nil || len(us.Available) == 0 {
		return nil
	}
	out := map[string]int64{}
	for _, a := range us.Available {
		v := strings.TrimSpace(a.Version)
		if size := a.DownloadSize.Int64() + a.InstallSize.Int64(); v != "" && size > out[v] {
			out[v] = size
		}
	}
	return out
}
