package reconcile

import (
	"net/http"

	"github.com/tidemark-mdm/tidemark/api"
)

// Routes registers the enforcement reports on the admin API.
func (w *Worker) Routes(events EventSource) func(mux *http.ServeMux, s *api.Server) {
	return func(mux *http.ServeMux, s *api.Server) {
		mux.HandleFunc("GET /v1/status", func(rw http.ResponseWriter, r *http.Request) {
			st, err := w.Status(r.Context(), r.URL.Query().Get("policy"))
			if err != nil {
				s.Fail(rw, r, err)
				return
			}
			if st == nil {
				st = []PolicyStatus{}
			}
			api.WriteJSON(rw, http.StatusOK, st)
		})
		mux.HandleFunc("GET /v1/devices/{id}/why", func(rw http.ResponseWriter, r *http.Request) {
			why, err := w.Explain(r.Context(), r.PathValue("id"), events)
			if err != nil {
				s.Fail(rw, r, err)
				return
			}
			api.WriteJSON(rw, http.StatusOK, why)
		})
		mux.HandleFunc("GET /v1/policies/{id}/forecast", func(rw http.ResponseWriter, r *http.Request) {
			f, err := w.Forecast(r.Context(), r.PathValue("id"))
			if err != nil {
				s.Fail(rw, r, err)
				return
			}
			api.WriteJSON(rw, http.StatusOK, f)
		})
		mux.HandleFunc("POST /v1/reconcile", func(rw http.ResponseWriter, r *http.Request) {
			st, err := w.ReconcileAll(r.Context())
			if err != nil {
				s.Fail(rw, r, err)
				return
			}
			api.WriteJSON(rw, http.StatusOK, st)
		})
	}
}
