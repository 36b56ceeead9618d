package ddmsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// UpdateSet adds declarations to a set (creating it) and removes others.
// Added declarations must suit the platforms of the set's devices.
func (s *Service) UpdateSet(ctx context.Context, name string, add, remove []string) (bool, error) {
	if len(add) > 0 {
		set, err := s.store.Set(ctx, name)
		switch {
		case err == nil:
			decls, err := s.declarations(ctx, add)
			if err != nil {
				return false, err
			}
			if err := s.checkPlatforms(ctx, decls, set.Devices); err != nil {
				return false, err
			}
		case !errors.Is(err, storage.ErrNotFound):
			return false, err
		}
	}
	changed, err := s.store.UpdateSet(ctx, name, add, remove, s.now())
	if changed {
		s.nudge()
	}
	return changed, err
}

// DeleteSet deletes a set and its assignments.
func (s *Service) DeleteSet(ctx context.Context, name string) error {
	changed, err := s.store.DeleteSet(ctx, name, s.now())
	if err == nil && !changed {
		return fmt.Errorf("set %s: %w", name, storage.ErrNotFound)
	}
	s.nudge()
	return err
}

// Assign assigns a set to devices (all enrolled devices with all) and
// returns those newly assigned. Every declaration of the set must suit
// every device's platform, or nothing is assigned.
func (s *Service) Assign(ctx context.Context, name string, ids []string, all bool) ([]string, error) {
	set, err := s.store.Set(ctx, name)
	if err != nil {
		return nil, err
	}
	if ids, err = s.targets(ctx, ids, all, nil); err != nil {
		return nil, err
	}
	decls, err := s.declarations(ctx, set.Declarations)
	if err != nil {
		return nil, err
	}
	if err := s.checkPlatforms(ctx, decls, ids); err != nil {
		return nil, err
	}
	changed, err := s.store.AssignSet(ctx, name, ids, s.now())
	if len(changed) > 0 {
		s.nudge()
	}
	return changed, err
}

// Unassign removes a set from devices (every device it is assigned to with
// all) and returns those whose assignment changed.
func (s *Service) Unassign(ctx context.Context, name string, ids []string, all bool) ([]string, error) {
	set, err := s.store.Set(ctx, name)
	if err != nil {
		return nil, err
	}
	if ids, err = s.targets(ctx, ids, all, set.Devices); err != nil {
		return nil, err
	}
	changed, err := s.store.UnassignSet(ctx, name, ids, s.now())
	if len(changed) > 0 {
		s.nudge()
	}
	return changed, err
}

// targets resolves "all" (all enrolled devices, or allOf when given) and
// refuses an empty or ambiguous target list.
func (s *Service) targets(ctx context.Context, ids []string, all bool, allOf []string) ([]string, error) {
	if all == (len(ids) > 0) {
		return nil, &InvalidError{Msg: "give exactly one of devices or all"}
	}
	if !all {
		return ids, nil
	}
	if allOf != nil {
		return allOf, nil
	}
	enrolled := true
	devices, err := s.store.Devices(ctx, storage.DeviceFilter{Enrolled: &enrolled})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(devices))
	for i, d := range devices {
		out[i] = d.ID
	}
	return out, nil
}

func (s *Service) declarations(ctx context.Context, ids []string) ([]*ddm.Declaration, error) {
	out := make([]*ddm.Declaration, 0, len(ids))
	for _, id := range ids {
		rec, err := s.store.Declaration(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, &ddm.Declaration{Type: rec.Type, Identifier: rec.Identifier, Payload: rec.Payload})
	}
	return out, nil
}

// RequestSync queues a sync of the devices, as after a change.
func (s *Service) RequestSync(ctx context.Context, ids []string) error {
	if err := s.store.RequestDDMSync(ctx, ids, s.now()); err != nil {
		return err
	}
	s.nudge()
	return nil
}
