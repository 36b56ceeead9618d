package policysvc

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Catalog returns the current release catalog from memory, or
// enforcement.ErrNoCatalog before the first one is loaded. The value is
// immutable and may be kept; a change swaps in a new one.
func (s *Service) Catalog(ctx context.Context) (*enforcement.Catalog, error) {
	st := s.catalog.Load()
	if st == nil {
		return nil, enforcement.ErrNoCatalog
	}
	return st.cat, nil
}

// CatalogRefusedError is a catalog that did not parse; the last good copy
// was kept.
type CatalogRefusedError struct{ Err error }

func (e *CatalogRefusedError) Error() string {
	return "release catalog refused, the current one is kept: " + e.Err.Error()
}

func (e *CatalogRefusedError) Unwrap() error { return e.Err }

// CatalogChange says what an import did.
type CatalogChange struct {
	Changed             bool     `json:"changed"`
	Source              string   `json:"source"`
	Fingerprint         string   `json:"fingerprint"`
	PreviousFingerprint string   `json:"previous_fingerprint,omitempty"`
	Releases            int      `json:"releases"`
	Added               []string `json:"added,omitempty"`
	Removed             []string `json:"removed,omitempty"`
	// Warnings lists entries of the new document that were skipped.
	Warnings []string `json:"warnings,omitempty"`
}

// ImportCatalog parses raw and, when it differs from the current catalog,
// stores it with a catalog_changed event and calls the change hooks. A
// document that does not parse, or has no usable release, is refused with
// a *CatalogRefusedError and nothing is stored. source says where the
// document came from (a URL, "upload", a file name).
func (s *Service) ImportCatalog(ctx context.Context, raw []byte, source, actor string) (CatalogChange, error) {
	cat, err := enforcement.ParseCatalog(raw)
	if err != nil {
		return CatalogChange{}, &CatalogRefusedError{Err: err}
	}
	s.catalogMu.Lock()
	change, err := s.storeCatalog(ctx, cat, raw, source, actor)
	s.catalogMu.Unlock()
	if err == nil && change.Changed {
		s.catalogChanged()
	}
	return change, err
}

func (s *Service) storeCatalog(ctx context.Context, cat *enforcement.Catalog, raw []byte, source, actor string) (CatalogChange, error) {
	now := s.now()
	rec := storage.CatalogRecord{Raw: raw, Source: source, Fingerprint: cat.Fingerprint(), LoadedAt: now, CheckedAt: now}
	change := CatalogChange{Changed: true, Source: source, Fingerprint: rec.Fingerprint,
		Releases: len(cat.Releases()), Warnings: cat.Warnings}
	var prev *enforcement.Catalog
	if cur := s.catalog.Load(); cur != nil {
		prev = cur.cat
		change.PreviousFingerprint = cur.rec.Fingerprint
		if cur.rec.Fingerprint == rec.Fingerprint {
			// Same content: only note that it was confirmed.
			change.Changed = false
			rec.LoadedAt, rec.Source = cur.rec.LoadedAt, cur.rec.Source
		}
	}
	var events []storage.Event
	if change.Changed {
		change.Added, change.Removed = releaseDiff(prev, cat)
		events = append(events, catalogEvent(change, actor, now))
	}
	if err := s.store.PutCatalog(ctx, rec, events...); err != nil {
		return CatalogChange{}, fmt.Errorf("storing the release catalog: %w", err)
	}
	rec.Raw = nil
	s.catalog.Store(&catalogState{cat: cat, rec: rec})
	return change, nil
}

// maxListed bounds the releases named in one event message.
const maxListed = 10

func catalogEvent(c CatalogChange, actor string, now time.Time) storage.Event {
	msg := fmt.Sprintf("release catalog changed (source %s, by %s): %d releases", c.Source, actor, c.Releases)
	if len(c.Added) > 0 {
		msg += "; new: " + listUpTo(c.Added, maxListed)
	}
	if len(c.Removed) > 0 {
		msg += "; gone: " + listUpTo(c.Removed, maxListed)
	}
	return storage.Event{At: now, Kind: "catalog_changed", Message: msg, Data: map[string]string{
		"actor": actor, "source": c.Source, "fingerprint": c.Fingerprint,
		"previous_fingerprint": c.PreviousFingerprint, "releases": strconv.Itoa(c.Releases),
		"added": strings.Join(c.Added, "\n"), "removed": strings.Join(c.Removed, "\n"),
	}}
}

func listUpTo(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// releaseDiff names the releases (by family, kind, version and build) that
// appeared in or left the catalog. Every release is "added" when there was
// no catalog before.
func releaseDiff(prev, next *enforcement.Catalog) (added, removed []string) {
	before := releaseNames(prev)
	after := releaseNames(next)
	for _, n := range after {
		if !slices.Contains(before, n) {
			added = append(added, n)
		}
	}
	for _, n := range before {
		if !slices.Contains(after, n) {
			removed = append(removed, n)
		}
	}
	return added, removed
}

func releaseNames(c *enforcement.Catalog) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, r := range c.Releases() {
		name := r.Platform + " " + r.ProductVersion
		if r.ProductVersionExtra != "" {
			name += " " + r.ProductVersionExtra
		}
		name += " (" + r.Build + ")"
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
