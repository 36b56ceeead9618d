package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/tidemark-mdm/tidemark/storage"
)

// maxFanout bounds one enqueue request's device count.
const maxFanout = 200_000

func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	var req EnqueueRequest
	if err := DecodeJSON(r, &req); err != nil {
		s.Fail(w, r, err)
		return
	}
	resp, err := s.doEnqueue(r, req)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, resp)
}

func (s *Server) doEnqueue(r *http.Request, req EnqueueRequest) (*EnqueueResponse, error) {
	if s.commands == nil {
		return nil, BadRequest("commands are not available")
	}
	if (req.Raw == "") == (req.Type == "") {
		return nil, BadRequest("give exactly one of raw_plist or type")
	}
	if req.All == (len(req.Devices) > 0) {
		return nil, BadRequest("give exactly one of devices or all")
	}
	var raw []byte
	var uuid, requestType string
	var err error
	if req.Raw != "" {
		raw = []byte(req.Raw)
		if uuid, requestType, err = s.commands.Inspect(raw); err != nil {
			return nil, BadRequest("raw_plist: " + err.Error())
		}
	} else {
		if raw, requestType, err = s.commands.Build(req.Type, req.Params, req.UUID); err != nil {
			return nil, BadRequest(err.Error())
		}
		if uuid, _, err = s.commands.Inspect(raw); err != nil {
			return nil, err
		}
	}
	targets, err := s.targets(r, req, raw, requestType)
	if err != nil {
		return nil, err
	}
	cmd := storage.Command{UUID: uuid, RequestType: requestType, Raw: raw, CreatedAt: s.now()}
	if err := s.store.Enqueue(r.Context(), cmd, targets); err != nil {
		return nil, err
	}
	return &EnqueueResponse{CommandUUID: uuid, RequestType: requestType, Devices: targets}, nil
}

// targets resolves the device list and refuses the whole request when a
// device cannot take the command, naming the device and the reason.
func (s *Server) targets(r *http.Request, req EnqueueRequest, raw []byte, requestType string) ([]string, error) {
	if len(req.Devices) > maxFanout {
		return nil, BadRequest(fmt.Sprintf("at most %d devices per request", maxFanout))
	}
	var devices []storage.Device
	if req.All {
		enrolled := true
		all, err := s.store.Devices(r.Context(), storage.DeviceFilter{Enrolled: &enrolled})
		if err != nil {
			return nil, err
		}
		if len(all) == 0 {
			return nil, BadRequest("no enrolled devices")
		}
		devices = all
	} else {
		for _, id := range req.Devices {
			d, err := s.store.Device(r.Context(), id)
			if err != nil {
				return nil, err
			}
			devices = append(devices, *d)
		}
	}
	ids := make([]string, 0, len(devices))
	for i := range devices {
		if err := s.commands.CheckDevice(raw, requestType, &devices[i]); err != nil {
			return nil, BadRequest(fmt.Sprintf("device %s: %v", devices[i].ID, err))
		}
		ids = append(ids, devices[i].ID)
	}
	return ids, nil
}

func (s *Server) newChallenge(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TTLSeconds int `json:"ttl_seconds"`
	}
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &req); err != nil {
			s.Fail(w, r, err)
			return
		}
	}
	ttl := 24 * time.Hour
	if req.TTLSeconds != 0 {
		if req.TTLSeconds < 60 || req.TTLSeconds > 30*24*3600 {
			s.Fail(w, r, BadRequest("ttl_seconds must be from 60 to 2592000"))
			return
		}
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	ch, err := NewChallenge(r.Context(), s.store, s.now(), ttl)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, ch)
}

// ChallengeAdder stores one-time challenges.
type ChallengeAdder interface {
	AddChallenge(ctx context.Context, challenge string, expires time.Time) error
}

// NewChallenge creates and stores a random one-time challenge.
func NewChallenge(ctx context.Context, store ChallengeAdder, now time.Time, ttl time.Duration) (*Challenge, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ch := &Challenge{Challenge: base64.RawURLEncoding.EncodeToString(b[:]), Expires: now.Add(ttl).UTC()}
	if err := store.AddChallenge(ctx, ch.Challenge, ch.Expires); err != nil {
		return nil, err
	}
	return ch, nil
}

func (s *Server) enrollmentProfile(w http.ResponseWriter, r *http.Request) {
	oneTime := r.URL.Query().Get("one_time") == "true"
	p, err := s.profiles.EnrollmentProfile(r.Context(), oneTime)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="tidemark-enroll.mobileconfig"`)
	_, _ = w.Write(p)
}

func (s *Server) pushCertInfo(w http.ResponseWriter, r *http.Request) {
	info, err := s.push.PushCertInfo(r.Context())
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, info)
}

func (s *Server) uploadPushCert(w http.ResponseWriter, r *http.Request) {
	var req PushCertUpload
	if err := DecodeJSON(r, &req); err != nil {
		s.Fail(w, r, err)
		return
	}
	info, err := s.push.UploadPushCert(r.Context(), []byte(req.CertPEM), []byte(req.KeyPEM), req.Force)
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, info)
}
