package policysvc

import (
	"fmt"
	"io"
	"net/http"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/enforcement"
)

func (h *handlers) showCatalog(w http.ResponseWriter, r *http.Request) {
	api.WriteJSON(w, http.StatusOK, h.svc.CatalogSummary(r.URL.Query().Get("platform")))
}

// importCatalog takes Apple's pmv JSON as the body; ?source= names where
// it came from (default "upload").
func (h *handlers) importCatalog(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	source := r.URL.Query().Get("source")
	if source == "" {
		source = "upload"
	}
	if len(source) > 200 {
		source = source[:200]
	}
	change, err := h.svc.ImportCatalog(r.Context(), raw, source, actor(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, change)
}

func (h *handlers) fetchCatalog(w http.ResponseWriter, r *http.Request) {
	change, err := h.svc.RefreshCatalog(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, change)
}

func (h *handlers) listPolicies(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.Policies(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if list == nil {
		list = []enforcement.Policy{}
	}
	api.WriteJSON(w, http.StatusOK, list)
}

func (h *handlers) showPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.Policy(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, p)
}

// putPolicy creates or replaces the policy named in the URL; ?force=true
// accepts forceable problems, ?dry_run=true only validates.
func (h *handlers) putPolicy(w http.ResponseWriter, r *http.Request) {
	o, err := writeOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var p enforcement.Policy
	if err := api.DecodeJSON(r, &p); err != nil {
		h.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if p.ID != "" && p.ID != id {
		h.fail(w, r, api.BadRequest(fmt.Sprintf("the body names policy %q but the URL names %q", p.ID, id)))
		return
	}
	p.ID = id
	res, err := h.svc.PutPolicy(r.Context(), p, o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Result == ResultCreated && !res.DryRun {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, res)
}

func (h *handlers) deletePolicy(w http.ResponseWriter, r *http.Request) {
	o, err := writeOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.svc.DeletePolicy(r.Context(), r.PathValue("id"), o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res)
}

func (h *handlers) pausePolicy(w http.ResponseWriter, r *http.Request)  { h.setPaused(w, r, true) }
func (h *handlers) resumePolicy(w http.ResponseWriter, r *http.Request) { h.setPaused(w, r, false) }

func (h *handlers) setPaused(w http.ResponseWriter, r *http.Request, paused bool) {
	o, err := writeOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.svc.SetPaused(r.Context(), r.PathValue("id"), paused, o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res)
}

func (h *handlers) addToGroup(w http.ResponseWriter, r *http.Request)      { h.setGroup(w, r, true) }
func (h *handlers) removeFromGroup(w http.ResponseWriter, r *http.Request) { h.setGroup(w, r, false) }

func (h *handlers) setGroup(w http.ResponseWriter, r *http.Request, member bool) {
	res, err := h.svc.SetDeviceGroup(r.Context(), r.PathValue("id"), r.PathValue("group"), member, actor(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res)
}

func (h *handlers) listGroups(w http.ResponseWriter, r *http.Request) {
	groups, err := h.svc.Groups(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, groups)
}

func (h *handlers) showGroup(w http.ResponseWriter, r *http.Request) {
	m, err := h.svc.GroupMembers(r.Context(), r.PathValue("group"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, m)
}
