package sim

import (
	"maps"
	"slices"
	"sync"

	"github.com/tidemark-mdm/tidemark/mdm"
)

// LegacyConfig configures the behaviour model behind the MDM
// software-update commands (AvailableOSUpdates, ScheduleOSUpdateScan,
// ScheduleOSUpdate, OSUpdateStatus).
//
// Time is a step, never a clock: every OSUpdateStatus the device answers
// first advances each scheduled update by one step (Legacy.Step does the
// same without a poll). A download takes DownloadSteps steps from 0 to
// 100 %, then one step starts Installing, and InstallSteps later the
// device restarts on the new version.
//
// Two conditions come from the device's Attributes, so a test clears them
// with Device.Update as a user would: a download needs free space of at
// least twice its DownloadSize (else DownloadInsufficientSpace), and an
// install needs the battery at 50 % or more, or power (else
// InstallInsufficientPower). NotNow while locked is Device.SetNotNow.
type LegacyConfig struct {
	// Catalog is what the device's scans find, in this order: OS updates,
	// security responses, config-data and firmware items.
	Catalog []mdm.AvailableOSUpdate
	// DownloadSteps is how many steps a download takes (default 4).
	DownloadSteps int
	// InstallSteps is how many steps the device reports Installing before
	// it restarts (default 1).
	InstallSteps int
	Faults       LegacyFaults
}

// LegacyFaults are the failure modes real fleets show (field notes A1-A10).
// Legacy.SetFaults changes them while the device runs.
type LegacyFaults struct {
	// HiddenScans leaves a product key out of the first N scans (A2: the
	// update is not offered yet; A10: the first scan is incomplete).
	HiddenScans map[string]int
	// StatusErrorNoDetail answers OSUpdateStatus with Error and no
	// ErrorChain, and nothing advances (A3).
	StatusErrorNoDetail bool
	// DownloadStuck keeps downloads at 0 % (A8).
	DownloadStuck bool
	// IdleAfterInstall keeps scheduled updates Idle: the device accepts the
	// request but never starts (A1, a macOS 13 habit).
	IdleAfterInstall bool
	// ActionUnsupported lists product keys whose ScheduleOSUpdate result is
	// InstallAction Error with a chain saying the action is unsupported (A10).
	ActionUnsupported []string
	// ScheduleError answers ScheduleOSUpdate with Status Error and an
	// ErrorChain (A9).
	ScheduleError bool
	// PersonalizationFailure makes installs fail (InstallFailed) when they
	// would start; the next ScheduleOSUpdate for that update carries the
	// personalisation ErrorChain (A7).
	PersonalizationFailure bool
}

func (f LegacyFaults) clone() LegacyFaults {
	f.HiddenScans = maps.Clone(f.HiddenScans)
	f.ActionUnsupported = slices.Clone(f.ActionUnsupported)
	return f
}

// Legacy is the running model of one device; its methods are safe for
// concurrent use.
type Legacy struct {
	d  *Device
	mu sync.Mutex

	catalog       []mdm.AvailableOSUpdate // still offered (installed items leave)
	downloadSteps int
	installSteps  int
	faults        LegacyFaults

	scans     int
	scanned   bool
	listed    []mdm.AvailableOSUpdate // what the last scan found
	jobs      []*legacyJob            // scheduled updates, in request order
	installed []string
}

// Defaults of LegacyConfig.
const (
	DefaultDownloadSteps = 4
	DefaultInstallSteps  = 1
)

// EnableLegacyUpdates installs the responders of the four MDM
// software-update commands and returns the model, through which a test
// changes faults and reads what was installed.
func (d *Device) EnableLegacyUpdates(cfg LegacyConfig) *Legacy {
	l := &Legacy{
		d: d, catalog: slices.Clone(cfg.Catalog), faults: cfg.Faults.clone(),
		downloadSteps: cfg.DownloadSteps, installSteps: cfg.InstallSteps,
	}
	if l.downloadSteps <= 0 {
		l.downloadSteps = DefaultDownloadSteps
	}
	if l.installSteps <= 0 {
		l.installSteps = DefaultInstallSteps
	}
	d.Handle(mdm.RequestAvailableOSUpdates, l.answerAvailable)
	d.Handle(mdm.RequestScheduleOSUpdateScan, l.answerScan)
	d.Handle(mdm.RequestScheduleOSUpdate, l.answerSchedule)
	d.Handle(mdm.RequestOSUpdateStatus, l.answerStatus)
	return l
}

// SetFaults replaces the injected failure modes.
func (l *Legacy) SetFaults(f LegacyFaults) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = f.clone()
}

// Faults returns the injected failure modes.
func (l *Legacy) Faults() LegacyFaults {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.faults.clone()
}

// Installed lists the product keys installed so far, in order.
func (l *Legacy) Installed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.installed)
}

// Scans is how many software-update scans the device has run.
func (l *Legacy) Scans() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.scans
}

// Step advances every scheduled update by one step, as the device does
// before it answers OSUpdateStatus.
func (l *Legacy) Step() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.step()
}

// scan refreshes the offered list from the catalog, hiding keys that the
// HiddenScans fault keeps out of this scan.
func (l *Legacy) scan() {
	l.scans++
	l.scanned = true
	l.listed = l.listed[:0:0]
	for _, it := range l.catalog {
		if l.scans > l.faults.HiddenScans[it.ProductKey] {
			l.listed = append(l.listed, it)
		}
	}
}

// ensureScanned runs the scan a device does on its own (at boot, then
// periodically) when nothing asked for one yet.
func (l *Legacy) ensureScanned() {
	if !l.scanned {
		l.scan()
	}
}

func (l *Legacy) answerAvailable(d *Device, c *IncomingCommand) Answer {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A Mac answers from its last scan; iOS scans when asked.
	if d.Attributes().Platform == mdm.PlatformMacOS {
		l.ensureScanned()
	} else {
		l.scan()
	}
	items := append([]mdm.AvailableOSUpdate{}, l.listed...)
	return Answer{Status: mdm.StatusAcknowledged, Fields: map[string]any{"AvailableOSUpdates": items}}
}

func (l *Legacy) answerScan(d *Device, c *IncomingCommand) Answer {
	if d.Attributes().Platform != mdm.PlatformMacOS {
		return unknownCommand(c.RequestType)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scan()
	return Answer{Status: mdm.StatusAcknowledged, Fields: map[string]any{"ScanInitiated": true}}
}

func (l *Legacy) answerStatus(d *Device, c *IncomingCommand) Answer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.faults.StatusErrorNoDetail {
		return Answer{Status: mdm.StatusError}
	}
	l.step()
	items := make([]mdm.OSUpdateStatusItem, 0, len(l.jobs))
	for _, j := range l.jobs {
		items = append(items, j.statusItem(l.downloadSteps))
	}
	return Answer{Status: mdm.StatusAcknowledged, Fields: map[string]any{"OSUpdateStatus": items}}
}
