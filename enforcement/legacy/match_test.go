package legacy

import (
	"testing"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
)

func TestFindOffer(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	osItem := mdm.AvailableOSUpdate{ProductKey: "MSU_UPDATE_22H730_patch_13.7.8_minor", Version: "13.7.8", Build: "22H730",
		DownloadSize: 1.2e9, AllowsInstallLater: true}
	lookalike := mdm.AvailableOSUpdate{ProductKey: "052-13780", Version: "13.7.8", IsConfigDataUpdate: true}
	firmware := mdm.AvailableOSUpdate{ProductKey: "061-07370", Version: "13.7.8", Build: "22H730", IsFirmwareUpdate: true}
	rsr := mdm.AvailableOSUpdate{ProductKey: "RSR", Version: "13.7.8", Build: "22H730a", SupplementalOSVersionExtra: "(a)",
		SupplementalBuildVersion: "22H730a", IsSecurityResponse: true}
	noBuild := mdm.AvailableOSUpdate{ProductKey: "odd", Version: "13.7.8"}
	cases := []struct {
		name          string
		items         []mdm.AvailableOSUpdate
		target, build string
		want          string
	}{
		{"config data and firmware never match", []mdm.AvailableOSUpdate{lookalike, firmware, osItem}, "13.7.8", "", osItem.ProductKey},
		{"only look-alikes", []mdm.AvailableOSUpdate{lookalike, firmware}, "13.7.8", "", ""},
		{"an item without a build is not an OS update", []mdm.AvailableOSUpdate{noBuild}, "13.7.8", "", ""},
		{"other version", []mdm.AvailableOSUpdate{osItem}, "13.7.9", "", ""},
		{"build must match when named", []mdm.AvailableOSUpdate{osItem}, "13.7.8", "22H731", ""},
		{"build named", []mdm.AvailableOSUpdate{osItem}, "13.7.8", "22H730", osItem.ProductKey},
		{"unparseable target", []mdm.AvailableOSUpdate{osItem}, "thirteen", "", ""},
		{"the plain version is not its security response", []mdm.AvailableOSUpdate{rsr}, "13.7.8", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := findOffer(tc.items, tc.target, tc.build, at)
			got := ""
			if o != nil {
				got = o.ProductKey
				if !o.ListedAt.Equal(at) || o.Version != "13.7.8" {
					t.Errorf("offer %+v", o)
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClassifyChain(t *testing.T) {
	item := func(domain string, code int, text string) mdm.ErrorChainItem {
		return mdm.ErrorChainItem{ErrorDomain: domain, ErrorCode: code, LocalizedDescription: text, USEnglishDescription: text}
	}
	cases := []struct {
		name  string
		chain []mdm.ErrorChainItem
		want  enforcement.Code
	}{
		{"personalisation", []mdm.ErrorChainItem{item("SUMacControllerError", 8102, "Failed to personalize the software update."),
			item("NSURLErrorDomain", -1001, "The request timed out.")}, enforcement.CodePersonalizationFailed},
		{"unsupported by code", []mdm.ErrorChainItem{item("MCMDMErrorDomain", 12081, "")}, enforcement.CodeInstallActionUnsupported},
		{"unsupported by text", []mdm.ErrorChainItem{item("Other", 1, "Install action not supported for this ProductKey")}, enforcement.CodeInstallActionUnsupported},
		{"not available", []mdm.ErrorChainItem{item("MCMDMErrorDomain", 12080, "No software update for version “13.7.8” is available.")}, enforcement.CodeProductKeyNotFound},
		{"anything else", []mdm.ErrorChainItem{item("MCMDMErrorDomain", 12082, "The software update could not be scheduled.")}, enforcement.CodeScheduleFailed},
		{"empty", nil, enforcement.CodeScheduleFailed},
	}
	for _, tc := range cases {
		if got := codeForChain(classifyChain(tc.chain), enforcement.CodeScheduleFailed); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := chainText([]mdm.ErrorChainItem{{LocalizedDescription: "local"}}); got != "local" {
		t.Errorf("chain text %q", got)
	}
}

func TestConfigDefaultsAndBackoff(t *testing.T) {
	c := Config{}.withDefaults()
	if c.ScanInterval != 30*time.Minute || c.ScanTrust != 24*time.Hour || c.DownloadLead != 120*time.Hour ||
		c.StallChecks != 3 || c.StallWindow != 3*time.Hour || c.FallbackAfter != 3 {
		t.Fatalf("defaults %+v", c)
	}
	want := []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 12 * time.Hour}
	for i, w := range want {
		if got := c.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if c.stallGap() != 90*time.Minute {
		t.Errorf("stall gap %s", c.stallGap())
	}
	if (Config{StallChecks: 1}).withDefaults().stallGap() != 0 {
		t.Error("one check needs no gap")
	}
	custom := Config{ScanInterval: time.Minute}.withDefaults()
	if custom.ScanInterval != time.Minute {
		t.Error("a set value must be kept")
	}
}

func TestRecordRoundTripAndLogBound(t *testing.T) {
	r, err := DecodeRecord(nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	tr := r.track("p1", "13.7.8", "", at, Seen{})
	for i := range maxLog + 10 {
		tr.logf(at.Add(time.Duration(i)*time.Minute), "step", "%d", i)
	}
	if len(tr.Log) != maxLog || tr.Log[len(tr.Log)-1].Detail != "49" {
		t.Fatalf("log has %d entries, last %+v", len(tr.Log), tr.Log[len(tr.Log)-1])
	}
	raw, err := r.encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRecord(raw)
	if err != nil || back.Tracks["p1"].Target != "13.7.8" || back.Version != recordVersion {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if again := back.track("p1", "13.7.8", "", at, Seen{}); again != back.Tracks["p1"] {
		t.Error("same target must keep its track")
	}
	if moved := back.track("p1", "13.7.9", "", at, Seen{}); moved.Target != "13.7.9" || moved.Log[0].Event != "retargeted" {
		t.Errorf("retarget: %+v", moved.Log)
	}
	if _, err := DecodeRecord([]byte("{")); err == nil {
		t.Error("garbage decoded")
	}
}
