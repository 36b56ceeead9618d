// Package legacy drives OS updates on devices that only take the MDM
// software-update commands (macOS before 14, iOS and iPadOS before 17).
//
// The reconcile worker calls the Driver for every in-scope device on the
// legacy path, on every pass and whenever a command result arrives. The
// driver reads what the commands reported (commands.UpdateState), keeps its
// own per-device record (blob collection "legacydriver") and decides, from
// an injected clock, what to queue next:
//
//   - scans: ScheduleOSUpdateScan (macOS) then AvailableOSUpdates on
//     enrolment, after a restart or an install, and every ScanInterval while
//     an update is required; lists older than ScanTrust are not used;
//   - matching: the target is found in the list by Version/Build, never by
//     reading the product key; config-data and firmware items are skipped;
//   - scheduling: DownloadOnly DownloadLead before the deadline, InstallLater
//     with MaxUserDeferrals when the policy asks for deferrals on a minor
//     macOS update, InstallASAP (InstallForceRestart when allowed) once the
//     deadline has passed; nothing is sent while a precondition fails;
//   - progress: OSUpdateStatus polls (faster while something runs), then
//     DeviceInformation to verify: only the reported version closes the work;
//   - failures: each known failure mode gets its reason code, a retry with
//     backoff, and after FallbackAfter failures a user-driven fallback
//     (InstallLater or NotifyOnly on macOS, DownloadOnly on iOS) that keeps
//     the deadline.
//
// A command type is never queued twice: while one waits in the device's
// queue (delivered or not, NotNow included) nothing of that type is added,
// so a locked or silent device never causes a loop.
package legacy
