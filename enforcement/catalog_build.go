package enforcement

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tidemark-mdm/tidemark/osversion"
)

// catalogBuilder turns raw entries into merged releases. The same build is
// usually listed in both PublicAssetSets and AssetSets, often with a
// different PostingDate; such twins become one release flagged with both
// sets, keeping the earliest posting date and the latest expiry.
type catalogBuilder struct {
	releases []*Release
	byKey    map[string]*Release
	warnings []string
}

func newCatalogBuilder() *catalogBuilder {
	return &catalogBuilder{byKey: map[string]*Release{}}
}

func (b *catalogBuilder) addSet(set map[string][]rawEntry, kind ReleaseKind, public bool) {
	// Platform keys are visited in sorted order: Apple's key order changes
	// between downloads and must not change the result.
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		for i, e := range set[key] {
			r, err := releaseFromEntry(PlatformFamily(key), kind, e)
			if err != nil {
				b.warnings = append(b.warnings, fmt.Sprintf("%s[%d] (%s %s): %v", key, i, e.ProductVersion, e.Build, err))
				continue
			}
			r.Public, r.MDM = public, !public
			b.merge(r)
		}
	}
}

func (b *catalogBuilder) merge(r *Release) {
	key := strings.Join([]string{r.Platform, string(r.Kind), r.Build, r.ProductVersionExtra,
		r.PrerequisiteBuild, strings.Join(r.SupportedDevices, ",")}, "|")
	old, ok := b.byKey[key]
	if !ok {
		b.byKey[key] = r
		b.releases = append(b.releases, r)
		return
	}
	old.Public = old.Public || r.Public
	old.MDM = old.MDM || r.MDM
	if !r.Posted.IsZero() && (old.Posted.IsZero() || r.Posted.Before(old.Posted)) {
		old.Posted = r.Posted
	}
	// A known expiry beats a missing one; of two known ones the later wins,
	// since the device may install the build as long as either set offers it.
	if old.Expires.IsZero() || r.Expires.After(old.Expires) {
		old.Expires = r.Expires
	}
}

func releaseFromEntry(family string, kind ReleaseKind, e rawEntry) (*Release, error) {
	versionText := e.ProductVersion
	if kind == KindSecurityImprovement && e.ProductVersionExtra != "" {
		versionText += " " + e.ProductVersionExtra
	}
	v, err := osversion.Parse(versionText)
	if err != nil {
		return nil, fmt.Errorf("product version: %w", err)
	}
	if _, err := osversion.ParseBuild(e.Build); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	posted, err := parseCatalogDate(e.PostingDate)
	if err != nil {
		return nil, fmt.Errorf("posting date %q: %w", e.PostingDate, err)
	}
	expires, err := parseCatalogDate(e.ExpirationDate)
	if err != nil {
		return nil, fmt.Errorf("expiration date %q: %w", e.ExpirationDate, err)
	}
	r := &Release{
		Platform: family, Kind: kind, ProductVersion: e.ProductVersion, Version: v, Build: e.Build,
		Posted: posted, Expires: expires,
	}
	if kind == KindSecurityImprovement {
		r.ProductVersionExtra, r.PrerequisiteBuild = e.ProductVersionExtra, e.PrerequisiteBuild
	}
	r.SupportedDevices = cleanDeviceList(e.SupportedDevices)
	r.DeviceListMissing = len(r.SupportedDevices) == 0
	return r, nil
}

// cleanDeviceList drops blanks and duplicates and sorts, so two listings of
// the same devices in a different order merge into one release.
func cleanDeviceList(list *[]string) []string {
	if list == nil {
		return nil
	}
	seen := make(map[string]bool, len(*list))
	out := make([]string, 0, len(*list))
	for _, d := range *list {
		d = strings.TrimSpace(d)
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
