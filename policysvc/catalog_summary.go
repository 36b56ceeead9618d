package policysvc

import (
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
)

// CatalogSummary is the admin view of the release catalog (GET /v1/catalog).
type CatalogSummary struct {
	Loaded      bool       `json:"loaded"`
	Source      string     `json:"source,omitempty"`
	Fingerprint string     `json:"fingerprint,omitempty"`
	LoadedAt    *time.Time `json:"loaded_at,omitempty"`
	CheckedAt   *time.Time `json:"checked_at,omitempty"`
	// Fetch is set when the server downloads the catalog on a schedule.
	Fetch     *FetchStatus       `json:"fetch,omitempty"`
	Warnings  []string           `json:"warnings,omitempty"`
	Platforms []PlatformReleases `json:"platforms"`
}

// PlatformReleases lists one catalog family's releases, newest first.
type PlatformReleases struct {
	Platform string           `json:"platform"`
	Releases []ReleaseSummary `json:"releases"`
}

// ReleaseSummary is one catalog entry.
type ReleaseSummary struct {
	Version           string                  `json:"version"`
	Build             string                  `json:"build"`
	Kind              enforcement.ReleaseKind `json:"kind"`
	PrerequisiteBuild string                  `json:"prerequisite_build,omitempty"`
	Posted            string                  `json:"posted,omitempty"`
	Expires           string                  `json:"expires,omitempty"`
	DeviceCount       int                     `json:"device_count"`
	// Flags: public (offered to users), mdm (in the set a management
	// server may push), no_device_list (offered to the whole family),
	// expired (Apple no longer signs it).
	Flags []string `json:"flags,omitempty"`
}

// Release flags.
const (
	FlagPublic       = "public"
	FlagMDM          = "mdm"
	FlagNoDeviceList = "no_device_list"
	FlagExpired      = "expired"
)

const dateLayout = "2006-01-02"

// CatalogSummary describes the current catalog. platform, when not empty,
// keeps only its family ("iPadOS" shows the "iOS" family).
func (s *Service) CatalogSummary(platform string) CatalogSummary {
	out := CatalogSummary{Platforms: []PlatformReleases{}}
	if s.cfg.CatalogURL != "" {
		f := s.fetchStatus()
		out.Fetch = &f
	}
	st := s.catalog.Load()
	if st == nil {
		return out
	}
	out.Loaded, out.Source, out.Fingerprint = true, st.rec.Source, st.rec.Fingerprint
	out.LoadedAt, out.CheckedAt = optTime(st.rec.LoadedAt), optTime(st.rec.CheckedAt)
	out.Warnings = st.cat.Warnings
	family := ""
	if platform != "" {
		family = enforcement.PlatformFamily(platform)
	}
	now := s.now()
	for _, r := range st.cat.Releases() {
		if family != "" && r.Platform != family {
			continue
		}
		n := len(out.Platforms)
		if n == 0 || out.Platforms[n-1].Platform != r.Platform {
			out.Platforms = append(out.Platforms, PlatformReleases{Platform: r.Platform})
			n++
		}
		out.Platforms[n-1].Releases = append(out.Platforms[n-1].Releases, releaseSummary(r, now))
	}
	return out
}

func releaseSummary(r enforcement.Release, now time.Time) ReleaseSummary {
	v := r.ProductVersion
	if r.ProductVersionExtra != "" {
		v += " " + r.ProductVersionExtra
	}
	out := ReleaseSummary{Version: v, Build: r.Build, Kind: r.Kind, PrerequisiteBuild: r.PrerequisiteBuild,
		Posted: fmtDate(r.Posted), Expires: fmtDate(r.Expires), DeviceCount: len(r.SupportedDevices)}
	for _, f := range []struct {
		name string
		on   bool
	}{{FlagPublic, r.Public}, {FlagMDM, r.MDM}, {FlagNoDeviceList, r.DeviceListMissing}, {FlagExpired, !r.Installable(now)}} {
		if f.on {
			out.Flags = append(out.Flags, f.name)
		}
	}
	return out
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateLayout)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
