package server

import (
	"context"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/policysvc"
)

// newPolicyService builds the release catalog, policy and device group
// service.
func (s *Server) newPolicyService() (*policysvc.Service, error) {
	return policysvc.New(context.Background(), s.store, policysvc.Config{
		CatalogURL: s.cfg.CatalogURL, CatalogInterval: s.cfg.CatalogInterval,
		HTTPClient: s.cfg.CatalogHTTPClient, Now: s.cfg.Now,
		Logger: s.log.With(logkeys.Component, "policy"),
	})
}

// PolicyService is the release catalog, policy and device group service,
// for in-process tools (tests, demo).
func (s *Server) PolicyService() (*policysvc.Service, error) { return s.policy, nil }

// startPolicyWorkers runs the scheduled catalog download until ctx ends
// (nothing when no catalog URL is configured).
func (s *Server) startPolicyWorkers(ctx context.Context) {
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		s.policy.RunCatalogFetcher(ctx)
	}()
}
