package server

import (
	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
)

// newDDM builds the declarative-management service: it answers the
// DeclarativeManagement check-in, owns the DDM admin routes and turns
// declaration changes into DeclarativeManagement commands, waking the push
// worker as soon as they are queued.
func (s *Server) newDDM() *ddmsvc.Service {
	mode := ddmsvc.SyncAlways
	if s.cfg.DDMSyncOnlyAssigned {
		mode = ddmsvc.SyncIfAssigned
	}
	opts := []ddmsvc.Option{ddmsvc.WithLogger(s.log.With(logkeys.Component, "ddm")),
		ddmsvc.WithClock(s.cfg.Now), ddmsvc.WithEnqueueNotify(s.push.nudge), ddmsvc.WithEnrollmentSync(mode)}
	if s.cfg.DDMStatusHistory > 0 {
		opts = append(opts, ddmsvc.WithStatusHistory(s.cfg.DDMStatusHistory))
	}
	return ddmsvc.New(s.store, opts...)
}

// DDM exposes the DDM service to in-process users: the enforcement engine
// (device-scoped declarations, status hook), tests and the demo.
func (s *Server) DDM() *ddmsvc.Service { return s.ddm }
