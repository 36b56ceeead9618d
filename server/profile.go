package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

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
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	ch := base64.RawURLEncoding.EncodeToString(b[:])
	return ch, s.store.AddChallenge(ctx, ch, s.cfg.Now().Add(ttl))
}
