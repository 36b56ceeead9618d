package legacy

import "time"

// Config holds the cadences and thresholds. Zero values take the defaults
// (see withDefaults); tests shorten them.
type Config struct {
	// ScanInterval: how often a device that still needs the update is asked
	// to scan (default 30 min).
	ScanInterval time.Duration `json:"scan_interval"`
	// ScanTrust: an AvailableOSUpdates answer older than this is not used
	// to schedule (default 24 h).
	ScanTrust time.Duration `json:"scan_trust"`
	// NotFoundScans and NotFoundAge: the target missing from the list is a
	// failure only after this many scans spread over at least this long
	// (defaults 6 and 24 h); before that it is transient.
	NotFoundScans int           `json:"not_found_scans"`
	NotFoundAge   time.Duration `json:"not_found_age"`
	// DownloadLead: DownloadOnly is sent this long before the deadline
	// (default 5 days).
	DownloadLead time.Duration `json:"download_lead"`
	// PollInterval is the OSUpdateStatus cadence while an update is
	// scheduled but idle; PollFast while downloading, installing or
	// verifying (defaults 1 h and 15 min).
	PollInterval time.Duration `json:"poll_interval"`
	PollFast     time.Duration `json:"poll_fast"`
	// PhoneCallRetry: the next poll after InstallPhoneCallInProgress
	// (default 5 min).
	PhoneCallRetry time.Duration `json:"phone_call_retry"`
	// StallChecks zero-progress checks spread over StallWindow mean the
	// download is stuck (defaults 3 and 3 h).
	StallChecks int           `json:"stall_checks"`
	StallWindow time.Duration `json:"stall_window"`
	// IdleLimit: polls answered Idle after an install request before the
	// driver falls back (default 4).
	IdleLimit int `json:"idle_limit"`
	// MaxRuntime: an install running longer without a verified version is
	// max_runtime_exceeded (default 6 h).
	MaxRuntime time.Duration `json:"max_runtime"`
	// VerifyTimeout: after the install ended, how long DeviceInformation
	// may take to report the new version before the update is re-sent
	// (default 2 h).
	VerifyTimeout time.Duration `json:"verify_timeout"`
	// RetryBackoff doubles after each failure up to RetryBackoffMax
	// (defaults 30 min and 12 h).
	RetryBackoff    time.Duration `json:"retry_backoff"`
	RetryBackoffMax time.Duration `json:"retry_backoff_max"`
	// FallbackAfter: failures in a row before forcing stops (default 3).
	FallbackAfter int `json:"fallback_after"`
	// FallbackRetry: while in fallback, how often the update is offered
	// again, forced once the deadline has passed (default 24 h).
	FallbackRetry time.Duration `json:"fallback_retry"`
	// FactsRefresh: DeviceInformation cadence while waiting on a device
	// condition (battery, space, supervision) (default 1 h). FactsMaxAge:
	// facts older than this are refreshed while an update is pending
	// (default 12 h), so the evaluation never goes stale mid-update.
	FactsRefresh time.Duration `json:"facts_refresh"`
	FactsMaxAge  time.Duration `json:"facts_max_age"`
	// CheckInThreshold: a device silent for longer is not_checking_in
	// (default 72 h, as the evaluation).
	CheckInThreshold time.Duration `json:"check_in_threshold"`
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&c.ScanInterval, 30*time.Minute)
	def(&c.ScanTrust, 24*time.Hour)
	defInt(&c.NotFoundScans, 6)
	def(&c.NotFoundAge, 24*time.Hour)
	def(&c.DownloadLead, 5*24*time.Hour)
	def(&c.PollInterval, time.Hour)
	def(&c.PollFast, 15*time.Minute)
	def(&c.PhoneCallRetry, 5*time.Minute)
	defInt(&c.StallChecks, 3)
	def(&c.StallWindow, 3*time.Hour)
	defInt(&c.IdleLimit, 4)
	def(&c.MaxRuntime, 6*time.Hour)
	def(&c.VerifyTimeout, 2*time.Hour)
	def(&c.RetryBackoff, 30*time.Minute)
	def(&c.RetryBackoffMax, 12*time.Hour)
	defInt(&c.FallbackAfter, 3)
	def(&c.FallbackRetry, 24*time.Hour)
	def(&c.FactsRefresh, time.Hour)
	def(&c.FactsMaxAge, 12*time.Hour)
	def(&c.CheckInThreshold, 72*time.Hour)
	return c
}

// backoff is the wait after the n-th failure in a row (n >= 1).
func (c Config) backoff(n int) time.Duration {
	d := c.RetryBackoff
	for i := 1; i < n && d < c.RetryBackoffMax; i++ {
		d *= 2
	}
	return min(d, c.RetryBackoffMax)
}

// stallGap is the least time between two zero-progress checks that count
// as separate strikes: three strikes then span the whole window.
func (c Config) stallGap() time.Duration {
	if c.StallChecks <= 1 {
		return 0
	}
	return c.StallWindow / time.Duration(c.StallChecks-1)
}
