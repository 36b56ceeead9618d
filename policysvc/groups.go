package policysvc

import (
	"context"
	"fmt"

	"github.com/tidemark-mdm/tidemark/storage"
)

// DeviceGroups answers a membership change.
type DeviceGroups struct {
	DeviceID string   `json:"device_id"`
	Group    string   `json:"group"`
	Member   bool     `json:"member"`
	Changed  bool     `json:"changed"`
	Groups   []string `json:"groups"`
}

// GroupMembers lists one group.
type GroupMembers struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// SetDeviceGroup adds the device to group (member) or removes it, with a
// device event naming the actor. Policies scoped to the group see the
// change at their next evaluation, so no policy hook is called.
func (s *Service) SetDeviceGroup(ctx context.Context, deviceID, group string, member bool, actor string) (DeviceGroups, error) {
	kind, verb := "group_added", "added to"
	if !member {
		kind, verb = "group_removed", "removed from"
	}
	ev := storage.Event{DeviceID: deviceID, At: s.now(), Kind: kind,
		Message: fmt.Sprintf("device %s group %s by %s", verb, group, actor),
		Data:    map[string]string{"group": group, "actor": actor}}
	changed, err := s.store.SetDeviceGroup(ctx, deviceID, group, member, ev)
	if err != nil {
		return DeviceGroups{}, err
	}
	groups, err := s.deviceGroups(ctx, deviceID)
	if err != nil {
		return DeviceGroups{}, err
	}
	return DeviceGroups{DeviceID: deviceID, Group: group, Member: member, Changed: changed, Groups: groups}, nil
}

// deviceGroups reads the device's groups back after a change.
func (s *Service) deviceGroups(ctx context.Context, deviceID string) ([]string, error) {
	d, err := s.store.Device(ctx, deviceID)
	if err != nil {
		return nil, err
	}
	if d.Groups == nil {
		return []string{}, nil
	}
	return d.Groups, nil
}

// Groups lists every non-empty group with its member count.
func (s *Service) Groups(ctx context.Context) ([]storage.GroupCount, error) {
	out, err := s.store.Groups(ctx)
	if out == nil && err == nil {
		out = []storage.GroupCount{}
	}
	return out, err
}

// GroupMembers lists the devices of one group; an unknown group is empty.
func (s *Service) GroupMembers(ctx context.Context, group string) (GroupMembers, error) {
	m, err := s.store.GroupMembers(ctx, group)
	if m == nil {
		m = []string{}
	}
	return GroupMembers{Name: group, Members: m}, err
}
