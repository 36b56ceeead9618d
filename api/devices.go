package api

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/tidemark-mdm/tidemark/storage"
)

func queryLimit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, BadRequest("limit must be a number from 1 to " + strconv.Itoa(max))
	}
	return n, nil
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := queryLimit(r, 1000, 100_000)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	f := storage.DeviceFilter{Platform: q.Get("platform"), Group: q.Get("group"), After: q.Get("after"), Limit: limit}
	if v := q.Get("enrolled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.Fail(w, r, BadRequest("enrolled must be true or false"))
			return
		}
		f.Enrolled = &b
	}
	devices, err := s.store.Devices(r.Context(), f)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	out := make([]Device, 0, len(devices))
	for i := range devices {
		out = append(out, DeviceFromStorage(&devices[i]))
	}
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) showDevice(w http.ResponseWriter, r *http.Request) {
	d, err := s.store.Device(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	out := DeviceFromStorage(d)
	q, err := s.store.Queue(r.Context(), d.ID)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	n := len(q)
	out.QueueLength = &n
	out.Extra = map[string]any{}
	for _, x := range s.deviceExtras {
		if err := x(r.Context(), d, out.Extra); err != nil {
			s.Fail(w, r, err)
			return
		}
	}
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) deviceQueue(w http.ResponseWriter, r *http.Request) {
	q, err := s.store.Queue(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	if q == nil {
		q = []storage.QueueEntry{}
	}
	WriteJSON(w, http.StatusOK, q)
}

func (s *Server) cancelCommand(w http.ResponseWriter, r *http.Request) {
	id, uuid := r.PathValue("id"), r.PathValue("uuid")
	if err := s.store.Cancel(r.Context(), id, uuid); err != nil {
		s.Fail(w, r, err)
		return
	}
	_ = s.store.AddEvents(r.Context(), storage.Event{DeviceID: id, At: s.now(), Kind: "command_cancelled",
		Message: "command " + uuid + " cancelled by an admin", Data: map[string]string{"command_uuid": uuid}})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deviceResults(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r, 50, 1000)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	res, err := s.store.Results(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	out := make([]Result, 0, len(res))
	for _, x := range res {
		out = append(out, s.resultView(x, false))
	}
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) deviceResult(w http.ResponseWriter, r *http.Request) {
	res, err := s.store.Result(r.Context(), r.PathValue("id"), r.PathValue("uuid"))
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, s.resultView(*res, true))
}

// resultView shows the raw plist as text and, when asked, the typed form.
func (s *Server) resultView(res storage.Result, decode bool) Result {
	out := Result{Result: res, RawPlist: string(res.Raw)}
	out.Raw = nil
	if decode && s.commands != nil && res.Status == "Acknowledged" {
		if d, err := s.commands.Decode(res.RequestType, res.Raw); err == nil {
			out.Decoded = d
		}
	}
	return out
}

func (s *Server) deviceEvents(w http.ResponseWriter, r *http.Request) {
	s.events(w, r, r.PathValue("id"))
}

func (s *Server) serverEvents(w http.ResponseWriter, r *http.Request) { s.events(w, r, "") }

func (s *Server) events(w http.ResponseWriter, r *http.Request, id string) {
	limit, err := queryLimit(r, 100, 10_000)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	ev, err := s.store.Events(r.Context(), id, limit)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	if ev == nil {
		ev = []storage.Event{}
	}
	WriteJSON(w, http.StatusOK, ev)
}

func (s *Server) showCommand(w http.ResponseWriter, r *http.Request) {
	c, err := s.store.Command(r.Context(), r.PathValue("uuid"))
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"command_uuid": c.UUID, "request_type": c.RequestType, "created_at": c.CreatedAt,
		"raw_plist": string(c.Raw), "raw_base64": base64.StdEncoding.EncodeToString(c.Raw),
	})
}
