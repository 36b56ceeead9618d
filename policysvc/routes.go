package policysvc

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/storage"
)

// ActorHeader names the person or tool behind an admin request. The API
// key is shared, so this is what change events record as "who"; without
// it they record DefaultActor.
const (
	ActorHeader  = "X-Tidemark-Actor"
	DefaultActor = "api"
)

// APIOptions are the api.Options that serve this service's routes behind
// the admin API's authentication.
func (s *Service) APIOptions() []api.Option {
	return []api.Option{api.WithRoutes(s.Routes)}
}

// Routes registers the catalog, policy and group routes.
func (s *Service) Routes(mux *http.ServeMux, a *api.Server) {
	h := &handlers{svc: s, api: a}
	mux.HandleFunc("GET /v1/catalog", h.showCatalog)
	mux.HandleFunc("POST /v1/catalog", h.importCatalog)
	mux.HandleFunc("POST /v1/catalog/fetch", h.fetchCatalog)
	mux.HandleFunc("GET /v1/policies", h.listPolicies)
	mux.HandleFunc("GET /v1/policies/{id}", h.showPolicy)
	mux.HandleFunc("PUT /v1/policies/{id}", h.putPolicy)
	mux.HandleFunc("DELETE /v1/policies/{id}", h.deletePolicy)
	mux.HandleFunc("POST /v1/policies/{id}/pause", h.pausePolicy)
	mux.HandleFunc("POST /v1/policies/{id}/resume", h.resumePolicy)
	mux.HandleFunc("PUT /v1/devices/{id}/groups/{group}", h.addToGroup)
	mux.HandleFunc("DELETE /v1/devices/{id}/groups/{group}", h.removeFromGroup)
	mux.HandleFunc("GET /v1/groups", h.listGroups)
	mux.HandleFunc("GET /v1/groups/{group}", h.showGroup)
}

type handlers struct {
	svc *Service
	api *api.Server
}

// ValidationFailure is the 400 answer for a refused policy: every problem,
// so the admin can fix them in one go.
type ValidationFailure struct {
	Error    string   `json:"error"`
	PolicyID string   `json:"policy_id"`
	Problems []string `json:"problems"`
	Warnings []string `json:"warnings,omitempty"`
}

// fail maps this service's errors to statuses; the rest goes to the API's
// common mapping.
func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	var invalid *InvalidPolicyError
	var fetch *FetchError
	var refused *CatalogRefusedError
	switch {
	case errors.As(err, &invalid):
		api.WriteJSON(w, http.StatusBadRequest, ValidationFailure{Error: invalid.Error(),
			PolicyID: invalid.Validation.PolicyID, Problems: invalid.Validation.Problems, Warnings: invalid.Warnings})
	case errors.Is(err, storage.ErrStale):
		api.WriteError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrFetchDisabled):
		api.WriteError(w, http.StatusConflict, err.Error())
	case errors.As(err, &fetch):
		api.WriteError(w, http.StatusBadGateway, err.Error())
	case errors.As(err, &refused):
		api.WriteError(w, http.StatusBadRequest, err.Error())
	default:
		h.api.Fail(w, r, err)
	}
}

// actor reads ActorHeader, keeping it short and printable: it ends up in
// event messages and logs.
func actor(r *http.Request) string {
	v := strings.TrimSpace(r.Header.Get(ActorHeader))
	v = strings.Map(func(c rune) rune {
		if unicode.IsPrint(c) {
			return c
		}
		return -1
	}, v)
	if runes := []rune(v); len(runes) > 64 {
		v = string(runes[:64])
	}
	if v == "" {
		return DefaultActor
	}
	return v
}

// writeOptions reads force, dry_run and version from the query.
func writeOptions(r *http.Request) (WriteOptions, error) {
	q := r.URL.Query()
	o := WriteOptions{Actor: actor(r)}
	var err error
	if o.Force, err = boolParam(q.Get("force"), "force"); err != nil {
		return o, err
	}
	if o.DryRun, err = boolParam(q.Get("dry_run"), "dry_run"); err != nil {
		return o, err
	}
	if v := q.Get("version"); v != "" {
		if o.Version, err = strconv.Atoi(v); err != nil || o.Version < 1 {
			return o, api.BadRequest("version must be a positive number")
		}
	}
	return o, nil
}

func boolParam(v, name string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, api.BadRequest(name + " must be true or false")
	}
	return b, nil
}
