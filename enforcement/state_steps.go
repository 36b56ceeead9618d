package enforcement

import (
	"strconv"
	"strings"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// ddmStep reads the status report: our declaration's status, then the
// software-update status items.
func (a *assessment) ddmStep() (Step, Reason) {
	d := a.f.DDM
	if d == nil {
		return StepPlanned, Reason{}
	}
	st, found := findDeclaration(d, DeclarationIdentifier(a.p.ID))
	if found && (st.Valid == "invalid" || (!st.Active && len(st.Reasons) > 0)) {
		return StepFailed, NewReason(CodeDeclarationRejected, "detail", describeStatusReasons(st))
	}
	failure := Reason{}
	if d.FailureCount > 0 || d.InstallState == "failed" {
		failure = NewReason(CodeUpdateFailed, "count", strconv.Itoa(d.FailureCount), "detail", orText(d.FailureReason, "no reason given"))
	}
	otherPending := d.PendingOSVersion != "" && !sameVersion(d.PendingOSVersion, a.target.OSVersion)
	switch d.InstallState {
	case "failed":
		return StepFailed, failure
	case "downloading", "prepared", "installing", "waiting":
		if otherPending {
			return StepWaiting, NewReason(CodeQueuedBehindOtherTarget, "pending", d.PendingOSVersion)
		}
		// A new attempt after earlier failures: show progress, keep the
		// failure history visible.
		return Step(d.InstallState), failure
	}
	switch {
	case !failure.IsZero():
		return StepFailed, failure
	case !found:
		return StepPlanned, Reason{}
	case otherPending:
		return StepWaiting, NewReason(CodeQueuedBehindOtherTarget, "pending", d.PendingOSVersion)
	case st.Active:
		return StepDelivered, Reason{}
	}
	return StepPlanned, Reason{}
}

func findDeclaration(d *DDMFacts, identifier string) (DeclarationStatus, bool) {
	for _, s := range d.Declarations {
		if s.Identifier == identifier {
			return s, true
		}
	}
	return DeclarationStatus{}, false
}

// describeStatusReasons joins the device's error codes and descriptions.
func describeStatusReasons(st DeclarationStatus) string {
	if len(st.Reasons) == 0 {
		return "marked " + orText(st.Valid, "invalid") + " without a reason"
	}
	parts := make([]string, 0, len(st.Reasons))
	for _, r := range st.Reasons {
		if r.Description != "" {
			parts = append(parts, r.Code+" ("+r.Description+")")
		} else {
			parts = append(parts, r.Code)
		}
	}
	return strings.Join(parts, ", ")
}

// sameVersion compares two versions ignoring a security-improvement extra:
// pending-version carries "(a)" when the improvement is pending.
func sameVersion(a, b string) bool {
	va, err1 := osversion.Parse(a)
	vb, err2 := osversion.Parse(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return va.Base() == vb.Base()
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// legacyStep reads what the MDM update commands reported.
func (a *assessment) legacyStep() (Step, Reason) {
	lf := a.f.Legacy
	switch {
	case lf == nil:
		return StepPlanned, Reason{}
	case lf.ScheduledAction == "Error":
		return StepFailed, NewReason(CodeScheduleFailed, "detail", "the device answered InstallAction Error")
	case !lf.Offered && !lf.ScannedAt.IsZero():
		return StepWaiting, NewReason(CodeProductKeyNotFound, "target", a.target.OSVersion)
	}
	if step, reason, ok := a.legacyStatus(lf.Status); ok {
		return step, reason
	}
	switch {
	case lf.IsDownloaded && lf.ScheduledAction == "InstallLater":
		return StepPendingRestart, Reason{}
	case lf.IsDownloaded:
		return StepPrepared, Reason{}
	case lf.ScheduledAction != "":
		return StepDelivered, Reason{}
	}
	return StepPlanned, Reason{}
}

// legacyStatus maps OSUpdateStatus's Status values.
func (a *assessment) legacyStatus(status string) (Step, Reason, bool) {
	f := &a.f
	switch status {
	case "Downloading":
		return StepDownloading, Reason{}, true
	case "Installing":
		return StepInstalling, Reason{}, true
	case "DownloadFailed", "InstallFailed", "DownloadRequiresComputer":
		return StepFailed, NewReason(CodeUpdateFailed, "count", "unknown", "detail", status), true
	case "DownloadInsufficientSpace", "InstallInsufficientSpace":
		free := "unknown"
		if f.FreeSpace != nil {
			free = formatBytes(*f.FreeSpace)
		}
		return StepWaiting, NewReason(CodeInsufficientSpace, "free", free,
			"needed", formatBytes(a.opts.minFreeSpace(f.Platform))), true
	case "DownloadInsufficientPower", "InstallInsufficientPower":
		level := "unknown"
		if f.Battery != nil {
			level = strconv.Itoa(int(*f.Battery*100+0.5)) + " %"
		}
		return StepWaiting, NewReason(CodeBatteryLow, "battery", level), true
	case "DownloadInsufficientNetwork":
		return StepWaiting, NewReason(CodeNetworkInsufficient), true
	case "InstallPhoneCallInProgress":
		return StepWaiting, Reason{}, true
	}
	return "", Reason{}, false
}
