package legacy

import (
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
)

// findOffer looks for the target among the listed updates by version (and
// build when the target names one). Config-data and firmware items carry
// versions of their own and never match; product keys are opaque and never
// read.
func findOffer(items []mdm.AvailableOSUpdate, target, build string, at time.Time) *Offer {
	want, err := osversion.Parse(target)
	if err != nil {
		return nil
	}
	for _, it := range items {
		if it.IsConfigDataUpdate || it.IsFirmwareUpdate || it.ProductKey == "" {
			continue
		}
		v, ok := it.ParsedVersion()
		if !ok || v.Compare(want) != 0 {
			continue
		}
		if build != "" && it.Build != build && it.SupplementalBuildVersion != build {
			continue
		}
		if build == "" {
			if _, ok := it.ParsedBuild(); !ok {
				continue // not an OS item: every OS update names its build
			}
		}
		return &Offer{ProductKey: it.ProductKey, Version: strings.TrimSpace(it.Version), Build: it.Build,
			DownloadSize: int64(it.DownloadSize.Float64()), AllowsInstallLater: it.AllowsInstallLater,
			IsMajor: it.IsMajorOSUpdate, ListedAt: at}
	}
	return nil
}

// chainKind is what an ErrorChain says, as far as the driver acts on it.
type chainKind int

const (
	chainOther chainKind = iota
	chainPersonalization
	chainActionUnsupported
	chainNotAvailable
)

// MCMDMErrorDomain codes real devices use for ScheduleOSUpdate refusals.
const (
	codeUpdateNotAvailable = 12080
	codeActionUnsupported  = 12081
)

// classifyChain reads a device's ErrorChain. Apple documents neither codes
// nor texts, so known MDM codes come first and the English description is
// the fallback.
func classifyChain(chain []mdm.ErrorChainItem) chainKind {
	for _, e := range chain {
		text := strings.ToLower(e.USEnglishDescription + " " + e.LocalizedDescription)
		switch {
		case strings.Contains(text, "personaliz") || strings.Contains(text, "personalis"):
			return chainPersonalization
		case e.ErrorDomain == "MCMDMErrorDomain" && e.ErrorCode == codeActionUnsupported,
			strings.Contains(text, "not supported"):
			return chainActionUnsupported
		case e.ErrorDomain == "MCMDMErrorDomain" && e.ErrorCode == codeUpdateNotAvailable,
			strings.Contains(text, "not available"):
			return chainNotAvailable
		}
	}
	return chainOther
}

// chainText is the chain's first description, for reason details.
func chainText(chain []mdm.ErrorChainItem) string {
	for _, e := range chain {
		if e.USEnglishDescription != "" {
			return e.USEnglishDescription
		}
		if e.LocalizedDescription != "" {
			return e.LocalizedDescription
		}
	}
	return ""
}

// codeForChain maps a chain to the reason code the driver reports.
func codeForChain(k chainKind, fallback enforcement.Code) enforcement.Code {
	switch k {
	case chainPersonalization:
		return enforcement.CodePersonalizationFailed
	case chainActionUnsupported:
		return enforcement.CodeInstallActionUnsupported
	case chainNotAvailable:
		return enforcement.CodeProductKeyNotFound
	}
	return fallback
}
