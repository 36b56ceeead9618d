package mdm

import (
	"errors"
	"fmt"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// RequestDeviceInformation is the DeviceInformation request type.
const RequestDeviceInformation = "DeviceInformation"

// DefaultDeviceInformationQueries are the facts OS-update enforcement
// needs: what runs (version, build, supplemental extra), what it is
// (model, SoftwareUpdateDeviceID for catalog matching, Apple silicon),
// whether forced updates can work (supervision) and whether an install can
// start (battery, free space).
var DefaultDeviceInformationQueries = []string{
	"UDID", "DeviceName", "SerialNumber",
	"OSVersion", "BuildVersion", "SupplementalBuildVersion", "SupplementalOSVersionExtra",
	"ProductName", "Model", "ModelName", "SoftwareUpdateDeviceID",
	"IsSupervised", "IsAppleSilicon",
	"HasBattery", "BatteryLevel", "AvailableDeviceCapacity", "DeviceCapacity",
}

// DeviceInformation queries device facts.
type DeviceInformation struct {
	Queries []string `plist:"Queries"`
}

// NewDeviceInformation asks for queries, or for the default list when none
// are given.
func NewDeviceInformation(queries ...string) DeviceInformation {
	if len(queries) == 0 {
		queries = DefaultDeviceInformationQueries
	}
	return DeviceInformation{Queries: append([]string(nil), queries...)}
}

func (DeviceInformation) RequestType() string { return RequestDeviceInformation }

// Validate requires at least one query, each a plain identifier, no repeats.
func (c DeviceInformation) Validate() error {
	if len(c.Queries) == 0 {
		return errors.New("Queries must name at least one query")
	}
	seen := make(map[string]bool, len(c.Queries))
	for _, q := range c.Queries {
		if !isQueryName(q) {
			return fmt.Errorf("query %q is not a plain identifier", q)
		}
		if seen[q] {
			return fmt.Errorf("query %q is named twice", q)
		}
		seen[q] = true
	}
	return nil
}

func isQueryName(q string) bool {
	if q == "" || len(q) > 128 {
		return false
	}
	for _, c := range q {
		if !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

func (DeviceInformation) rules() commandRules {
	return commandRules{platforms: map[string]platformRule{
		PlatformIOS:   {osversion.MustParse("4.0"), false},
		PlatformMacOS: {osversion.MustParse("10.7"), false},
		PlatformTVOS:  {osversion.MustParse("9.0"), false},
	}}
}
