package enforcement

import (
	"fmt"
	"strconv"
	"time"
)

// precondition is a reason found before anything is sent. blocks means
// nothing is delivered while it holds; otherwise the plan goes ahead and the
// reason explains why progress may stall.
type precondition struct {
	reason Reason
	blocks bool
}

// checkPreconditions lists what stands between the device and the update,
// blocking ones first.
func checkPreconditions(a *assessment) []precondition {
	f := &a.f
	if !a.versionKnown {
		return nil
	}
	var blocking, waiting []precondition
	add := func(blocks bool, r Reason) {
		if blocks {
			blocking = append(blocking, precondition{r, true})
		} else {
			waiting = append(waiting, precondition{r, false})
		}
	}
	if a.path == PathNone {
		add(true, NewReason(CodeDDMUnavailable, "platform", f.Platform, "version", f.OSVersion))
	}
	// macOS needs supervision on both paths; iOS only for the MDM commands
	// (the enforcement declaration works on unsupervised iPhones and iPads).
	if !f.Supervised && (f.Platform == "macOS" || a.path == PathLegacy) {
		add(true, NewReason(CodeNotSupervised))
	}
	if r, ok := bootstrapCheck(a); ok {
		// With DDM the user can still authorise the install at the
		// deadline, so the declaration goes out; the MDM commands cannot.
		add(a.path == PathLegacy && r.Code == CodeBootstrapTokenMissing, r)
	}
	if f.LastSeen.IsZero() || a.now.Sub(f.LastSeen) > a.opts.CheckInThreshold {
		add(false, NewReason(CodeNotCheckingIn, "last_seen", formatSeen(f.LastSeen)))
	}
	if f.PushFailing {
		add(false, NewReason(CodePushFailing))
	}
	if a.path == PathLegacy && batteryLow(f, a.opts.MinBattery) {
		add(false, NewReason(CodeBatteryLow, "battery", strconv.Itoa(int(*f.Battery*100+0.5))+" %"))
	}
	if need := a.opts.minFreeSpace(f.Platform); f.FreeSpace != nil && *f.FreeSpace < need {
		add(false, NewReason(CodeInsufficientSpace, "free", formatBytes(*f.FreeSpace), "needed", formatBytes(need)))
	}
	return append(blocking, waiting...)
}

// bootstrapCheck: an Apple silicon Mac that needs a bootstrap token for
// updates and has none escrowed. Right after enrolment the token is
// usually on its way, so it is "awaiting" during the grace period.
func bootstrapCheck(a *assessment) (Reason, bool) {
	f := &a.f
	if f.Platform != "macOS" || !f.AppleSilicon || f.BootstrapEscrowed ||
		f.BootstrapRequired == nil || !*f.BootstrapRequired {
		return Reason{}, false
	}
	if !f.EnrolledAt.IsZero() && a.now.Sub(f.EnrolledAt) < a.opts.BootstrapGrace {
		return NewReason(CodeAwaitingBootstrapToken), true
	}
	return NewReason(CodeBootstrapTokenMissing), true
}

func batteryLow(f *DeviceFacts, min float64) bool {
	if f.Battery == nil || *f.Battery >= min {
		return false
	}
	return f.OnPower == nil || !*f.OnPower
}

func (o Options) minFreeSpace(platform string) int64 {
	if platform == "macOS" {
		return o.MinFreeSpaceMac
	}
	return o.MinFreeSpaceMobile
}

func formatSeen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// formatBytes prints decimal gigabytes (as Finder and Settings do).
func formatBytes(n int64) string {
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}
