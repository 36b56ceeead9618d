package legacy

import (
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
)

// observeStatus reads a new OSUpdateStatus answer for the target.
func (p *pass) observeStatus() {
	t, us := p.t, p.us
	if !us.StatusAt.After(t.Seen.Status) {
		return
	}
	at := us.StatusAt
	t.Seen.Status = at
	key := t.productKey()
	if key == "" {
		return
	}
	var item *mdm.OSUpdateStatusItem
	for i := range us.Status {
		if us.Status[i].ProductKey == key {
			item = &us.Status[i]
			break
		}
	}
	if item == nil {
		p.statusMissing(at)
		return
	}
	p.recordStatus(item, at)
	switch m := item.Meaning(); m.Class {
	case mdm.UpdateInProgress:
		t.Condition = nil
		if item.Status == mdm.UpdateStatusInstalling {
			p.installing(at)
		} else {
			p.downloadCheck(item, at)
		}
	case mdm.UpdateIdle:
		t.Condition = nil
		p.idleCheck(item, at)
	case mdm.UpdateWaiting, mdm.UpdateBlocked:
		if t.Condition == nil || t.Condition.Status != item.Status {
			t.Condition = &Condition{Code: conditionCode(item.Status), Status: item.Status, Since: at}
			t.logf(at, "waiting", "the device reports %s: %s", item.Status, m.Remedy)
		}
	case mdm.UpdateFailed:
		t.Condition, t.Downloaded = nil, item.IsDownloaded
		p.fail(enforcement.CodeUpdateFailed, mdm.RequestOSUpdateStatus, item.Status, item.Status, nil, at)
	}
}

func (p *pass) recordStatus(item *mdm.OSUpdateStatusItem, at time.Time) {
	t := p.t
	prev := t.LastStatus
	pct := item.DownloadPercentComplete.Float64()
	t.LastStatus = &Status{At: at, Status: item.Status, Percent: pct, Downloaded: item.IsDownloaded}
	if prev == nil || prev.Status != item.Status || prev.Downloaded != item.IsDownloaded {
		t.logf(at, "status", "%s, %.0f %% downloaded", item.Status, pct*100)
	}
	if prev != nil && pct > prev.Percent {
		p.progress()
	}
	if item.IsDownloaded && !t.Downloaded {
		t.Downloaded = true
		t.logf(at, "downloaded", "the device has the update")
		p.progress()
	}
}

func conditionCode(status string) enforcement.Code {
	switch status {
	case mdm.UpdateStatusDownloadInsufficientPower, mdm.UpdateStatusInstallInsufficientPower:
		return enforcement.CodeBatteryLow
	case mdm.UpdateStatusDownloadInsufficientSpace, mdm.UpdateStatusInstallInsufficientSpace:
		return enforcement.CodeInsufficientSpace
	case mdm.UpdateStatusDownloadInsufficientNetwork:
		return enforcement.CodeNetworkInsufficient
	case mdm.UpdateStatusInstallPhoneCallInProgress:
		return "" // over in minutes: retried shortly, nothing to explain
	}
	return enforcement.CodeUpdateFailed // e.g. DownloadRequiresComputer
}

func (p *pass) installing(at time.Time) {
	t := p.t
	t.Phase, t.IdlePolls, t.ZeroProgress = PhaseInstalling, 0, nil
	if t.InstallStartedAt.IsZero() {
		t.InstallStartedAt = at
		t.logf(at, "install_started", "the device is installing")
		p.progress()
	}
}

// downloadCheck counts zero-progress checks at least stallGap apart; after
// StallChecks of them the download is taken as done (a known reporting bug
// of macOS 12.3+) and the install is requested.
func (p *pass) downloadCheck(item *mdm.OSUpdateStatusItem, at time.Time) {
	t := p.t
	if item.DownloadPercentComplete.Float64() > 0 || item.IsDownloaded {
		t.ZeroProgress = nil
		return
	}
	if n := len(t.ZeroProgress); n > 0 && at.Sub(t.ZeroProgress[n-1]) < p.cfg.stallGap() {
		return
	}
	t.ZeroProgress = append(t.ZeroProgress, at)
	t.logf(at, "zero_progress", "check %d of %d at 0 %%", len(t.ZeroProgress), p.cfg.StallChecks)
	if len(t.ZeroProgress) >= p.cfg.StallChecks && !t.Assumed {
		t.Assumed, t.Downloaded, t.Phase = true, true, PhaseReady
		t.logf(at, "download_stalled", "no progress over %d checks since %s: assuming it is downloaded, going on to install",
			len(t.ZeroProgress), stamp(t.ZeroProgress[0]))
	}
}

// idleCheck: Idle is normal after a finished DownloadOnly and while the
// user decides (InstallLater); after an install request it is the macOS 13
// habit of accepting and never starting.
func (p *pass) idleCheck(item *mdm.OSUpdateStatusItem, at time.Time) {
	t := p.t
	switch t.Phase {
	case PhaseDownloading:
		if item.IsDownloaded {
			t.Phase = PhaseReady
			return
		}
	case PhaseInstalling:
	default:
		return
	}
	t.IdlePolls++
	t.logf(at, "idle", "idle %d of %d checks after the %s request", t.IdlePolls, p.cfg.IdleLimit, t.LastAction.InstallAction)
	if t.IdlePolls >= p.cfg.IdleLimit {
		p.triggerFallback(enforcement.CodeIdleAfterInstallRequest, at)
	}
}

