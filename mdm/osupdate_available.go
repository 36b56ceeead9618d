package mdm

import (
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// AvailableOSUpdatesResponse is a device's answer to AvailableOSUpdates.
type AvailableOSUpdatesResponse struct {
	ResponseHeader
	AvailableOSUpdates []AvailableOSUpdate `plist:"AvailableOSUpdates"`
	Warnings           []string            `plist:"-"`
}

// AvailableOSUpdate is one update a device offers. Every key is optional
// here because iOS and macOS send different sets. ProductKey is an opaque
// identifier: never derive a version or kind from it.
type AvailableOSUpdate struct {
	ProductKey                 string    `plist:"ProductKey"`
	HumanReadableName          string    `plist:"HumanReadableName,omitempty"`
	HumanReadableNameLocale    string    `plist:"HumanReadableNameLocale,omitempty"`
	ProductName                string    `plist:"ProductName,omitempty"`
	Version                    string    `plist:"Version,omitempty"` // may be " " on macOS
	Build                      string    `plist:"Build,omitempty"`
	DownloadSize               Number    `plist:"DownloadSize,omitempty"`
	InstallSize                Number    `plist:"InstallSize,omitempty"`
	AppIdentifiersToClose      []string  `plist:"AppIdentifiersToClose,omitempty"`
	IsCritical                 bool      `plist:"IsCritical,omitempty"`
	IsConfigDataUpdate         bool      `plist:"IsConfigDataUpdate,omitempty"`
	IsFirmwareUpdate           bool      `plist:"IsFirmwareUpdate,omitempty"`
	IsMajorOSUpdate            bool      `plist:"IsMajorOSUpdate,omitempty"`
	RestartRequired            bool      `plist:"RestartRequired,omitempty"`
	AllowsInstallLater         bool      `plist:"AllowsInstallLater,omitempty"`
	DeferredUntil              time.Time `plist:"DeferredUntil,omitempty"`
	RequiresBootstrapToken     bool      `plist:"RequiresBootstrapToken,omitempty"`
	IsSecurityResponse         bool      `plist:"IsSecurityResponse,omitempty"`
	SupplementalBuildVersion   string    `plist:"SupplementalBuildVersion,omitempty"`
	SupplementalOSVersionExtra string    `plist:"SupplementalOSVersionExtra,omitempty"`
	MetadataURL                string    `plist:"MetadataURL,omitempty"`
}

type availableWire struct {
	ResponseHeader
	AvailableOSUpdates *[]AvailableOSUpdate `plist:"AvailableOSUpdates,omitempty"`
}

// DecodeAvailableOSUpdates decodes an AvailableOSUpdates response. An item
// without ProductKey or with a negative size is an error; versions and
// builds that do not parse are kept and listed in Warnings.
func DecodeAvailableOSUpdates(raw []byte) (*AvailableOSUpdatesResponse, error) {
	var w availableWire
	if err := decodeResponse(raw, RequestAvailableOSUpdates, &w, func() bool { return w.AvailableOSUpdates != nil }); err != nil {
		return nil, err
	}
	r := &AvailableOSUpdatesResponse{ResponseHeader: w.ResponseHeader}
	if w.AvailableOSUpdates == nil {
		return r, nil
	}
	r.AvailableOSUpdates = *w.AvailableOSUpdates
	for i := range r.AvailableOSUpdates {
		it := &r.AvailableOSUpdates[i]
		if err := it.check(); err != nil {
			return nil, &DecodeError{Reason: fmt.Sprintf("AvailableOSUpdates response: item %d: %v", i, err)}
		}
		if len(it.AppIdentifiersToClose) == 0 {
			it.AppIdentifiersToClose = nil // absent and empty mean the same
		}
		for _, msg := range it.warnings() {
			r.Warnings = append(r.Warnings, fmt.Sprintf("item %d (%s): %s", i, it.ProductKey, msg))
		}
	}
	return r, nil
}

// MarshalPlist writes the result key only when there is a result, as a
// device does (an Error response carries no AvailableOSUpdates).
func (r AvailableOSUpdatesResponse) MarshalPlist() (any, error) {
	w := availableWire{ResponseHeader: r.ResponseHeader}
	if r.Status == StatusAcknowledged || len(r.AvailableOSUpdates) > 0 {
		items := r.AvailableOSUpdates
		if items == nil {
			items = []AvailableOSUpdate{}
		}
		w.AvailableOSUpdates = &items
	}
	return w, nil
}

// maxSize (2^53 bytes) is far above any update and keeps sizes exact as
// float64 and convertible to int64.
const maxSize = 1 << 53

func (it AvailableOSUpdate) check() error {
	if it.ProductKey == "" {
		return fmt.Errorf("missing ProductKey")
	}
	for _, size := range []Number{it.DownloadSize, it.InstallSize} {
		if size < 0 || size > maxSize {
			return fmt.Errorf("DownloadSize or InstallSize %v is out of range", float64(size))
		}
	}
	return nil
}

func (it AvailableOSUpdate) warnings() []string {
	var w []string
	// Config-data and app items carry their own version schemes.
	if !it.IsConfigDataUpdate {
		w = appendVersionWarning(w, "Version", it.Version)
	}
	w = appendBuildWarning(w, "Build", it.Build)
	w = appendBuildWarning(w, "SupplementalBuildVersion", it.SupplementalBuildVersion)
	w = appendExtraWarning(w, "SupplementalOSVersionExtra", it.SupplementalOSVersionExtra)
	return w
}

// ParsedVersion is Version (plus SupplementalOSVersionExtra for a security
// response), or false when Version is blank or not an OS version.
func (it AvailableOSUpdate) ParsedVersion() (osversion.Version, bool) {
	return versionWithExtra(it.Version, it.SupplementalOSVersionExtra)
}

// ParsedBuild is Build, or SupplementalBuildVersion when Build is missing.
func (it AvailableOSUpdate) ParsedBuild() (osversion.Build, bool) {
	for _, s := range []string{it.Build, it.SupplementalBuildVersion} {
		if b, err := osversion.ParseBuild(s); err == nil {
			return b, true
		}
	}
	return osversion.Build{}, false
}

func versionWithExtra(version, extra string) (osversion.Version, bool) {
	v, err := osversion.Parse(version)
	if err != nil {
		return osversion.Version{}, false
	}
	if v.Extra == "" && extra != "" {
		if e, err := osversion.Parse("0 " + extra); err == nil {
			v.Extra = e.Extra
		}
	}
	return v, true
}

func appendVersionWarning(w []string, field, s string) []string {
	if s == "" {
		return w
	}
	if _, err := osversion.Parse(s); err != nil {
		return append(w, fmt.Sprintf("%s %q is not an OS version", field, s))
	}
	return w
}

func appendBuildWarning(w []string, field, s string) []string {
	if s == "" {
		return w
	}
	if _, err := osversion.ParseBuild(s); err != nil {
		return append(w, fmt.Sprintf("%s %q is not a build number", field, s))
	}
	return w
}

func appendExtraWarning(w []string, field, s string) []string {
	if s == "" {
		return w
	}
	if _, err := osversion.Parse("0 " + s); err != nil {
		return append(w, fmt.Sprintf("%s %q is not like \"(a)\"", field, s))
	}
	return w
}

// availableItemFields has AvailableOSUpdate's fields without its methods,
// so availableItemWire can embed it without inheriting MarshalPlist.
type availableItemFields AvailableOSUpdate

// availableItemWire shadows the sizes with integers: Apple declares them
// <integer>, and a large <real> would be written in exponent form.
type availableItemWire struct {
	availableItemFields
	DownloadSize int64 `plist:"DownloadSize,omitempty"`
	InstallSize  int64 `plist:"InstallSize,omitempty"`
}

// MarshalPlist writes the item as a device would, sizes as <integer>.
func (it AvailableOSUpdate) MarshalPlist() (any, error) {
	return availableItemWire{availableItemFields(it), it.DownloadSize.Int64(), it.InstallSize.Int64()}, nil
}
