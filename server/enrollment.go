package server

import (
	"net/http"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/enrollment"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
)

// enrollmentHandler serves POST /enroll and /mdm/enroll: MachineInfo in,
// enrollment profile or softwareupdate.required out. Signers are checked
// against this server's CA only, so a device re-enrolling with a
// certificate we issued is recorded as trusted; Apple's device CA is not
// bundled (see the enrollment package doc for why that is safe).
func (s *Server) enrollmentHandler() http.Handler {
	return enrollment.NewHandler(s.store, s.policy, s,
		enrollment.WithLogger(s.log.With(logkeys.Component, "enrollment")),
		enrollment.WithClock(s.cfg.Now),
		enrollment.WithTrustRoots(s.ca.Pool()))
}

// enrollmentOptions serve GET/PUT /v1/enrollment/min-os on the admin API.
func (s *Server) enrollmentOptions() []api.Option {
	return enrollment.NewAdmin(s.store, s.policy, s.cfg.Now, s.log.With(logkeys.Component, "enrollment")).APIOptions()
}