// statusMissing: the target left the device's status list. After an
// install that started (or a finished download) that means it installed:
// verification tells. Otherwise the device dropped it.
func (p *pass) statusMissing(at time.Time) {
	t := p.t
	switch t.Phase {
	case PhaseInstalling, PhaseInstallLater, PhaseDownloading:
	default:
		return
	}
	t.Condition = nil
	if t.Phase != PhaseDownloading && (!t.InstallStartedAt.IsZero() || t.Downloaded) {
		t.Phase, t.VerifyStartedAt = PhaseVerifying, at
		t.logf(at, "install_ended", "the update left the status list; verifying the installed version")
		return
	}
	// Never started installing: the device dropped the request (a restart,
	// a cleared cache). It is offered again.
	t.Phase, t.Downloaded = PhaseReady, false
	t.logf(at, "dropped", "the device no longer lists the scheduled update; offering it again")
}

// fail records a failure, backs off and, after FallbackAfter failures in a
// row, stops forcing. The track goes back to ready so the update is
// offered again after the backoff.
func (p *pass) fail(code enforcement.Code, requestType, status, detail string, chain []mdm.ErrorChainItem, at time.Time) {
	p.failInPlace(code, requestType, status, detail, chain, at)
	t := p.t
	switch code {
	case enforcement.CodeStatusErrorNoDetail:
		// The status query failed, not the update: poll again next time,
		// but a repeating one ends forcing like any failure.
		p.fallBackAfterRepeats(at)
		return
	case enforcement.CodeProductKeyNotFound:
		// The device no longer offers what it was asked for: scan again now.
		t.Offer, t.Phase = nil, PhaseFind
		p.rec.Scan.RescanAt = at
		return
	case enforcement.CodeInstallActionUnsupported:
		// A first scan can list only a full installer; the next one is complete.
		t.Backoff = at.Add(p.cfg.ScanInterval)
		p.rec.Scan.RescanAt = at.Add(p.cfg.ScanInterval)
	}
	t.Phase = PhaseReady
	t.IdlePolls, t.InstallStartedAt, t.RuntimeExceeded = 0, time.Time{}, false
	p.fallBackAfterRepeats(at)
}

// fallBackAfterRepeats stops forcing after FallbackAfter counted failures
// in a row.
func (p *pass) fallBackAfterRepeats(at time.Time) {
	t := p.t
	if f := t.LastFailure; f != nil && f.Counted && t.InARow >= p.cfg.FallbackAfter {
		p.triggerFallback(f.Code, at)
	}
}

// failInPlace records a failure without changing the phase (the device
// may still be working on it, so it never triggers the fallback either).
func (p *pass) failInPlace(code enforcement.Code, requestType, status, detail string, chain []mdm.ErrorChainItem, at time.Time) {
	t := p.t
	info, _ := enforcement.LookupReason(code)
	counted := info.Severity == enforcement.SeverityFailed
	t.LastFailure = &Failure{Code: code, At: at, RequestType: requestType, Status: status, Detail: detail,
		Counted: counted, ErrorChain: chain}
	t.FailureOpen = true
	if counted {
		t.Failures++
		t.InARow++
	}
	t.Backoff = at.Add(p.cfg.backoff(max(t.InARow, 1)))
	t.logf(at, "failed", "%s (%s %s): %s", code, requestType, status, orText(detail, "no detail"))
}

// progress: the device moved forward, so earlier failures no longer
// explain it and stop counting towards the fallback.
func (p *pass) progress() {
	t := p.t
	t.InARow, t.FailureOpen, t.Backoff = 0, false, time.Time{}
}

// triggerFallback stops forcing: the user is asked instead, the deadline
// stands. In a fallback already, a failed forced attempt just waits for
// the next offer.
func (p *pass) triggerFallback(because enforcement.Code, at time.Time) {
	t := p.t
	t.Phase, t.IdlePolls, t.InstallStartedAt = PhaseReady, 0, time.Time{}
	if t.Fallback != nil {
		t.logf(at, "fallback_kept", "the offer failed again (%s); next offer after %s", because, p.cfg.FallbackRetry)
		return
	}
	t.Fallback = &Fallback{Because: because, RequestedAt: at, Action: p.fallbackAction()}
	t.Backoff = time.Time{}
	t.logf(at, "fallback_requested", "forcing stopped after %s; asking the user with %s", because, t.Fallback.Action)
}

// fallbackAction is the user-driven request: InstallLater (or NotifyOnly
// for items that cannot wait) on macOS; iOS has neither, so the update is
// downloaded and the user installs it from Settings.
func (p *pass) fallbackAction() string {
	if !p.isMac() {
		return mdm.InstallActionDownloadOnly
	}
	if o := p.t.Offer; o != nil && !o.AllowsInstallLater {
		return mdm.InstallActionNotifyOnly
	}
	return mdm.InstallActionInstallLater
}
