package sim

import "github.com/tidemark-mdm/tidemark/mdm"

func (d *Device) installDefaultResponders() {
	d.responders["DeviceInformation"] = deviceInformation
	d.responders["SecurityInfo"] = securityInfo
}

// deviceInformation answers from the attributes, with the value types real
// devices use (BatteryLevel and capacities are reals).
func deviceInformation(d *Device, c *IncomingCommand) Answer {
	a := d.Attributes()
	q := map[string]any{
		"UDID": a.UDID, "OSVersion": a.OSVersion, "BuildVersion": a.BuildVersion,
		"ProductName": a.ProductName, "Model": a.ProductName, "ModelName": a.ModelName,
		"SerialNumber": a.SerialNumber, "DeviceName": a.DeviceName,
		"IsSupervised": a.Supervised, "AvailableDeviceCapacity": a.FreeGB,
		"DeviceCapacity": a.CapacityGB,
	}
	if a.BatteryLevel >= 0 {
		q["BatteryLevel"] = a.BatteryLevel
	}
	if a.SoftwareUpdateDeviceID != "" {
		q["SoftwareUpdateDeviceID"] = a.SoftwareUpdateDeviceID
	}
	if a.Platform == "macOS" {
		q["IsAppleSilicon"] = a.AppleSilicon
	}
	if a.SupplementalBuild != "" {
		q["SupplementalBuildVersion"] = a.SupplementalBuild
		q["SupplementalOSVersionExtra"] = a.SupplementalExtra
	}
	if want, ok := c.Payload["Queries"].([]any); ok && len(want) > 0 {
		filtered := map[string]any{}
		for _, k := range want {
			if s, ok := k.(string); ok {
				if v, ok := q[s]; ok {
					filtered[s] = v
				}
			}
		}
		q = filtered
	}
	return Answer{Status: mdm.StatusAcknowledged, Fields: map[string]any{"QueryResponses": q}}
}

func securityInfo(d *Device, c *IncomingCommand) Answer {
	a := d.Attributes()
	info := map[string]any{
		"IsRecoveryLockEnabled": false,
		"PasscodePresent":       true,
	}
	if a.Platform == "macOS" {
		info["BootstrapTokenRequiredForSoftwareUpdate"] = a.BootstrapRequired
		info["BootstrapTokenRequiredForKernelExtensionApproval"] = a.BootstrapRequired
		info["BootstrapTokenAllowedForAuthentication"] = "allowed"
		info["SystemIntegrityProtectionEnabled"] = true
	}
	return Answer{Status: mdm.StatusAcknowledged, Fields: map[string]any{"SecurityInfo": info}}
}
