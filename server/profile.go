package server

import (
	"context"
	"time"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/enrollprofile"
)

// oneTimeProfileTTL is how long a profile's embedded one-time challenge works.
const oneTimeProfileTTL = 7 * 24 * time.Hour

// EnrollmentProfile implements api.ProfileSource. Without a static
// challenge every profile carries a fresh one-time challenge, so a leaked
// profile enrolls at most one device.
func (s *Server) EnrollmentProfile(ctx context.Context, oneTime bool) ([]byte, error) {
	topic, err := s.Topic(ctx)
	if err != nil {
		return nil, err
	}
	challenge := s.cfg.StaticChallenge
	if oneTime || challenge == "" {
		if challenge, err = s.newOneTimeChallenge(ctx, oneTimeProfileTTL); err != nil {
			return nil, err
		}
	}
	return enrollprofile.Build(enrollprofile.Params{PublicURL: s.cfg.PublicURL, Topic: topic, Challenge: challenge})
}

func (s *Server) newOneTimeChallenge(ctx context.Context, ttl time.Duration) (string, error) {
	ch, err := api.NewChallenge(ctx, s.store, s.cfg.Now(), ttl)
	if err != nil {
		return "", err
	}
	return ch.Challenge, nil
}
