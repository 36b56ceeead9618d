package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/legacy"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/sim"
)

// TestLegacyHappyPathMacDeadlinePassed: enrolment scan, the target found
// among look-alike items, the forced install, verification by
// DeviceInformation, the scan after the install, and silence afterwards.
func TestLegacyHappyPathMacDeadlinePassed(t *testing.T) {
	r := startLegacy(t, legacy.Config{})
	r.policy("mac13", "macOS", "13.7.8", r.deadline(-48*time.Hour))
	dev := r.enroll(legacyMac(1, 13), sim.LegacyConfig{Catalog: mac13Catalog()})
	w := r.until(dev, 15*time.Minute, 20, "install", installed)
	if got := actions(w); strings.Join(got, ",") != "InstallASAP" {
		t.Errorf("actions %v", got)
	}
	if a := dev.d.Attributes(); a.OSVersion != "13.7.8" {
		t.Errorf("device runs %s", a.OSVersion)
	}
	tr := w.track()
	// The config-data item listed first with the same version is never taken.
	if tr.Offer == nil || tr.Offer.ProductKey != mac13Target.ProductKey || tr.Attempts != 1 || tr.VerifiedAt.IsZero() {
		t.Errorf("track %+v", tr)
	}
	// Enrolment scan, then one after the verified install.
	if s := w.View.Scan; s.Count != 2 || s.LastReason != "install" || tr.Next.Action != "none" {
		t.Errorf("scan %+v next %+v", s, tr.Next)
	}
	// Verified means reported by DeviceInformation after the install.
	if !logged(w, "verify_requested", "") || !logged(w, "verified", "the device reports 13.7.8 (22H730)") {
		t.Errorf("log: %s", describeWhy(w))
	}
	// Done: after the post-install scan is answered, later passes send
	// nothing but the daily facts refresh.
	r.step(time.Minute)
	before := len(dev.d.Received())
	r.step(time.Hour)
	r.step(24 * time.Hour)
	for _, rc := range dev.d.Received()[before:] {
		if rc.RequestType != mdm.RequestDeviceInformation && rc.RequestType != mdm.RequestSecurityInfo {
			t.Errorf("after the install: %s", rc.RequestType)
		}
	}
}

// TestLegacyInstalledStaysCurrent: once installed, a legacy device has no
// status reports of its own, so the server reads its version again before
// the status expires, also while the policy is paused (pausing stops
// updates, not the report). A device that checks in twice a day never
// drifts to Unknown, and nothing but inventory is sent.
func TestLegacyInstalledStaysCurrent(t *testing.T) {
	r := startLegacy(t, legacy.Config{})
	r.policy("mac13", "macOS", "13.7.8", r.deadline(-48*time.Hour))
	dev := r.enroll(legacyMac(1, 13), sim.LegacyConfig{Catalog: mac13Catalog()})
	r.until(dev, 15*time.Minute, 20, "install", installed)
	r.step(time.Minute) // the post-install scan is answered
	ps, err := r.env.Server.PolicyService()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.SetPaused(context.Background(), "mac13", true, policysvc.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	before := len(dev.d.Received())
	for i := range 6 { // three days, a check-in every 12 hours
		r.step(12 * time.Hour)
		if w := r.state(dev); w.State.Compliance != enforcement.Installed {
			t.Fatalf("after %d h: %s", 12*(i+1), describeWhy(w))
		}
	}
	infos := 0
	for _, rc := range dev.d.Received()[before:] {
		switch rc.RequestType {
		case mdm.RequestDeviceInformation:
			infos++
		case mdm.RequestSecurityInfo:
		default:
			t.Errorf("while paused: %s", rc.RequestType)
		}
	}
	if infos < 3 {
		t.Errorf("DeviceInformation asked %d times in three days", infos)
	}
}
