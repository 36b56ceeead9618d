package sim

import (
	"slices"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

func (l *Legacy) answerSchedule(d *Device, c *IncomingCommand) Answer {
	var env struct{ Command mdm.ScheduleOSUpdate }
	if err := mdm.DecodePlist(c.Raw, &env); err != nil || len(env.Command.Updates) == 0 {
		return Answer{Status: mdm.StatusCommandFormatError}
	}
	platform := d.Attributes().Platform
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.faults.ScheduleError {
		return Answer{Status: mdm.StatusError, ErrorChain: ScheduleErrorChain()}
	}
	l.ensureScanned()
	found := make([]*mdm.AvailableOSUpdate, len(env.Command.Updates))
	for i, req := range env.Command.Updates {
		found[i] = l.resolve(req)
		// A version the device cannot match fails the whole command: there
		// is no ProductKey to report a per-update result under.
		if found[i] == nil && req.ProductKey == "" {
			return Answer{Status: mdm.StatusError, ErrorChain: VersionNotAvailableChain(req.ProductVersion)}
		}
	}
	results := make([]mdm.UpdateResult, 0, len(found))
	for i, req := range env.Command.Updates {
		results = append(results, l.schedule(platform, req, found[i]))
	}
	return Answer{Status: mdm.StatusAcknowledged, Fields: map[string]any{"UpdateResults": results}}
}

// resolve finds a requested update in what the last scan offered.
func (l *Legacy) resolve(req mdm.OSUpdateItem) *mdm.AvailableOSUpdate {
	want, err := osversion.Parse(req.ProductVersion)
	for i, it := range l.listed {
		if req.ProductKey != "" && it.ProductKey == req.ProductKey {
			return &l.listed[i]
		}
		if req.ProductVersion != "" && err == nil && isOSUpdate(it) {
			if v, ok := it.ParsedVersion(); ok && v.Compare(want) == 0 {
				return &l.listed[i]
			}
		}
	}
	return nil
}

// schedule answers one requested update and starts or changes its job.
func (l *Legacy) schedule(platform string, req mdm.OSUpdateItem, it *mdm.AvailableOSUpdate) mdm.UpdateResult {
	if it == nil {
		return mdm.UpdateResult{ProductKey: req.ProductKey, InstallAction: mdm.InstallActionError,
			Status: mdm.UpdateStatusIdle, ErrorChain: UpdateNotAvailableChain(req.ProductKey)}
	}
	key := it.ProductKey
	if !actionSupported(platform, req.InstallAction) || slices.Contains(l.faults.ActionUnsupported, key) {
		return mdm.UpdateResult{ProductKey: key, InstallAction: mdm.InstallActionError,
			Status: mdm.UpdateStatusIdle, ErrorChain: ActionUnsupportedChain(key, req.InstallAction)}
	}
	j := l.job(key)
	if j != nil && j.phase == phaseFailed {
		// The device reports why the last attempt failed and tries again.
		chain := j.failure
		j.phase, j.failure, j.action = phaseReadyToInstall, nil, req.InstallAction
		return mdm.UpdateResult{ProductKey: key, InstallAction: mdm.InstallActionError,
			Status: mdm.UpdateStatusInstallFailed, ErrorChain: chain}
	}
	if j == nil {
		j = &legacyJob{item: *it, phase: phaseDownloading, status: mdm.UpdateStatusDownloading}
		l.jobs = append(l.jobs, j)
	}
	j.reschedule(req, l.downloadSteps)
	if l.faults.IdleAfterInstall {
		j.status = mdm.UpdateStatusIdle
	}
	return mdm.UpdateResult{ProductKey: key, InstallAction: j.action, Status: j.status}
}

func (l *Legacy) job(key string) *legacyJob {
	for _, j := range l.jobs {
		if j.item.ProductKey == key {
			return j
		}
	}
	return nil
}

// actionSupported mirrors the platforms of Apple's schema: iOS and tvOS
// take only Default, DownloadOnly and InstallASAP.
func actionSupported(platform, action string) bool {
	switch action {
	case mdm.InstallActionDefault, mdm.InstallActionDownloadOnly, mdm.InstallActionInstallASAP:
		return true
	case mdm.InstallActionNotifyOnly, mdm.InstallActionInstallLater, mdm.InstallActionInstallForceRestart:
		return platform == mdm.PlatformMacOS
	}
	return false
}

// installs reports whether an action goes on to install without the user.
func installs(action string) bool {
	switch action {
	case mdm.InstallActionDefault, mdm.InstallActionInstallASAP, mdm.InstallActionInstallForceRestart:
		return true
	}
	return false
}

// isOSUpdate tells OS updates (and security responses) from config-data,
// firmware and app items, which do not change the OS version.
func isOSUpdate(it mdm.AvailableOSUpdate) bool {
	if it.IsConfigDataUpdate || it.IsFirmwareUpdate {
		return false
	}
	_, okVersion := it.ParsedVersion()
	_, okBuild := it.ParsedBuild()
	return okVersion && okBuild
}
