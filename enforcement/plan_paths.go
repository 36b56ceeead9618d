package enforcement

import (
	"slices"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// LegacyStep is the next MDM-command step on the legacy path.
type LegacyStep string

const (
	// LegacyScan: ScheduleOSUpdateScan + AvailableOSUpdates, because the
	// device's list of offered updates is stale or lacks the target.
	LegacyScan LegacyStep = "scan"
	// LegacyDownload: ScheduleOSUpdate with InstallAction DownloadOnly.
	LegacyDownload LegacyStep = "download"
	// LegacyInstall: ScheduleOSUpdate with LegacyPlan.InstallAction.
	LegacyInstall LegacyStep = "install"
	// LegacyPoll: OSUpdateStatus, something is in progress.
	LegacyPoll LegacyStep = "poll"
	// LegacyWait: downloaded; the install is requested at the deadline.
	LegacyWait LegacyStep = "wait"
)

// LegacyPlan is the next step on the MDM-command path. The reconcile
// engine carries it out and counts retries; this package only decides.
type LegacyPlan struct {
	Step             LegacyStep `json:"step"`
	InstallAction    string     `json:"install_action,omitempty"`
	ProductVersion   string     `json:"product_version"`
	ProductKey       string     `json:"product_key,omitempty"`
	MaxUserDeferrals int        `json:"max_user_deferrals,omitempty"`
}

func (a *assessment) ddmPlan() *DDMPlan {
	d := &DDMPlan{
		DeclarationIdentifier: DeclarationIdentifier(a.p.ID),
		Enforcement: EnforcementSpec{
			TargetOSVersion:     a.target.OSVersion,
			TargetBuildVersion:  a.target.BuildVersion,
			TargetLocalDateTime: a.target.LocalDeadline,
			DetailsURL:          a.p.DetailsURL,
		},
		NeedsStatusSubscription:      !declarationActive(a.f.DDM, StatusSubscriptionIdentifier),
		StatusSubscriptionIdentifier: StatusSubscriptionIdentifier,
		StatusItems:                  slices.Clone(StatusItems),
	}
	if settingsSupported(a.f.Platform, a.installed) {
		d.Settings = a.settingsSpec()
	}
	return d
}

// settingsSpec maps the policy's settings; nil when it asks for none. On
// iOS only Notifications works without supervision (macOS without
// supervision never gets here: it is blocked).
func (a *assessment) settingsSpec() *SettingsSpec {
	p := &a.p
	if p.Notifications == nil && !p.IncludeSecurityImprovements {
		return nil
	}
	s := &SettingsSpec{DeclarationIdentifier: SettingsDeclarationIdentifier(p.ID), Notifications: p.Notifications}
	if p.IncludeSecurityImprovements {
		if a.f.Supervised {
			on := true
			s.RapidSecurityResponseEnable = &on
		} else {
			s.Skipped = append(s.Skipped, "RapidSecurityResponse.Enable (needs supervision)")
		}
	}
	return s
}

// declarationActive reports whether the device says a declaration is
// active and valid.
func declarationActive(d *DDMFacts, identifier string) bool {
	if d == nil {
		return false
	}
	for _, s := range d.Declarations {
		if s.Identifier == identifier {
			return s.Active && s.Valid == "valid"
		}
	}
	return false
}

// legacyPlan picks the next MDM-command step: make sure the device offers
// the target, download it ahead of the deadline, let the user install it
// (macOS: InstallLater with the policy's deferrals), and force the install
// at the deadline.
func (a *assessment) legacyPlan() *LegacyPlan {
	lf := a.f.Legacy
	lp := &LegacyPlan{ProductVersion: a.target.OSVersion}
	if lf == nil || !lf.Offered || a.now.Sub(lf.ScannedAt) > a.opts.ScanTTL && !lf.IsDownloaded {
		lp.Step = LegacyScan
		return lp
	}
	lp.ProductKey = lf.ProductKey
	switch {
	case lf.Status == "Downloading" || lf.Status == "Installing":
		lp.Step = LegacyPoll
	case lf.ScheduledAction != "" && lf.ScheduledAction != "Error" && lf.ScheduledAt.After(lf.StatusAt):
		lp.Step = LegacyPoll // no status since the last request
	case !lf.IsDownloaded:
		lp.Step, lp.InstallAction = LegacyDownload, "DownloadOnly"
	default:
		a.legacyInstall(lp)
	}
	return lp
}

func (a *assessment) legacyInstall(lp *LegacyPlan) {
	mac := a.f.Platform == "macOS"
	switch {
	case a.deadlineOver && mac && a.p.AllowForceRestart:
		lp.Step, lp.InstallAction = LegacyInstall, "InstallForceRestart"
	case a.deadlineOver:
		lp.Step, lp.InstallAction = LegacyInstall, "InstallASAP"
	case mac && a.f.Legacy.ScheduledAction != "InstallLater":
		lp.Step, lp.InstallAction = LegacyInstall, "InstallLater"
		// Apple honours MaxUserDeferrals only for minor updates on 12+.
		if tv, err := osversion.Parse(a.target.OSVersion); err == nil && a.installed.Major >= 12 && tv.Major == a.installed.Major {
			lp.MaxUserDeferrals = a.p.UserDeferrals
		}
	default:
		lp.Step = LegacyWait
	}
}
