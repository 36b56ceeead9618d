package enrollment

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Event kinds of enrollment decisions.
const (
	EventAllowed        = "enrollment_allowed"
	EventUpdateRequired = "enrollment_update_required"
	EventSettingsSaved  = "enrollment_min_os_changed"
)

// DeviceLookup finds a stored device.
type DeviceLookup interface {
	Device(ctx context.Context, id string) (*storage.Device, error)
}

// decisionEvent describes a decision. The endpoint is open to anyone, so
// the event goes into the device's own history only when the UDID is a
// valid id and either the device is already known or the signer chained
// to a trusted root; otherwise it is a server event naming the UDID, so
// made-up UDIDs cannot create unbounded per-device histories.
func decisionEvent(ctx context.Context, devices DeviceLookup, mi *mdm.MachineInfo, sig SignatureInfo, d Decision, at time.Time) storage.Event {
	data := map[string]string{
		"code":                            d.Code,
		"product":                         clean(mi.Product),
		"os_version":                      clean(mi.OSVersion),
		"build_version":                   clean(mi.Version),
		"mdm_can_request_software_update": strconv.FormatBool(mi.MDMCanRequestSoftwareUpdate),
		"signed":                          strconv.FormatBool(sig.Signed),
		"chain_verified":                  strconv.FormatBool(sig.ChainVerified),
	}
	optional := map[string]string{
		"rule": d.Rule, "udid": clean(mi.UDID), "serial": clean(mi.Serial),
		"software_update_device_id":     clean(mi.SoftwareUpdateDeviceID),
		"supplemental_os_version_extra": clean(mi.SupplementalOSVersionExtra),
		"signer_hash":                   sig.SignerHash, "chain_error": sig.ChainError,
	}
	if d.Required != nil {
		optional["required_os_version"] = d.Required.Details.OSVersion
		optional["required_build_version"] = d.Required.Details.BuildVersion
	}
	for k, v := range optional {
		if v != "" {
			data[k] = v
		}
	}
	ev := storage.Event{At: at, Kind: EventAllowed, Data: data,
		Message: "enrollment allowed: " + cleanN(d.Reason, 500)}
	if !d.Allow {
		ev.Kind, ev.Message = EventUpdateRequired, "enrollment held for an OS update: "+cleanN(d.Reason, 500)
	}
	if ownsHistory(ctx, devices, mi.UDID, sig) {
		ev.DeviceID = mi.UDID
	}
	return ev
}

func ownsHistory(ctx context.Context, devices DeviceLookup, udid string, sig SignatureInfo) bool {
	if storage.ValidateDeviceID(udid) != nil {
		return false
	}
	if sig.ChainVerified {
		return true
	}
	_, err := devices.Device(ctx, udid)
	return err == nil
}

// clean makes device-supplied text safe to store and print: valid UTF-8,
// no control characters, at most 64 characters (identifiers and versions
// are far shorter).
func clean(s string) string { return cleanN(s, 64) }

func cleanN(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}
