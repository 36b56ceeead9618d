package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Interpreter turns typed results into storage effects, applied in the
// same transaction as the result itself.
type Interpreter struct{}

// NewInterpreter returns an Interpreter.
func NewInterpreter() *Interpreter { return &Interpreter{} }

// Decode implements the API's typed view of a stored result.
func (b *Builder) Decode(requestType string, raw []byte) (any, error) {
	switch requestType {
	case mdm.RequestDeviceInformation:
		return mdm.DecodeDeviceInformation(raw)
	case mdm.RequestSecurityInfo:
		return mdm.DecodeSecurityInfo(raw)
	case mdm.RequestAvailableOSUpdates:
		return mdm.DecodeAvailableOSUpdates(raw)
	case mdm.RequestScheduleOSUpdate:
		return mdm.DecodeScheduleOSUpdate(raw)
	case mdm.RequestOSUpdateStatus:
		return mdm.DecodeOSUpdateStatus(raw)
	case mdm.RequestScheduleOSUpdateScan:
		return mdm.DecodeScheduleOSUpdateScan(raw)
	}
	return nil, fmt.Errorf("no typed view for %q", requestType)
}

// Effects implements httpmdm.ResultInterpreter. Decoding happens here,
// before the transaction; the returned closures only copy values.
func (in *Interpreter) Effects(ctx context.Context, id, requestType, status string, raw []byte, at time.Time) (storage.ResultEffects, error) {
	if status != mdm.StatusAcknowledged {
		if isUpdateCommand(requestType) {
			return in.updateError(requestType, status, raw, at)
		}
		return storage.ResultEffects{}, nil
	}
	switch requestType {
	case mdm.RequestDeviceInformation:
		r, err := mdm.DecodeDeviceInformation(raw)
		if err != nil {
			return storage.ResultEffects{}, err
		}
		return storage.ResultEffects{Device: func(d *storage.Device) bool {
			applyDeviceInformation(&d.Facts, &r.QueryResponses, at)
			return true
		}}, nil
	case mdm.RequestSecurityInfo:
		r, err := mdm.DecodeSecurityInfo(raw)
		if err != nil {
			return storage.ResultEffects{}, err
		}
		return storage.ResultEffects{Device: func(d *storage.Device) bool {
			applySecurityInfo(&d.Facts, &r.SecurityInfo, at)
			return true
		}}, nil
	}
	if isUpdateCommand(requestType) {
		return in.updateEffects(requestType, raw, at)
	}
	return storage.ResultEffects{}, nil
}

func applyDeviceInformation(f *storage.Facts, q *mdm.DeviceQueryResponses, at time.Time) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&f.OSVersion, q.OSVersion)
	set(&f.BuildVersion, q.BuildVersion)
	set(&f.ProductName, q.ProductName)
	set(&f.Model, q.Model)
	set(&f.ModelName, q.ModelName)
	set(&f.SerialNumber, q.SerialNumber)
	set(&f.DeviceName, q.DeviceName)
	set(&f.SoftwareUpdateDeviceID, q.SoftwareUpdateDeviceID)
	// The supplemental pair describes the installed state: a device that
	// answers OSVersion without them has none (any more).
	if q.OSVersion != "" {
		f.SupplementalBuild, f.SupplementalExtra = q.SupplementalBuildVersion, q.SupplementalOSVersionExtra
	}
	if p := mdm.PlatformFromProduct(q.ProductName); p != "" {
		f.Platform = p
	}
	if q.IsSupervised != nil {
		f.Supervised = boolPtr(*q.IsSupervised)
	}
	if q.IsAppleSilicon != nil {
		f.AppleSilicon = boolPtr(*q.IsAppleSilicon)
	}
	if v, ok := q.Battery(); ok {
		f.BatteryLevel = &v
	}
	if q.DeviceCapacity != nil {
		f.DeviceCapacityGB = floatPtr(q.DeviceCapacity.Float64())
	}
	if q.AvailableDeviceCapacity != nil {
		f.AvailableCapacityGB = floatPtr(q.AvailableDeviceCapacity.Float64())
	}
	f.DeviceInfoAt = at
}

func applySecurityInfo(f *storage.Facts, s *mdm.SecurityFacts, at time.Time) {
	if needed, ok := s.NeedsBootstrapTokenForUpdates(); ok {
		f.BootstrapRequired = boolPtr(needed)
	}
	if s.BootstrapTokenAllowedForAuthentication != "" {
		f.BootstrapAllowedAuth = boolPtr(s.BootstrapTokenAllowedForAuthentication == "allowed")
	}
	f.SecurityInfoAt = at
}

func boolPtr(b bool) *bool        { return &b }
func floatPtr(v float64) *float64 { return &v }
