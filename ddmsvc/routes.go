package ddmsvc

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// MaxDeclarationBytes bounds one declaration document.
const MaxDeclarationBytes = 1 << 20

// DeclarationView is a stored declaration as the admin API shows it.
type DeclarationView struct {
	Identifier   string          `json:"identifier"`
	Type         string          `json:"type"`
	Kind         ddm.Kind        `json:"kind"`
	ServerToken  string          `json:"server_token"`
	Payload      json.RawMessage `json:"payload,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	Sets         []string        `json:"sets,omitempty"`
	ReferencedBy []string        `json:"referenced_by,omitempty"`
}

// PutDeclarationResult answers PUT /v1/declarations.
type PutDeclarationResult struct {
	Changed     bool            `json:"changed"`
	Declaration DeclarationView `json:"declaration"`
}

// SetChange is the body of the set add/remove requests.
type SetChange struct {
	Declarations []string `json:"declarations"`
}

// AssignRequest names the devices of an assign or unassign request.
type AssignRequest struct {
	Devices []string `json:"devices,omitempty"`
	All     bool     `json:"all,omitempty"`
}

// AssignResult lists the devices whose assignment changed.
type AssignResult struct {
	Set     string   `json:"set"`
	Changed []string `json:"changed"`
}

// ErrorBody is the JSON of a refused request; Problems, Sets and
// Activations say exactly what to fix.
type ErrorBody struct {
	Error       string           `json:"error"`
	Problems    []ddm.FieldError `json:"problems,omitempty"`
	Sets        []string         `json:"sets,omitempty"`
	Activations []string         `json:"activations,omitempty"`
}

// Routes registers the admin API routes (use with api.WithRoutes).
func (s *Service) Routes(mux *http.ServeMux, a *api.Server) {
	h := &routes{s: s, a: a}
	mux.HandleFunc("PUT /v1/declarations", h.putDeclaration)
	mux.HandleFunc("GET /v1/declarations", h.listDeclarations)
	mux.HandleFunc("GET /v1/declarations/{id}", h.showDeclaration)
	mux.HandleFunc("DELETE /v1/declarations/{id}", h.deleteDeclaration)
	mux.HandleFunc("GET /v1/sets", h.listSets)
	mux.HandleFunc("GET /v1/sets/{name}", h.showSet)
	mux.HandleFunc("DELETE /v1/sets/{name}", h.deleteSet)
	mux.HandleFunc("POST /v1/sets/{name}/add", h.changeSet(true))
	mux.HandleFunc("POST /v1/sets/{name}/remove", h.changeSet(false))
	mux.HandleFunc("POST /v1/sets/{name}/assign", h.assign(true))
	mux.HandleFunc("POST /v1/sets/{name}/unassign", h.assign(false))
	mux.HandleFunc("GET /v1/devices/{id}/ddm/status", h.deviceStatus)
	mux.HandleFunc("GET /v1/devices/{id}/ddm/declarations", h.deviceDeclarations)
	mux.HandleFunc("GET /v1/devices/{id}/ddm/effective-settings", h.effectiveSettings)
	mux.HandleFunc("GET /v1/devices/{id}/ddm/queue", h.enforcementQueue)
	mux.HandleFunc("POST /v1/devices/{id}/ddm/sync", h.requestSync)
}

type routes struct {
	s *Service
	a *api.Server
}

// fail answers refusals this service defines with their details and
// leaves the rest to the API's mapping.
func (h *routes) fail(w http.ResponseWriter, r *http.Request, err error) {
	var inv *InvalidError
	var inUse *storage.InUseError
	switch {
	case errors.As(err, &inv):
		api.WriteJSON(w, http.StatusBadRequest, ErrorBody{Error: inv.Error(), Problems: inv.Problems})
	case errors.As(err, &inUse):
		api.WriteJSON(w, http.StatusConflict, ErrorBody{Error: inUse.Error(), Sets: inUse.Sets, Activations: inUse.Activations})
	default:
		h.a.Fail(w, r, err)
	}
}

// reply writes v, or the error.
func (h *routes) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, v)
}

func (h *routes) putDeclaration(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxDeclarationBytes))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rec, changed, err := h.s.PutDeclaration(r.Context(), raw)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.view(r, rec)
	h.reply(w, r, PutDeclarationResult{Changed: changed, Declaration: v}, err)
}

func (h *routes) view(r *http.Request, rec *storage.DeclarationRecord) (DeclarationView, error) {
	v := DeclarationView{Identifier: rec.Identifier, Type: rec.Type, ServerToken: rec.ServerToken,
		Kind: (&ddm.Declaration{Type: rec.Type}).Kind(), Payload: rec.Payload, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
	var err error
	v.Sets, v.ReferencedBy, err = h.s.store.DeclarationUsage(r.Context(), rec.Identifier)
	return v, err
}

func (h *routes) listDeclarations(w http.ResponseWriter, r *http.Request) {
	recs, err := h.s.store.Declarations(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]DeclarationView, 0, len(recs))
	for i := range recs {
		v, err := h.view(r, &recs[i])
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Payload = nil
		out = append(out, v)
	}
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *routes) showDeclaration(w http.ResponseWriter, r *http.Request) {
	rec, err := h.s.store.Declaration(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.view(r, rec)
	h.reply(w, r, v, err)
}

func (h *routes) deleteDeclaration(w http.ResponseWriter, r *http.Request) {
	if err := h.s.DeleteDeclaration(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *routes) listSets(w http.ResponseWriter, r *http.Request) {
	sets, err := h.s.store.Sets(r.Context())
	if sets == nil {
		sets = []storage.DeclarationSet{}
	}
	h.reply(w, r, sets, err)
}

func (h *routes) showSet(w http.ResponseWriter, r *http.Request) {
	set, err := h.s.store.Set(r.Context(), r.PathValue("name"))
	h.reply(w, r, set, err)
}

func (h *routes) deleteSet(w http.ResponseWriter, r *http.Request) {
	if err := h.s.DeleteSet(r.Context(), r.PathValue("name")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *routes) changeSet(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req SetChange
		if err := api.DecodeJSON(r, &req); err != nil {
			h.fail(w, r, err)
			return
		}
		if len(req.Declarations) == 0 && !add {
			h.fail(w, r, &InvalidError{Msg: "name the declarations to remove"})
			return
		}
		name := r.PathValue("name")
		var err error
		if add {
			_, err = h.s.UpdateSet(r.Context(), name, req.Declarations, nil)
		} else {
			_, err = h.s.UpdateSet(r.Context(), name, nil, req.Declarations)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		set, err := h.s.store.Set(r.Context(), name)
		h.reply(w, r, set, err)
	}
}

func (h *routes) assign(assign bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req AssignRequest
		if err := api.DecodeJSON(r, &req); err != nil {
			h.fail(w, r, err)
			return
		}
		name := r.PathValue("name")
		var changed []string
		var err error
		if assign {
			changed, err = h.s.Assign(r.Context(), name, req.Devices, req.All)
		} else {
			changed, err = h.s.Unassign(r.Context(), name, req.Devices, req.All)
		}
		if changed == nil {
			changed = []string{}
		}
		h.reply(w, r, AssignResult{Set: name, Changed: changed}, err)
	}
}

// StatusView is a device's latest DDM status and recent reports.
type StatusView struct {
	DeviceID string                   `json:"device_id"`
	Status   *ddm.DeviceStatus        `json:"status"`
	History  []storage.DDMStatusEntry `json:"history,omitempty"`
}

func (h *routes) deviceStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, err := h.s.Status(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := StatusView{DeviceID: id, Status: st}
	if n, _ := strconv.Atoi(r.URL.Query().Get("history")); n > 0 {
		v.History, err = h.s.StatusHistory(r.Context(), id, n)
	}
	h.reply(w, r, v, err)
}

func (h *routes) deviceDeclarations(w http.ResponseWriter, r *http.Request) {
	v, err := h.s.DeviceDeclarations(r.Context(), r.PathValue("id"))
	h.reply(w, r, v, err)
}

func (h *routes) effectiveSettings(w http.ResponseWriter, r *http.Request) {
	v, err := h.s.EffectiveSettings(r.Context(), r.PathValue("id"))
	h.reply(w, r, v, err)
}

func (h *routes) enforcementQueue(w http.ResponseWriter, r *http.Request) {
	v, err := h.s.EnforcementQueue(r.Context(), r.PathValue("id"))
	h.reply(w, r, v, err)
}

func (h *routes) requestSync(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := h.s.store.Device(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.s.RequestSync(r.Context(), []string{id}); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
