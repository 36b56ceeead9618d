//go:build race

package server_test

// raceDetector: under -race every request costs several times more CPU,
// so the fleet test runs fewer devices (the same mix of conditions).
const raceDetector = true
