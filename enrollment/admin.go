package enrollment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/storage"
)

// AdminStore is the storage the admin routes need.
type AdminStore interface {
	SettingsStore
	AddEvents(ctx context.Context, events ...storage.Event) error
}

// Admin serves the minimum-OS settings on the admin API.
type Admin struct {
	store   AdminStore
	catalog CatalogSource
	now     func() time.Time
	log     *slog.Logger
}

// NewAdmin builds the admin routes; now is the injected clock.
func NewAdmin(store AdminStore, catalog CatalogSource, now func() time.Time, log *slog.Logger) *Admin {
	return &Admin{store: store, catalog: catalog, now: now, log: log}
}

// APIOptions register the routes behind the admin API's authentication.
func (a *Admin) APIOptions() []api.Option { return []api.Option{api.WithRoutes(a.Routes)} }

// Routes registers GET and PUT /v1/enrollment/min-os.
func (a *Admin) Routes(mux *http.ServeMux, s *api.Server) {
	mux.HandleFunc("GET /v1/enrollment/min-os", func(w http.ResponseWriter, r *http.Request) {
		settings, err := LoadSettings(r.Context(), a.store)
		if err != nil {
			s.Fail(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, a.view(r.Context(), settings))
	})
	mux.HandleFunc("PUT /v1/enrollment/min-os", func(w http.ResponseWriter, r *http.Request) { a.put(w, r, s) })
}

// SettingsView is the API's answer: the settings plus warnings about
// rules the current catalog cannot serve.
type SettingsView struct {
	Settings
	Warnings []string `json:"warnings,omitempty"`
}

// ValidationFailure is the 400 answer for refused settings.
type ValidationFailure struct {
	Error    string   `json:"error"`
	Problems []string `json:"problems"`
}

func (a *Admin) put(w http.ResponseWriter, r *http.Request, s *api.Server) {
	var in Settings
	if err := api.DecodeJSON(r, &in); err != nil {
		s.Fail(w, r, err)
		return
	}
	who := actor(r)
	saved, err := SaveSettings(r.Context(), a.store, in, who, a.now())
	var invalid *InvalidSettingsError
	if errors.As(err, &invalid) {
		api.WriteJSON(w, http.StatusBadRequest, ValidationFailure{Error: invalid.Error(), Problems: invalid.Problems})
		return
	}
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	unsigned := "refused"
	if saved.AllowUnsigned {
		unsigned = "accepted"
	}
	err = a.store.AddEvents(r.Context(), storage.Event{At: saved.UpdatedAt, Kind: EventSettingsSaved,
		Message: fmt.Sprintf("%s set %d minimum-OS rule(s) for enrollment (unsigned MachineInfo %s)", who, len(saved.Rules), unsigned),
		Data:    map[string]string{"actor": who}})
	if err != nil {
		a.log.Error("recording minimum-OS settings change failed", logkeys.Err, err)
	}
	api.WriteJSON(w, http.StatusOK, a.view(r.Context(), saved))
}

func (a *Admin) view(ctx context.Context, s Settings) SettingsView {
	v := SettingsView{Settings: s}
	if s.AllowUnsigned {
		v.Warnings = append(v.Warnings, "unsigned MachineInfo is accepted: meant for tests and manual clients only")
	}
	cat, err := a.catalog.Catalog(ctx)
	if err != nil {
		if len(s.Rules) > 0 {
			v.Warnings = append(v.Warnings, "no release catalog is loaded: every device enrolls until one is")
		}
		return v
	}
	for i, r := range s.Rules {
		if w := unreachable(r, i, cat, a.now()); w != "" {
			v.Warnings = append(v.Warnings, w)
		}
	}
	return v
}

// unreachable warns about a minimum no installable release of the
// platform reaches: matching devices would all enroll unchanged.
func unreachable(r MinOSRule, index int, cat *enforcement.Catalog, now time.Time) string {
	min, err := r.minVersion()
	if r.Mode != ModeMinimum || err != nil {
		return ""
	}
	family := enforcement.PlatformFamily(r.Platform)
	for _, rel := range cat.Releases() {
		if rel.Platform == family && rel.Installable(now) && !rel.Version.Less(min) {
			return ""
		}
	}
	return fmt.Sprintf("rule %s: no installable %s release in the catalog reaches %s; matching devices enroll without updating",
		r.Label(index), r.Platform, min)
}

// actor names who made the change, as the policy routes do.
func actor(r *http.Request) string {
	v := clean(strings.TrimSpace(r.Header.Get(policysvc.ActorHeader)))
	if v == "" {
		return policysvc.DefaultActor
	}
	return v
}
