// Package rollout is the pure logic of rollout control: which ring a
// device is in and when that ring starts, the device's own deadline (ring
// offset, maintenance window time of day), whether a legacy install fits
// in a maintenance window now, when a policy pauses itself because too
// many of its devices fail, and the readiness forecast. It does no I/O;
// time comes from the caller. The reconcile worker keeps a State per
// policy (see Collection) and consults Apply before delivering.
package rollout
