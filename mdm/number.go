package mdm

import (
	"errors"
	"fmt"
	"math"
)

// Number is a plist numeric value that devices send as either <integer> or
// <real>: Apple declares DownloadSize as integer but macOS has been seen
// sending it as real, and capacities and battery levels are real. Decoding
// accepts both; NaN and infinities are refused because no device value can
// mean them and they would poison comparisons. It marshals as <real>.
type Number float64

// ErrNotFinite is returned when a plist number is NaN or infinite.
var ErrNotFinite = errors.New("number is not finite")

// UnmarshalPlist accepts <real> and <integer> (signed or unsigned).
func (n *Number) UnmarshalPlist(f func(any) error) error {
	var r float64
	if err := f(&r); err == nil {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return ErrNotFinite
		}
		*n = Number(r)
		return nil
	}
	// Unsigned first: the parser stores non-negative integers unsigned, and
	// reading a huge one as int64 would wrap it negative.
	var u uint64
	if err := f(&u); err == nil {
		*n = Number(u)
		return nil
	}
	var i int64
	if err := f(&i); err != nil {
		return fmt.Errorf("expected a number: %w", err)
	}
	*n = Number(i)
	return nil
}

// MarshalPlist writes the value as <real>.
func (n Number) MarshalPlist() (any, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, ErrNotFinite
	}
	return f, nil
}

// Float64 returns the value as a float64.
func (n Number) Float64() float64 { return float64(n) }

// Int64 returns the value rounded to the nearest integer, for byte sizes.
func (n Number) Int64() int64 { return int64(math.Round(float64(n))) }
