package sim

import (
	"reflect"
	"sync"
	"testing"

	"github.com/tidemark-mdm/tidemark/internal/golden"
	"github.com/tidemark-mdm/tidemark/mdm"
)

func TestLegacyNotOfferedYet(t *testing.T) {
	cfg := LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor, macXProtect},
		Faults: LegacyFaults{HiddenScans: map[string]int{macMinor.ProductKey: 1}}}
	r := newLegacyRig(t, macAttrs(), cfg)
	r.send(mdm.ScheduleOSUpdateScan{})
	assertSeq(t, "first scan", keys(r.available()), []string{macXProtect.ProductKey})
	res := r.schedule(mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionInstallASAP))
	if res.UpdateResults[0].InstallAction != mdm.InstallActionError ||
		!reflect.DeepEqual(res.UpdateResults[0].ErrorChain, UpdateNotAvailableChain(macMinor.ProductKey)) {
		t.Errorf("scheduling a key not offered yet: %+v", res.UpdateResults)
	}
	assertSeq(t, "a Mac answers from its last scan", keys(r.available()), []string{macXProtect.ProductKey})
	r.send(mdm.ScheduleOSUpdateScan{Force: true})
	assertSeq(t, "second scan", keys(r.available()), []string{macMinor.ProductKey, macXProtect.ProductKey})
	if r.l.Scans() != 2 {
		t.Errorf("scans = %d", r.l.Scans())
	}

	// An iPhone scans whenever it is asked.
	p := newLegacyRig(t, phoneAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{iosMinor},
		Faults: LegacyFaults{HiddenScans: map[string]int{iosMinor.ProductKey: 2}}})
	assertSeq(t, "iOS 1", keys(p.available()), nil)
	assertSeq(t, "iOS 2", keys(p.available()), nil)
	assertSeq(t, "iOS 3", keys(p.available()), []string{iosMinor.ProductKey})
}

func TestLegacyFaultsClearAtRuntime(t *testing.T) {
	asap := mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionInstallASAP)
	cases := []struct {
		name     string
		faults   LegacyFaults
		attrs    func(a *Attributes)
		schedule string   // Status of the ScheduleOSUpdate result
		polls    []string // while the fault holds
		clear    func(r *legacyRig)
		after    []string // once it is cleared
	}{
		{name: "download stuck at 0%", faults: LegacyFaults{DownloadStuck: true}, schedule: "Downloading",
			polls: []string{"Downloading 0.00 false", "Downloading 0.00 false", "Downloading 0.00 false"},
			after: []string{"Downloading 0.25 false"}},
		{name: "idle after install request", faults: LegacyFaults{IdleAfterInstall: true}, schedule: "Idle",
			polls: []string{"Idle 0.00 false", "Idle 0.00 false"}, after: []string{"Downloading 0.25 false"}},
		{name: "insufficient space", attrs: func(a *Attributes) { a.FreeGB = 2 }, schedule: "Downloading",
			polls: []string{"DownloadInsufficientSpace 0.00 false", "DownloadInsufficientSpace 0.00 false"},
			clear: func(r *legacyRig) { r.d.Update(func(a *Attributes) { a.FreeGB = 60 }) },
			after: []string{"Downloading 0.25 false"}},
		{name: "insufficient power", attrs: func(a *Attributes) { a.BatteryLevel, a.OnPower = 0.3, false }, schedule: "Downloading",
			polls: []string{"Downloading 0.25 false", "Downloading 0.50 false", "Downloading 0.75 false", "Downloading 1.00 true",
				"InstallInsufficientPower 1.00 true", "InstallInsufficientPower 1.00 true"},
			clear: func(r *legacyRig) { r.d.Update(func(a *Attributes) { a.OnPower = true }) },
			after: []string{"Installing 1.00 true", "-"}},
		{name: "personalisation failure", faults: LegacyFaults{PersonalizationFailure: true}, schedule: "Downloading",
			polls: []string{"Downloading 0.25 false", "Downloading 0.50 false", "Downloading 0.75 false", "Downloading 1.00 true",
				"InstallFailed 1.00 true", "InstallFailed 1.00 true"},
			clear: func(r *legacyRig) {
				r.l.SetFaults(LegacyFaults{})
				res := r.schedule(asap)
				want := mdm.UpdateResult{ProductKey: macMinor.ProductKey, InstallAction: mdm.InstallActionError,
					Status: mdm.UpdateStatusInstallFailed, ErrorChain: PersonalizationErrorChain()}
				if !reflect.DeepEqual(res.UpdateResults, []mdm.UpdateResult{want}) {
					r.t.Errorf("retry after the failure: %+v", res.UpdateResults)
				}
			},
			after: []string{"Installing 1.00 true", "-"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := macAttrs()
			if tc.attrs != nil {
				tc.attrs(&a)
			}
			r := newLegacyRig(t, a, LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor}, Faults: tc.faults})
			if res := r.schedule(asap); res.UpdateResults[0].Status != tc.schedule {
				t.Errorf("schedule result %+v", res.UpdateResults)
			}
			assertSeq(t, "while the fault holds", r.poll(len(tc.polls)), tc.polls)
			if tc.clear == nil {
				r.l.SetFaults(LegacyFaults{})
			} else {
				tc.clear(r)
			}
			assertSeq(t, "after clearing", r.poll(len(tc.after)), tc.after)
		})
	}
}

