package rollout

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// Bucket places a device on [0, 100) by a hash of the policy and device
// ids: stable across passes and restarts, and independent per policy so
// the same devices are not the pilots of every rollout.
func Bucket(policyID, deviceID string) float64 {
	h := sha256.Sum256([]byte(policyID + "\x00" + deviceID))
	return float64(binary.BigEndian.Uint64(h[:8])%1_000_000) / 10_000
}

// RingIndex is the index in p.Rings of the device's ring, -1 without
// rings. Group rings come first (an explicit choice beats a random one),
// in ring order; then the device's bucket picks among the percentage
// rings; devices left over go to the last ring.
func RingIndex(p *enforcement.Policy, f *enforcement.DeviceFacts) int {
	if len(p.Rings) == 0 {
		return -1
	}
	for i, r := range p.Rings {
		for _, g := range r.Groups {
			if slices.Contains(f.Groups, g) {
				return i
			}
		}
	}
	b, upTo := Bucket(p.ID, f.ID), 0.0
	for i, r := range p.Rings {
		if r.Percent <= 0 {
			continue
		}
		upTo += r.Percent
		if b < upTo {
			return i
		}
	}
	return len(p.Rings) - 1
}
