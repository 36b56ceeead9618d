package rollout

import (
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// Add forecasts one device: evaluated afresh with its ring's deadline,
// with the stored standing for failures.
func (fc *Forecaster) Add(d *ForecastDevice) {
	g := Apply(fc.p, &d.Facts, fc.cat, fc.st, fc.now)
	p := g.Policy
	p.Paused = false // forecast the policy as if it ran
	ev := enforcement.Evaluate(d.Facts, p, fc.cat, fc.now, fc.opts)
	stored := enforcement.Evaluation{DeviceID: d.Facts.ID, Compliance: d.State.Compliance, Step: d.State.Step, Reason: d.Reason}
	_, _, failingBefore := Classify(&stored)
	switch ev.Reason.Code {
	case enforcement.CodeNotInScope, enforcement.CodeNotEnrolled, enforcement.CodePlatformUnsupported:
		return
	}
	fc.f.InScope++
	deadline, daysLeft := fc.noteDeadline(&d.Facts, ev.Target.LocalDeadline)
	if ev.Compliance == enforcement.Installed || ev.Reason.Code == enforcement.CodeAlreadyNewer {
		fc.f.CompliantNow++
		if !d.State.InstalledAt.IsZero() {
			fc.attempted++ // installed by this policy: a success among attempts
		}
		return
	}
	_, _, failingNow := Classify(&ev)
	failing := failingNow || failingBefore
	inProgress := busy(ev.Step) && !failing
	if inProgress || failing {
		fc.attempted++
	}
	if failing {
		fc.failing++
	}
	plan := enforcement.Plan(d.Facts, p, fc.cat, fc.now, fc.opts)
	risks := fc.risksOf(d, &ev, &plan, deadline, failing)
	likely := false
	for _, r := range risks {
		likely = likely || r.Likely
		fc.risks[r.Code]++
	}
	switch {
	case len(risks) == 0 && inProgress:
		fc.f.InProgress++
	case len(risks) == 0:
		fc.f.Clear++
	}
	if !likely {
		fc.open++
	}
	if len(risks) == 0 {
		return
	}
	fc.f.AtRiskTotal++
	if likely {
		fc.f.LikelyMiss++
	}
	fc.f.AtRisk = append(fc.f.AtRisk, AtRisk{DeviceID: d.Facts.ID, Platform: d.Facts.Platform, OSVersion: d.Facts.OSVersion,
		Ring: g.RingName, Compliance: ev.Compliance, Step: ev.Step, LocalDeadline: ev.Target.LocalDeadline,
		DaysLeft: daysLeft, Likely: likely, Risks: risks})
}

// noteDeadline records the device's deadline in the policy's span and
// returns it as an instant (in the device's zone, UTC when unknown) with
// the whole days left (nil without a deadline).
func (fc *Forecaster) noteDeadline(f *enforcement.DeviceFacts, local string) (time.Time, *int) {
	wall, err := enforcement.ParseLocalDateTime(local)
	if err != nil {
		return time.Time{}, nil
	}
	if fc.f.Deadline == "" || local < fc.f.Deadline {
		fc.f.Deadline = local
	}
	if local > fc.f.LatestDeadline {
		fc.f.LatestDeadline = local
	}
	loc := f.Location
	if loc == nil {
		loc = time.UTC
	}
	at := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
	if fc.earliest.IsZero() || at.Before(fc.earliest) {
		fc.earliest = at
	}
	days := daysUntil(at, fc.now)
	return at, &days
}

func busy(s enforcement.Step) bool {
	switch s {
	case enforcement.StepDownloading, enforcement.StepPrepared, enforcement.StepInstalling,
		enforcement.StepPendingRestart, enforcement.StepVerifying:
		return true
	}
	return false
}

// risksOf lists every reason the device may miss the deadline, once each.
func (fc *Forecaster) risksOf(d *ForecastDevice, ev *enforcement.Evaluation, plan *enforcement.DevicePlan, deadline time.Time, failing bool) []Risk {
	var out []Risk
	seen := map[enforcement.Code]bool{}
	add := func(r enforcement.Reason, likely bool) {
		if r.IsZero() || seen[r.Code] {
			return
		}
		seen[r.Code] = true
		out = append(out, Risk{Code: r.Code, Likely: likely, Message: r.Message, Remedy: r.Remedy})
	}
	legacy := plan.Path == enforcement.PathLegacy
	fc.failureRisk(d, ev, failing, add)
	switch ev.Reason.Code {
	case enforcement.CodeNoReleaseForModel, enforcement.CodeReleaseExpired, enforcement.CodeNotCheckingIn:
		add(ev.Reason, true)
	case enforcement.CodeStatusUnknown, enforcement.CodeDeviceIDUnknown:
		add(ev.Reason, false)
	}
	if exp := ev.Target.Expires; !exp.IsZero() && !deadline.IsZero() && !exp.After(deadline) {
		add(enforcement.NewReason(enforcement.CodeReleaseExpiresBeforeDeadline, "target", ev.Target.OSVersion,
			"expires", exp.Format("2006-01-02"), "deadline", ev.Target.LocalDeadline), true)
	}
	for _, r := range plan.Reasons {
		switch r.Code {
		case enforcement.CodeNotSupervised, enforcement.CodeDDMUnavailable, enforcement.CodeNotCheckingIn:
			add(r, true)
		case enforcement.CodeBootstrapTokenMissing:
			// With DDM the user can still authorise the install at the
			// deadline; the MDM commands cannot install without it.
			add(r, legacy)
		case enforcement.CodeAwaitingBootstrapToken, enforcement.CodePushFailing, enforcement.CodeBatteryLow:
			add(r, false)
		case enforcement.CodeInsufficientSpace:
			if fc.updateSize(d, ev) == 0 {
				add(r, false)
			}
		}
	}
	fc.deviceRisks(d, ev, add)
	return out
}

// failureRisk: a device that failed twice or more is likely to fail
// again; once is a risk the device's own retry may clear.
func (fc *Forecaster) failureRisk(d *ForecastDevice, ev *enforcement.Evaluation, failing bool, add func(enforcement.Reason, bool)) {
	count, detail := 0, ""
	if dd := d.Facts.DDM; dd != nil {
		count, detail = dd.FailureCount, dd.FailureReason
	}
	for _, r := range []enforcement.Reason{ev.Reason, d.Reason} {
		if n, err := strconv.Atoi(r.Details["count"]); err == nil && n > count {
			count, detail = n, r.Details["detail"]
		}
	}
	switch {
	case count >= 2:
		if detail == "" {
			detail = "no reason given"
		}
		add(enforcement.NewReason(enforcement.CodeFailingRepeatedly, "count", strconv.Itoa(count), "detail", detail), true)
	case failing && ev.Reason.Severity == enforcement.SeverityFailed:
		add(ev.Reason, false)
	case failing:
		add(d.Reason, false)
	}
}

// deviceRisks: conditions the plan does not weigh on every path. The OS
// will not install below half battery off power on either path, and the
// update's own size, when the device listed it, beats the default.
func (fc *Forecaster) deviceRisks(d *ForecastDevice, ev *enforcement.Evaluation, add func(enforcement.Reason, bool)) {
	f := &d.Facts
	if f.Battery != nil && *f.Battery < minBattery(fc.opts) && (f.OnPower == nil || !*f.OnPower) {
		add(enforcement.NewReason(enforcement.CodeBatteryLow, "battery", strconv.Itoa(int(*f.Battery*100+0.5))+" %"), false)
	}
	if size := fc.updateSize(d, ev); size > 0 && f.FreeSpace != nil && *f.FreeSpace < size {
		add(enforcement.NewReason(enforcement.CodeInsufficientSpace, "free", gigabytes(*f.FreeSpace), "needed", gigabytes(size)), false)
	}
}

func (fc *Forecaster) updateSize(d *ForecastDevice, ev *enforcement.Evaluation) int64 {
	return d.UpdateSizes[ev.Target.OSVersion]
}

func minBattery(o enforcement.Options) float64 {
	if o.MinBattery > 0 {
		return o.MinBattery
	}
	return 0.5
}

// gigabytes prints decimal gigabytes, as the enforcement reasons do.
func gigabytes(n int64) string {
	return strconv.FormatFloat(float64(n)/1e9, 'f', 1, 64) + " GB"
}
