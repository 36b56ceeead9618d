package rollout

import (
	"math"
	"sort"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// ForecastDevice is what the forecast knows of one device.
type ForecastDevice struct {
	Facts enforcement.DeviceFacts
	// State and Reason are the worker's stored standing under the policy
	// (zero when the device was never evaluated): they carry failures the
	// legacy driver saw, which facts alone do not.
	State  enforcement.DeviceState
	Reason enforcement.Reason
	// UpdateSizes are the bytes the device said an update needs (download
	// plus install size), by OS version, when it listed them.
	UpdateSizes map[string]int64
}

// Forecast is a policy's readiness before its deadline. The JSON field
// names are part of the admin API (testdata/rollout/forecast.golden.json).
type Forecast struct {
	PolicyID    string    `json:"policy_id"`
	PolicyName  string    `json:"policy_name"`
	Paused      bool      `json:"paused,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	// Deadline and LatestDeadline span the device-local deadlines of the
	// targeted devices (rings spread them); DaysLeft counts whole days to
	// the earliest, negative once it has passed.
	Deadline       string `json:"deadline"`
	LatestDeadline string `json:"latest_deadline"`
	DaysLeft       int    `json:"days_left"`
	// InScope: devices the policy's scope selects (a model without the
	// target counts, as missing). CompliantNow: installed or newer. InProgress: downloading to verifying, nothing in
	// the way. Clear: still to update, nothing in the way.
	InScope      int `json:"in_scope"`
	CompliantNow int `json:"compliant_now"`
	InProgress   int `json:"in_progress"`
	Clear        int `json:"clear"`
	// AtRiskTotal devices have a risk; LikelyMiss of them one that stops
	// the update until someone acts.
	AtRiskTotal int `json:"at_risk_total"`
	LikelyMiss  int `json:"likely_miss"`
	// FailureRate is the percentage of devices that tried to update (in
	// progress, failing, or installed by this policy) that are failing.
	FailureRate float64 `json:"failure_rate_percent"`
	// EstimatedCompliant (and its percentage of InScope) is the expected
	// number of compliant devices at the deadline; Model says how.
	EstimatedCompliant        int         `json:"estimated_compliant"`
	EstimatedCompliantPercent float64     `json:"estimated_compliant_percent"`
	Model                     string      `json:"model"`
	Risks                     []RiskCount `json:"risks"`
	// AtRisk lists the devices (likely misses first, then by deadline),
	// at most enforcement.MaxAtRisk of them.
	AtRisk []AtRisk `json:"at_risk"`
}

// EstimateModel explains EstimatedCompliant.
const EstimateModel = "compliant now + (in progress + clear + at risk of a condition the OS waits out) × (1 − failure rate); " +
	"devices likely to miss (a risk that needs someone to act) count as missing"

// RiskCount is how many devices carry one risk.
type RiskCount struct {
	Code  enforcement.Code `json:"code"`
	Count int              `json:"count"`
}

// AtRisk is one device that may miss the deadline, with every reason.
type AtRisk struct {
	DeviceID      string                 `json:"device_id"`
	Platform      string                 `json:"platform"`
	OSVersion     string                 `json:"os_version"`
	Ring          string                 `json:"ring,omitempty"`
	Compliance    enforcement.Compliance `json:"compliance"`
	Step          enforcement.Step       `json:"step,omitempty"`
	LocalDeadline string                 `json:"local_deadline,omitempty"`
	DaysLeft      *int                   `json:"days_left,omitempty"`
	Likely        bool                   `json:"likely"`
	Risks         []Risk                 `json:"risks"`
}

// Risk is one reason a device may miss the deadline. Likely: the update
// cannot happen until someone acts; otherwise the OS or the server waits
// it out.
type Risk struct {
	Code    enforcement.Code `json:"code"`
	Likely  bool             `json:"likely"`
	Message string           `json:"message"`
	Remedy  string           `json:"remedy"`
}

// Forecaster builds a Forecast one device at a time, so a large fleet is
// never held in memory.
type Forecaster struct {
	p         enforcement.Policy
	cat       *enforcement.Catalog
	st        *State
	now       time.Time
	opts      enforcement.Options
	f         Forecast
	open      int // devices counted as compliant-to-be, before the failure discount
	attempted int
	failing   int
	risks     map[enforcement.Code]int
	earliest  time.Time
}

// NewForecaster starts a forecast for p at now.
func NewForecaster(p enforcement.Policy, cat *enforcement.Catalog, st *State, now time.Time, opts enforcement.Options) *Forecaster {
	return &Forecaster{p: p, cat: cat, st: st, now: now, opts: opts, risks: map[enforcement.Code]int{},
		f: Forecast{PolicyID: p.ID, PolicyName: p.Name, Paused: p.Paused, GeneratedAt: now, Model: EstimateModel,
			AtRisk: []AtRisk{}, Risks: []RiskCount{}}}
}

// Result finishes the forecast.
func (fc *Forecaster) Result() Forecast {
	f := fc.f
	if fc.attempted > 0 {
		f.FailureRate = percent(fc.failing, fc.attempted)
	}
	expected := float64(f.CompliantNow) + float64(fc.open)*(1-float64(fc.failing)/math.Max(1, float64(fc.attempted)))
	f.EstimatedCompliant = int(math.Round(expected))
	if f.InScope > 0 {
		f.EstimatedCompliantPercent = math.Round(expected*1000/float64(f.InScope)) / 10
	}
	if !fc.earliest.IsZero() {
		f.DaysLeft = daysUntil(fc.earliest, fc.now)
	}
	for code, n := range fc.risks {
		f.Risks = append(f.Risks, RiskCount{Code: code, Count: n})
	}
	sort.Slice(f.Risks, func(i, j int) bool {
		if f.Risks[i].Count != f.Risks[j].Count {
			return f.Risks[i].Count > f.Risks[j].Count
		}
		return f.Risks[i].Code < f.Risks[j].Code
	})
	sort.Slice(f.AtRisk, func(i, j int) bool {
		a, b := f.AtRisk[i], f.AtRisk[j]
		if a.Likely != b.Likely {
			return a.Likely
		}
		if a.LocalDeadline != b.LocalDeadline {
			return a.LocalDeadline < b.LocalDeadline
		}
		return a.DeviceID < b.DeviceID
	})
	if len(f.AtRisk) > enforcement.MaxAtRisk {
		f.AtRisk = f.AtRisk[:enforcement.MaxAtRisk]
	}
	return f
}

// daysUntil counts whole days from now to t, rounding towards the past
// (so 30 hours left is 1 day, 2 hours overdue is -1).
func daysUntil(t, now time.Time) int {
	return int(math.Floor(t.Sub(now).Hours() / 24))
}
