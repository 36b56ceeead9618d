package enforcement

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/internal/golden"
)

// smallFleet is one device per interesting situation.
func smallFleet() []DeviceFacts {
	var fleet []DeviceFacts
	add := func(id string, base func() DeviceFacts, change func(*DeviceFacts)) {
		f := base()
		f.ID = id
		change(&f)
		fleet = append(fleet, f)
	}
	add("mac-installed", baseMac, func(f *DeviceFacts) { f.OSVersion = "26.2" })
	add("mac-installing", baseMac, func(f *DeviceFacts) {
		f.DDM = &DDMFacts{InstallState: "installing", PendingOSVersion: "26.2", StatusUpdatedAt: fixtureNow}
	})
	add("mac-unsupervised", baseMac, func(f *DeviceFacts) { f.Supervised = false })
	add("mac-stale", baseMac, func(f *DeviceFacts) { f.InfoUpdatedAt = fixtureNow.Add(-48 * time.Hour) })
	add("mac-intel", baseMac, func(f *DeviceFacts) { f.OSVersion, f.SoftwareUpdateDeviceID = "15.7.3", "Mac-AA95B1DDAB278B95" })
	add("mac-legacy", baseMac, func(f *DeviceFacts) { f.OSVersion, f.Battery = "13.6.1", ptr(0.2) })
	add("iphone-newer", baseIPhone, func(f *DeviceFacts) { f.OSVersion = "26.3" })
	add("iphone-planned", baseIPhone, func(f *DeviceFacts) {})
	add("ipad-lab", baseIPhone, func(f *DeviceFacts) { f.Platform, f.Model, f.Groups = "iPadOS", "iPad13,1", []string{"lab"} })
	return fleet
}

func TestSummarizeGolden(t *testing.T) {
	c := fixtureCatalog(t)
	p := latestPolicy()
	p.Scope = Scope{Groups: []string{"staff"}}
	facts := map[string]DeviceFacts{}
	var evals []Evaluation
	// The deadline (2026-12-01 17:00, device-local) is about 9.6 days away
	// at its earliest reading, so a 10-day window puts quiet Required
	// devices at risk.
	for _, f := range smallFleet() {
		facts[f.ID] = f
		evals = append(evals, Evaluate(f, p, c, fixtureNow, Options{}))
	}
	s := Summarize(evals, facts, fixtureNow, 10*24*time.Hour)
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/summary.json", append(got, '\n'))

	if s.Total != 9 || s.InScope != 8 || s.Compliant != 3 {
		t.Errorf("total %d in scope %d compliant %d", s.Total, s.InScope, s.Compliant)
	}
	risky := map[string]bool{}
	for _, d := range s.AtRisk {
		risky[d.DeviceID] = true
	}
	for id, want := range map[string]bool{"mac-unsupervised": true, "mac-stale": true, "iphone-planned": true,
		"mac-legacy": true, "mac-installing": false, "mac-installed": false, "ipad-lab": false} {
		if risky[id] != want {
			t.Errorf("%s at risk = %v, want %v", id, risky[id], want)
		}
	}
}

// With the default 48 h window, only blocked or failed devices are at risk
// 10 days before the deadline.
func TestSummarizeRiskWindow(t *testing.T) {
	c := fixtureCatalog(t)
	var evals []Evaluation
	for _, f := range smallFleet() {
		evals = append(evals, Evaluate(f, latestPolicy(), c, fixtureNow, Options{}))
	}
	s := Summarize(evals, nil, fixtureNow, 0)
	if s.AtRiskTotal != 1 || s.AtRisk[0].DeviceID != "mac-unsupervised" || s.AtRisk[0].Platform != "unknown" {
		t.Errorf("at risk %+v", s.AtRisk)
	}
}

func TestSummarizeCapsAtRisk(t *testing.T) {
	evals := make([]Evaluation, MaxAtRisk+10)
	for i := range evals {
		evals[i] = Evaluation{DeviceID: fmt.Sprintf("d%05d", i), PolicyID: "p", Compliance: Required, Step: StepBlocked,
			Reason: NewReason(CodeNotSupervised)}
	}
	s := Summarize(evals, nil, fixtureNow, 0)
	if len(s.AtRisk) != MaxAtRisk || s.AtRiskTotal != MaxAtRisk+10 || s.CompliantPercent != 0 {
		t.Errorf("at risk %d of %d", len(s.AtRisk), s.AtRiskTotal)
	}
	if s.Compliance[1].Key != "required" || s.Compliance[1].Percent != 100 {
		t.Errorf("compliance %+v", s.Compliance)
	}
}
