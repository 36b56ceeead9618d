package storage

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateIDs(t *testing.T) {
	cases := []struct {
		id          string
		device, cmd bool
	}{
		{"00008030-001A2B3C4D5E802E", true, true},
		{"a", true, true},
		{"Z9._-", true, true},
		{"mac:01", true, false}, // ':' only in device ids (user channels)
		{"", false, false},
		{"-leading", false, false},
		{".leading", false, false},
		{"has space", false, false},
		{"slash/inside", false, false},
		{"nul\x00byte", false, false},
		{"é", false, false},
		{strings.Repeat("a", 64), true, true},
		{strings.Repeat("a", 65), true, false},
		{strings.Repeat("a", 128), true, false},
		{strings.Repeat("a", 129), false, false},
	}
	for _, tc := range cases {
		if err := ValidateDeviceID(tc.id); (err == nil) != tc.device || (err != nil && !errors.Is(err, ErrInvalidID)) {
			t.Errorf("ValidateDeviceID(%q) = %v, want ok=%v", tc.id, err, tc.device)
		}
		if err := ValidateCommandUUID(tc.id); (err == nil) != tc.cmd || (err != nil && !errors.Is(err, ErrInvalidID)) {
			t.Errorf("ValidateCommandUUID(%q) = %v, want ok=%v", tc.id, err, tc.cmd)
		}
	}
}
