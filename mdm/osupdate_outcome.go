package mdm

// UpdateStatusClass groups update statuses by what an enforcement engine
// should do about them.
type UpdateStatusClass string

const (
	// UpdateIdle: accepted but not started. Common and often permanent on
	// macOS 13 (field note A1): count consecutive polls, fall back after a
	// bound. Not a failure by itself.
	UpdateIdle UpdateStatusClass = "idle"
	// UpdateInProgress: Downloading or Installing. Keep polling.
	UpdateInProgress UpdateStatusClass = "in-progress"
	// UpdateWaiting: a device condition that usually clears by itself
	// (power, network, a phone call). Not a failure: retry later and show
	// the remedy (A5).
	UpdateWaiting UpdateStatusClass = "waiting"
	// UpdateBlocked: needs a person (free disk space, or an iOS update that
	// must be installed from a computer). Retrying alone will not help.
	UpdateBlocked UpdateStatusClass = "blocked"
	// UpdateFailed: the device gave up. Counts as a failed attempt: retry,
	// then fall back (A3, A9).
	UpdateFailed UpdateStatusClass = "failed"
	// UpdateUnknownStatus: a value Apple does not document. Keep polling,
	// show the raw value, do not count it as a failure.
	UpdateUnknownStatus UpdateStatusClass = "unknown"
)

// UpdateStatusMeaning is what one Status value means for enforcement.
type UpdateStatusMeaning struct {
	Class UpdateStatusClass
	// Reason is a stable code for anything that stops progress (waiting,
	// blocked, failed); empty otherwise.
	Reason string
	// Remedy is one sentence for the admin; empty when nothing is needed.
	Remedy string
}

// Stable reason codes.
const (
	ReasonDownloadFailed      = "download-failed"
	ReasonInstallFailed       = "install-failed"
	ReasonInsufficientSpace   = "insufficient-space"
	ReasonInsufficientPower   = "insufficient-power"
	ReasonInsufficientNetwork = "insufficient-network"
	ReasonPhoneCall           = "phone-call-in-progress"
	ReasonRequiresComputer    = "requires-computer"
	ReasonScheduleError       = "schedule-error"
)

var updateStatusMeanings = map[string]UpdateStatusMeaning{
	UpdateStatusIdle:                        {UpdateIdle, "", ""},
	UpdateStatusDownloading:                 {UpdateInProgress, "", ""},
	UpdateStatusInstalling:                  {UpdateInProgress, "", ""},
	UpdateStatusDownloadInsufficientPower:   {UpdateWaiting, ReasonInsufficientPower, "Connect the device to power."},
	UpdateStatusInstallInsufficientPower:    {UpdateWaiting, ReasonInsufficientPower, "Connect the device to power."},
	UpdateStatusDownloadInsufficientNetwork: {UpdateWaiting, ReasonInsufficientNetwork, "Connect the device to a faster or unmetered network (Wi-Fi)."},
	UpdateStatusInstallPhoneCallInProgress:  {UpdateWaiting, ReasonPhoneCall, "The install starts after the phone call ends."},
	UpdateStatusDownloadInsufficientSpace:   {UpdateBlocked, ReasonInsufficientSpace, "Free up storage on the device."},
	UpdateStatusInstallInsufficientSpace:    {UpdateBlocked, ReasonInsufficientSpace, "Free up storage on the device."},
	UpdateStatusDownloadRequiresComputer:    {UpdateBlocked, ReasonRequiresComputer, "Update the device from a computer (Finder or Apple Configurator)."},
	UpdateStatusDownloadFailed:              {UpdateFailed, ReasonDownloadFailed, "The download failed; it will be retried. Check that the device can reach Apple's update servers."},
	UpdateStatusInstallFailed:               {UpdateFailed, ReasonInstallFailed, "The install failed; it will be retried. Restart the device if it repeats."},
}

// MeaningOfUpdateStatus maps a Status value to its meaning; undocumented
// values give UpdateUnknownStatus.
func MeaningOfUpdateStatus(status string) UpdateStatusMeaning {
	if m, ok := updateStatusMeanings[status]; ok {
		return m
	}
	return UpdateStatusMeaning{Class: UpdateUnknownStatus}
}

// Meaning tells what the item's Status means for enforcement.
func (it OSUpdateStatusItem) Meaning() UpdateStatusMeaning { return MeaningOfUpdateStatus(it.Status) }

// Failure is the reason code when the item cannot progress now, else "".
func (it OSUpdateStatusItem) Failure() string { return it.Meaning().Reason }

// Meaning tells what the result means. InstallAction "Error" is a failed
// scheduling attempt even when Status is Idle.
func (r UpdateResult) Meaning() UpdateStatusMeaning {
	m := MeaningOfUpdateStatus(r.Status)
	if r.InstallAction == InstallActionError && m.Class != UpdateFailed && m.Class != UpdateBlocked && m.Class != UpdateWaiting {
		return UpdateStatusMeaning{
			Class:  UpdateFailed,
			Reason: ReasonScheduleError,
			Remedy: "The device could not schedule the update; it will be retried. See the error chain.",
		}
	}
	return m
}

// Failure is the reason code when the update cannot progress now, else "".
func (r UpdateResult) Failure() string { return r.Meaning().Reason }