func TestLegacyErrorAnswers(t *testing.T) {
	asap := mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionInstallASAP)
	t.Run("status error without detail", func(t *testing.T) {
		r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor}})
		r.schedule(asap)
		r.l.SetFaults(LegacyFaults{StatusErrorNoDetail: true})
		resp := r.status()
		if resp.Status != mdm.StatusError || resp.ErrorChain != nil || resp.OSUpdateStatus != nil {
			t.Errorf("%+v", resp)
		}
		r.l.SetFaults(LegacyFaults{})
		assertSeq(t, "nothing advanced meanwhile", r.poll(1), []string{"Downloading 0.25 false"})
	})
	t.Run("install action unsupported", func(t *testing.T) {
		r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor},
			Faults: LegacyFaults{ActionUnsupported: []string{macMinor.ProductKey}}})
		res := r.schedule(asap)
		want := mdm.UpdateResult{ProductKey: macMinor.ProductKey, InstallAction: mdm.InstallActionError,
			Status: mdm.UpdateStatusIdle, ErrorChain: ActionUnsupportedChain(macMinor.ProductKey, mdm.InstallActionInstallASAP)}
		if res.Status != mdm.StatusAcknowledged || !reflect.DeepEqual(res.UpdateResults, []mdm.UpdateResult{want}) {
			t.Errorf("%+v", res)
		}
		if res.UpdateResults[0].Failure() != mdm.ReasonScheduleError {
			t.Errorf("meaning %+v", res.UpdateResults[0].Meaning())
		}
	})
	t.Run("schedule error", func(t *testing.T) {
		r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor},
			Faults: LegacyFaults{ScheduleError: true}})
		res := r.schedule(asap)
		if res.Status != mdm.StatusError || !reflect.DeepEqual(res.ErrorChain, ScheduleErrorChain()) || res.UpdateResults != nil {
			t.Errorf("%+v", res)
		}
		assertSeq(t, "no job", r.poll(1), []string{"-"})
	})
}

// TestLegacyAnswersGolden pins the bytes the model sends, so a change in
// the shapes (macOS vs iOS keys, sizes as integers, ErrorChain layout) is
// a deliberate one.
func TestLegacyAnswersGolden(t *testing.T) {
	mac := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor, macMajor, macXProtect, macFirmware},
		Faults: LegacyFaults{ActionUnsupported: []string{macFirmware.ProductKey}}})
	phone := newLegacyRig(t, phoneAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{iosMinor, iosMajor}})
	steps := []struct {
		name string
		r    *legacyRig
		do   func(r *legacyRig) []byte
	}{
		{"ScheduleOSUpdateScan-macOS", mac, func(r *legacyRig) []byte { return r.send(mdm.ScheduleOSUpdateScan{Force: true}) }},
		{"AvailableOSUpdates-macOS", mac, func(r *legacyRig) []byte { return r.send(mdm.AvailableOSUpdates{}) }},
		{"ScheduleOSUpdate-macOS", mac, func(r *legacyRig) []byte {
			return r.send(mdm.ScheduleOSUpdate{Updates: []mdm.OSUpdateItem{
				mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionInstallASAP),
				mdm.UpdateByProductKey(macFirmware.ProductKey, mdm.InstallActionInstallASAP)}})
		}},
		{"OSUpdateStatus-macOS", mac, func(r *legacyRig) []byte { return r.send(mdm.OSUpdateStatus{}) }},
		{"ScheduleOSUpdate-macOS-error", mac, func(r *legacyRig) []byte {
			r.l.SetFaults(LegacyFaults{ScheduleError: true})
			return r.send(mdm.ScheduleOSUpdate{Updates: []mdm.OSUpdateItem{mdm.UpdateByProductKey(macMajor.ProductKey, mdm.InstallActionDefault)}})
		}},
		{"OSUpdateStatus-macOS-error", mac, func(r *legacyRig) []byte {
			r.l.SetFaults(LegacyFaults{StatusErrorNoDetail: true})
			return r.send(mdm.OSUpdateStatus{})
		}},
		{"AvailableOSUpdates-iOS", phone, func(r *legacyRig) []byte { return r.send(mdm.AvailableOSUpdates{}) }},
		{"ScheduleOSUpdateScan-iOS", phone, func(r *legacyRig) []byte { return r.send(mdm.ScheduleOSUpdateScan{}) }},
	}
	for _, s := range steps {
		body := s.do(s.r)
		if _, err := mdm.DecodeReport(body); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		golden.Assert(t, golden.Path(t, "sim/legacy/"+s.name+".plist"), body)
	}
}

// TestLegacyConcurrentUse: the model is driven from the device's session
// while a test changes faults and attributes.
func TestLegacyConcurrentUse(t *testing.T) {
	r := newLegacyRig(t, macAttrs(), LegacyConfig{Catalog: []mdm.AvailableOSUpdate{macMinor, macXProtect}, DownloadSteps: 50})
	r.schedule(mdm.UpdateByProductKey(macMinor.ProductKey, mdm.InstallActionInstallASAP))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 50 {
				r.l.SetFaults(LegacyFaults{DownloadStuck: i%2 == 0})
				r.d.Update(func(a *Attributes) { a.FreeGB = 100 })
				r.l.Step()
				_ = r.l.Faults()
			}
		})
	}
	for range 20 {
		raw, _ := mdm.Command{UUID: "C", Payload: mdm.OSUpdateStatus{}}.Encode()
		if _, err := r.d.answer(raw); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
