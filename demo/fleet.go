package demo

import (
	"fmt"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/sim"
)

// member is one simulated device of the demo fleet and the story it tells.
type member struct {
	dev     *sim.Device
	ddm     *sim.DDM
	legacy  *sim.Legacy
	story   string // what is special about it, shown at the end
	offline bool
	token   bool // escrows a bootstrap token
	// charge is set for a low-battery device that gets plugged in mid-demo.
	charge bool
}

// kind is a device model and OS the fleet is built from.
type kind struct {
	platform, product, model, suID, version, build string
}

var kinds = []kind{
	{"macOS", "Mac14,2", "MacBook Air", "J413AP", "13.7.8", "22H730"},
	{"macOS", "Mac14,2", "MacBook Air", "J413AP", "14.8.3", "23J430"},
	{"macOS", "Mac14,2", "MacBook Air", "J413AP", "15.7.3", "24G420"},
	{"macOS", "Mac14,2", "MacBook Air", "J413AP", "26.1", "25B78"},
	{"iOS", "iPhone15,2", "iPhone", "iPhone15,2", "16.7.12", "20H360"},
	{"iOS", "iPhone15,2", "iPhone", "iPhone15,2", "17.7.10", "21H450"},
	{"iOS", "iPhone15,2", "iPhone", "iPhone15,2", "18.7.3", "22H120"},
	{"iPadOS", "iPad13,4", "iPad Pro", "iPad13,4", "26.1", "23B85"},
	{"iPadOS", "iPad13,4", "iPad Pro", "iPad13,4", "18.7.3", "22H120"},
	{"iOS", "iPhone15,2", "iPhone", "iPhone15,2", "26.1", "23B85"},
}

// attrs builds the i-th device's attributes.
func attrs(i int, k kind) sim.Attributes {
	a := sim.Attributes{
		UDID: fmt.Sprintf("DEMO-%s-%03d", short(k.platform), i), SerialNumber: fmt.Sprintf("DEMO%06d", i),
		Platform: k.platform, OSVersion: k.version, BuildVersion: k.build, ProductName: k.product, ModelName: k.model,
		DeviceName: fmt.Sprintf("%s %d", k.model, i), Supervised: true, BatteryLevel: 0.8, OnPower: false,
		FreeGB: 120, CapacityGB: 256, SoftwareUpdateDeviceID: k.suID,
	}
	if k.platform == "macOS" {
		a.AppleSilicon, a.BootstrapRequired = true, true
	}
	return a
}

func short(platform string) string {
	switch platform {
	case "macOS":
		return "MAC"
	case "iPadOS":
		return "IPAD"
	}
	return "IPHONE"
}

// legacyCatalog is what an old device's software update offers: the
// target release, and on Macs a config-data item that must be ignored.
func legacyCatalog(k kind) []mdm.AvailableOSUpdate {
	if k.platform == "macOS" {
		return []mdm.AvailableOSUpdate{
			sim.MacOSUpdate("26.2", "25C56", true, 14_000_000_000),
			sim.MacConfigData("XProtectPlistConfigData_10_15", "XProtectPlistConfigData", "5330"),
		}
	}
	return []mdm.AvailableOSUpdate{sim.IOSUpdate("26.2", "23C55", 7_100_000_000, 16_000_000_000)}
}

// storyFor decides which devices misbehave, so the demo shows every kind
// of reason an admin meets. The rest behave.
func storyFor(i int, k kind) (story string, offline, token, charge bool) {
	token = k.platform == "macOS"
	switch {
	case i == 3 && k.platform == "macOS":
		return "not supervised", false, token, false
	case i == 13 && k.platform == "macOS":
		return "no bootstrap token escrowed", false, false, false
	case i == 20:
		return "low battery, plugged in on day 4", false, token, true
	case i == 30:
		return "low battery, never charged", false, token, false
	case i == 40:
		return "download stalls at 0 %", false, token, false
	case i == 7 || i == 47:
		return "offline since enrollment", true, token, false
	}
	return "", false, token, false
}
