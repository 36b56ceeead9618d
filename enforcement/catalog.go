package enforcement

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// ReleaseKind separates full OS releases from Background Security
// Improvements (formerly Rapid Security Responses).
type ReleaseKind string

const (
	KindOS                  ReleaseKind = "os"
	KindSecurityImprovement ReleaseKind = "security_improvement"
)

// Release is one entry of Apple's Software Lookup Service catalog. The same
// version can appear several times with different builds or device lists
// (forked builds), so a release is identified by build and device list,
// never by version alone.
type Release struct {
	// Platform is the catalog family: "macOS", "iOS" (which also holds
	// iPadOS, tvOS, watchOS and HomePod builds) or "visionOS".
	Platform       string            `json:"platform"`
	Kind           ReleaseKind       `json:"kind"`
	ProductVersion string            `json:"product_version"`
	Version        osversion.Version `json:"-"`
	Build          string            `json:"build"`
	// ProductVersionExtra ("(a)") and PrerequisiteBuild are set only for
	// security improvements; Version then includes the extra.
	ProductVersionExtra string `json:"product_version_extra,omitempty"`
	PrerequisiteBuild   string `json:"prerequisite_build,omitempty"`
	// Posted and Expires are Apple's dates (no time of day) at 00:00 UTC.
	// Apple re-stamps both: neither is the original release date, and the
	// expiry of a current release moves forward almost daily.
	Posted           time.Time `json:"posted"`
	Expires          time.Time `json:"expires"`
	SupportedDevices []string  `json:"supported_devices,omitempty"`
	// DeviceListMissing marks an entry without SupportedDevices. Such a
	// release is offered to every device of its family, but never chosen
	// as "latest" while a release naming the device exists (see Latest).
	DeviceListMissing bool `json:"device_list_missing,omitempty"`
	// Public: listed in PublicAssetSets (or the public security set).
	// MDM: listed in AssetSets, the set a management server may push.
	Public bool `json:"public"`
	MDM    bool `json:"mdm"`
}

// Installable reports whether Apple still signs the release at the given
// instant. The catalog gives only a date; we stop counting on a release at
// 00:00 UTC of its ExpirationDate, the earliest reading of that date, so a
// deadline is never planned on a release that may already be unsigned. A
// release without an ExpirationDate is treated as installable.
func (r Release) Installable(at time.Time) bool {
	return r.Expires.IsZero() || at.Before(r.Expires)
}

// Supports reports whether the release lists deviceID (or lists no device).
func (r Release) Supports(deviceID string) bool {
	if r.DeviceListMissing {
		return true
	}
	for _, d := range r.SupportedDevices {
		if d == deviceID {
			return true
		}
	}
	return false
}

// ErrEmptyCatalog is returned for a catalog without a single usable
// release; the caller should keep its last good copy.
var ErrEmptyCatalog = errors.New("release catalog has no usable releases")

// rawCatalog is the JSON shape of https://gdmf.apple.com/v2/pmv.
type rawCatalog struct {
	PublicAssetSets                      map[string][]rawEntry `json:"PublicAssetSets"`
	AssetSets                            map[string][]rawEntry `json:"AssetSets"`
	PublicBackgroundSecurityImprovements map[string][]rawEntry `json:"PublicBackgroundSecurityImprovements"`
	PublicRapidSecurityResponses         map[string][]rawEntry `json:"PublicRapidSecurityResponses"`
}

type rawEntry struct {
	ProductVersion      string    `json:"ProductVersion"`
	Build               string    `json:"Build"`
	ProductVersionExtra string    `json:"ProductVersionExtra"`
	PrerequisiteBuild   string    `json:"PrerequisiteBuild"`
	PostingDate         string    `json:"PostingDate"`
	ExpirationDate      string    `json:"ExpirationDate"`
	SupportedDevices    *[]string `json:"SupportedDevices"`
}

// maxCatalogBytes bounds what ParseCatalog accepts; real responses are
// about 100 KB.
const maxCatalogBytes = 16 << 20

// ParseCatalog reads Apple's Software Lookup Service JSON. Entries it cannot
// use (bad version, build or date) are skipped and listed in
// Catalog.Warnings; a document that is not the expected JSON object, or
// that yields no usable release, is refused.
func ParseCatalog(raw []byte) (*Catalog, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("parse release catalog: %w (empty body)", ErrEmptyCatalog)
	}
	if len(raw) > maxCatalogBytes {
		return nil, fmt.Errorf("parse release catalog: %d bytes exceeds the %d-byte limit", len(raw), maxCatalogBytes)
	}
	var rc rawCatalog
	if err := json.Unmarshal(raw, &rc); err != nil {
		return nil, fmt.Errorf("parse release catalog: not Apple's pmv JSON: %w", err)
	}
	b := newCatalogBuilder()
	b.addSet(rc.PublicAssetSets, KindOS, true)
	b.addSet(rc.AssetSets, KindOS, false)
	b.addSet(rc.PublicBackgroundSecurityImprovements, KindSecurityImprovement, true)
	b.addSet(rc.PublicRapidSecurityResponses, KindSecurityImprovement, true)
	if len(b.releases) == 0 {
		if len(b.warnings) > 0 {
			return nil, fmt.Errorf("parse release catalog: %w (first problem: %s)", ErrEmptyCatalog, b.warnings[0])
		}
		return nil, fmt.Errorf("parse release catalog: %w", ErrEmptyCatalog)
	}
	return b.build(), nil
}

// PlatformFamily maps a device platform to the catalog key that holds its
// releases: iPadOS (and tvOS, watchOS) releases are listed under "iOS", and
// the 2024 "xrOS" key held visionOS. Unknown platforms map to themselves.
func PlatformFamily(platform string) string {
	switch platform {
	case "iOS", "iPadOS", "tvOS", "watchOS":
		return "iOS"
	case "xrOS", "visionOS":
		return "visionOS"
	}
	return platform
}

const catalogDateLayout = "2006-01-02"

func parseCatalogDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(catalogDateLayout, s)
}
