package sim

import (
	"fmt"
	"strings"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// The constructors below build catalog items in the shapes real devices
// report (see testdata/mdm/responses and testdata/mdm/real): a Mac sends
// locale, bootstrap-token and kind flags and a MSU_UPDATE_* product key;
// an iPhone sends ProductName "iOS", InstallSize and an iOSUpdate* key.
// Product keys stay opaque to the server; these shapes only look real.

// MacOSUpdate is a macOS minor update (or a major one when major is set)
// as macOS 13+ lists it. Sizes are in bytes.
func MacOSUpdate(version, build string, major bool, downloadSize int64) mdm.AvailableOSUpdate {
	name := "macOS " + macOSName(version) + " " + version
	key := fmt.Sprintf("MSU_UPDATE_%s_patch_%s_minor", build, version)
	if major {
		key = fmt.Sprintf("MSU_UPDATE_%s_major", build)
	}
	return mdm.AvailableOSUpdate{
		ProductKey: key, HumanReadableName: name, HumanReadableNameLocale: "en",
		Version: version, Build: build, DownloadSize: mdm.Number(downloadSize),
		IsMajorOSUpdate: major, RestartRequired: true, AllowsInstallLater: true,
		RequiresBootstrapToken: true,
	}
}

// MacConfigData is a background config-data item (XProtect, Gatekeeper…):
// its Version is the data's own number, not an OS version.
func MacConfigData(key, name, version string) mdm.AvailableOSUpdate {
	return mdm.AvailableOSUpdate{
		ProductKey: key, HumanReadableName: name, HumanReadableNameLocale: "en",
		Version: version, IsConfigDataUpdate: true, AllowsInstallLater: true,
		MetadataURL: "https://swdist.apple.com/content/downloads/sim/" + key + "/" + strings.ReplaceAll(name, " ", "") + ".smd",
	}
}

// MacFirmware is a firmware item; Macs report such items with Version " "
// (a single space), as the 10.13 capture shows for non-OS items.
func MacFirmware(key, name string, downloadSize int64) mdm.AvailableOSUpdate {
	return mdm.AvailableOSUpdate{
		ProductKey: key, HumanReadableName: name, HumanReadableNameLocale: "en",
		Version: " ", DownloadSize: mdm.Number(downloadSize), IsFirmwareUpdate: true,
		RestartRequired: true, AllowsInstallLater: true,
	}
}

// IOSUpdate is an iOS/iPadOS update as an iPhone lists it.
func IOSUpdate(version, build string, downloadSize, installSize int64) mdm.AvailableOSUpdate {
	return mdm.AvailableOSUpdate{
		ProductKey: "iOSUpdate" + build, HumanReadableName: "iOS " + version, ProductName: "iOS",
		Version: version, Build: build, DownloadSize: mdm.Number(downloadSize),
		InstallSize: mdm.Number(installSize), RestartRequired: true,
	}
}

func macOSName(version string) string {
	v, err := osversion.Parse(version)
	if err != nil {
		return ""
	}
	names := map[int]string{11: "Big Sur", 12: "Monterey", 13: "Ventura", 14: "Sonoma", 15: "Sequoia", 26: "Tahoe"}
	return names[v.Major]
}

// Error chains the model answers with. Apple documents neither the codes
// nor the texts, so the codes here are synthetic; the domains are those
// real devices use: MCMDMErrorDomain for MDM-level refusals,
// com.apple.softwareupdateservices.errors (seen in a real iOS capture,
// testdata/mdm/real/commandment), SUMacControllerError (macOS
// softwareupdated) and NSURLErrorDomain -1001, the real "timed out" code.

// UpdateNotAvailableChain: ScheduleOSUpdate named a key the last scan did
// not offer.
func UpdateNotAvailableChain(productKey string) []mdm.ErrorChainItem {
	return chain("MCMDMErrorDomain", 12080, fmt.Sprintf("The software update “%s” is not available.", productKey))
}

// VersionNotAvailableChain: ScheduleOSUpdate named a version no offered
// update has.
func VersionNotAvailableChain(version string) []mdm.ErrorChainItem {
	return chain("MCMDMErrorDomain", 12080, fmt.Sprintf("No software update for version “%s” is available.", version))
}

// ActionUnsupportedChain: the install action cannot apply to that update.
func ActionUnsupportedChain(productKey, action string) []mdm.ErrorChainItem {
	return chain("MCMDMErrorDomain", 12081,
		fmt.Sprintf("The install action “%s” is not supported for the software update “%s”.", action, productKey))
}

// ScheduleErrorChain: the whole ScheduleOSUpdate command failed.
func ScheduleErrorChain() []mdm.ErrorChainItem {
	return append(chain("MCMDMErrorDomain", 12082, "The software update could not be scheduled."),
		chain("com.apple.softwareupdateservices.errors", 3,
			"The operation couldn’t be completed. (com.apple.softwareupdateservices.errors error 3.)")...)
}

// PersonalizationErrorChain: Apple's signing server could not personalise
// the update for this device (field note A7).
func PersonalizationErrorChain() []mdm.ErrorChainItem {
	return append(chain("SUMacControllerError", 8102, "Failed to personalize the software update."),
		chain("NSURLErrorDomain", -1001, "The request timed out.")...)
}

func chain(domain string, code int, text string) []mdm.ErrorChainItem {
	return []mdm.ErrorChainItem{{ErrorCode: code, ErrorDomain: domain, LocalizedDescription: text, USEnglishDescription: text}}
}
