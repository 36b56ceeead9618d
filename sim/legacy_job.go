package sim

import (
	"slices"
	"strings"

	"github.com/tidemark-mdm/tidemark/mdm"
)

type jobPhase int

const (
	phaseDownloading    jobPhase = iota
	phaseDownloaded              // waits for the user or a later install request
	phaseReadyToInstall          // downloaded; the install starts at the next step
	phaseInstalling
	phaseFailed // the install failed; failure says why
)

// legacyJob is one scheduled update on its way to being installed.
type legacyJob struct {
	item         mdm.AvailableOSUpdate
	action       string
	maxDeferrals *int
	phase        jobPhase
	step         int // download steps done
	installLeft  int
	status       string
	failure      []mdm.ErrorChainItem
}

// reschedule applies a (repeated) request: a later InstallASAP turns a
// finished DownloadOnly into an install, and the reverse parks it.
func (j *legacyJob) reschedule(req mdm.OSUpdateItem, downloadSteps int) {
	j.action = req.InstallAction
	j.maxDeferrals = nil
	if req.MaxUserDeferrals != nil {
		n := *req.MaxUserDeferrals
		j.maxDeferrals = &n
	}
	if j.step < downloadSteps {
		return
	}
	switch {
	case j.phase == phaseDownloaded && installs(j.action):
		j.phase = phaseReadyToInstall
	case j.phase == phaseReadyToInstall && !installs(j.action):
		j.phase, j.status = phaseDownloaded, mdm.UpdateStatusIdle
	}
}

func (j *legacyJob) statusItem(downloadSteps int) mdm.OSUpdateStatusItem {
	it := mdm.OSUpdateStatusItem{
		ProductKey:              j.item.ProductKey,
		IsDownloaded:            j.step >= downloadSteps,
		DownloadPercentComplete: mdm.Number(float64(j.step) / float64(downloadSteps)),
		Status:                  j.status,
	}
	if j.action == mdm.InstallActionInstallLater && j.maxDeferrals != nil {
		// The simulated user has not deferred yet.
		maxN, left := *j.maxDeferrals, *j.maxDeferrals
		it.MaxDeferrals, it.DeferralsRemaining = &maxN, &left
	}
	return it
}

// step advances every job; finished ones restart the device on the new
// version and leave the catalog.
func (l *Legacy) step() {
	a := l.d.Attributes()
	var done []*legacyJob
	for _, j := range l.jobs {
		if l.advance(j, a) {
			done = append(done, j)
		}
	}
	for _, j := range done {
		l.finish(j)
	}
	l.jobs = slices.DeleteFunc(l.jobs, func(j *legacyJob) bool {
		return !slices.ContainsFunc(l.catalog, func(it mdm.AvailableOSUpdate) bool { return it.ProductKey == j.item.ProductKey })
	})
}

// advance moves one job by one step and reports whether it is installed.
func (l *Legacy) advance(j *legacyJob, a Attributes) bool {
	if l.faults.IdleAfterInstall && j.phase != phaseInstalling {
		j.status = mdm.UpdateStatusIdle
		return false
	}
	switch j.phase {
	case phaseDownloading:
		l.download(j, a)
	case phaseReadyToInstall:
		l.startInstall(j, a)
	case phaseInstalling:
		j.installLeft--
		return j.installLeft <= 0
	}
	return false
}

func (l *Legacy) download(j *legacyJob, a Attributes) {
	switch {
	case !hasSpaceFor(a, j.item):
		j.status = mdm.UpdateStatusDownloadInsufficientSpace
	case l.faults.DownloadStuck:
		j.status = mdm.UpdateStatusDownloading
	default:
		j.step++
		j.status = mdm.UpdateStatusDownloading
		if j.step < l.downloadSteps {
			return
		}
		j.step, j.phase = l.downloadSteps, phaseReadyToInstall
		if !installs(j.action) {
			j.phase, j.status = phaseDownloaded, mdm.UpdateStatusIdle
		}
	}
}

func (l *Legacy) startInstall(j *legacyJob, a Attributes) {
	switch {
	case lowPower(a):
		j.status = mdm.UpdateStatusInstallInsufficientPower
	case l.faults.PersonalizationFailure:
		j.phase, j.status, j.failure = phaseFailed, mdm.UpdateStatusInstallFailed, PersonalizationErrorChain()
	default:
		j.phase, j.status, j.installLeft = phaseInstalling, mdm.UpdateStatusInstalling, l.installSteps
	}
}

// finish installs a job's update: OS updates change the attributes that
// DeviceInformation reports, and every update the new OS supersedes
// leaves the catalog.
func (l *Legacy) finish(j *legacyJob) {
	it := j.item
	l.installed = append(l.installed, it.ProductKey)
	gone := func(o mdm.AvailableOSUpdate) bool { return o.ProductKey == it.ProductKey || supersedes(it, o) }
	l.catalog = slices.DeleteFunc(l.catalog, gone)
	l.listed = slices.DeleteFunc(l.listed, gone)
	if isOSUpdate(it) {
		l.d.Update(func(a *Attributes) { applyInstalled(a, it) })
	}
}

func applyInstalled(a *Attributes, it mdm.AvailableOSUpdate) {
	if it.IsSecurityResponse {
		a.SupplementalBuild = it.SupplementalBuildVersion
		if a.SupplementalBuild == "" {
			a.SupplementalBuild = it.Build
		}
		a.SupplementalExtra = it.SupplementalOSVersionExtra
		return
	}
	a.OSVersion, a.BuildVersion = strings.TrimSpace(it.Version), it.Build
	a.SupplementalBuild, a.SupplementalExtra = "", ""
}

// supersedes reports whether installing a full OS update makes o pointless.
func supersedes(installed, o mdm.AvailableOSUpdate) bool {
	if installed.IsSecurityResponse || !isOSUpdate(installed) || !isOSUpdate(o) {
		return false
	}
	v, _ := installed.ParsedVersion()
	ov, _ := o.ParsedVersion()
	return ov.Compare(v) <= 0
}

// hasSpaceFor: a download needs free space of twice its size (the package
// and its expanded form).
func hasSpaceFor(a Attributes, it mdm.AvailableOSUpdate) bool {
	return a.FreeGB*1e9 >= 2*it.DownloadSize.Float64()
}

// lowPower: installs wait for 50 % battery or power; desktops report -1.
func lowPower(a Attributes) bool {
	return a.BatteryLevel >= 0 && a.BatteryLevel < 0.5 && !a.OnPower
}
