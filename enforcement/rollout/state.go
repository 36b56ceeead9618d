package rollout

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// Collection is the blob collection holding one State per policy, keyed
// by policy id. The worker that decides promotions owns it: keeping ring
// starts out of the policy record means a promotion never bumps the
// policy's version under an admin's edit (optimistic concurrency), and
// the policy's change history stays the admin's.
const Collection = "rollout"

const stateVersion = 1

// State is what a rollout remembers between passes.
type State struct {
	Version int `json:"v"`
	// PolicyCreatedAt and Target identify the rollout: a policy deleted and
	// created again under the same id, or given another target, starts
	// again from its first ring.
	PolicyCreatedAt time.Time `json:"policy_created_at"`
	Target          string    `json:"target"`
	// Rings lists the started rings in the order they started. A ring once
	// started stays started, so promotion is stable across passes.
	Rings []RingStart `json:"rings,omitempty"`
	// Acknowledged are devices whose failures an automatic pause already
	// counted: after the admin resumes, they do not pause it again.
	Acknowledged []string `json:"acknowledged,omitempty"`
	// LastPause is the latest automatic pause.
	LastPause *PauseRecord `json:"last_pause,omitempty"`
}

// RingStart records when and why a ring started.
type RingStart struct {
	Name      string    `json:"name"`
	StartedAt time.Time `json:"started_at"`
	Because   string    `json:"because"`
}

// Decode reads a stored State; empty input is a new rollout.
func Decode(raw []byte) (*State, error) {
	s := &State{}
	if len(raw) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("rollout state: %w", err)
	}
	return s, nil
}

// Encode stores the State.
func (s *State) Encode() ([]byte, error) {
	s.Version = stateVersion
	return json.Marshal(s)
}

// Sync makes the State belong to p: a State left by another incarnation
// of the policy id, or by another target, is emptied. It reports whether
// anything changed.
func (s *State) Sync(p *enforcement.Policy) bool {
	target := targetKey(p.Target)
	if s.PolicyCreatedAt.Equal(p.CreatedAt) && s.Target == target {
		return false
	}
	*s = State{PolicyCreatedAt: p.CreatedAt, Target: target}
	return true
}

func targetKey(t enforcement.Target) string {
	return string(t.Kind) + "|" + t.OSVersion + "|" + t.BuildVersion + "|" + strconv.Itoa(t.Major)
}

// Started reports whether the named ring has started, and when.
func (s *State) Started(name string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	for _, r := range s.Rings {
		if r.Name == name {
			return r.StartedAt, true
		}
	}
	return time.Time{}, false
}

// ringStarted: the first ring runs as soon as the policy does.
func (s *State) ringStarted(p *enforcement.Policy, i int) bool {
	if i <= 0 {
		return true
	}
	_, ok := s.Started(p.Rings[i].Name)
	return ok
}

// acknowledge adds ids to Acknowledged (kept sorted, without repeats).
func (s *State) acknowledge(ids []string) {
	for _, id := range ids {
		if i, found := slices.BinarySearch(s.Acknowledged, id); !found {
			s.Acknowledged = slices.Insert(s.Acknowledged, i, id)
		}
	}
}

func (s *State) acknowledged(id string) bool {
	if s == nil {
		return false
	}
	_, found := slices.BinarySearch(s.Acknowledged, id)
	return found
}
