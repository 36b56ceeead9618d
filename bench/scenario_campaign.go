package bench

import (
	"context"
	"errors"
	"net/http"

	"github.com/tidemark-mdm/tidemark/api"
)

// campaign needs the whole enforcement loop: a policy stored through the
// admin API, the reconcile worker turning it into commands and
// declarations, and a compliance view to watch devices arrive. Until this
// build has all three, the scenario says what is missing instead of
// measuring something else.
var campaignScenario = scenario{
	setup: func(ctx context.Context, e *env) error {
		reason := "policy enforcement is not wired into this server yet " +
			"(no reconcile worker or compliance view to drive a policy to compliance)"
		var list []map[string]any
		err := e.api.Do(ctx, http.MethodGet, "/v1/policies", nil, &list)
		var status *api.StatusError
		switch {
		case errors.As(err, &status) && status.Status == http.StatusNotFound:
			reason = "this server has no policy API (GET /v1/policies answers 404)"
		case err != nil:
			return err
		}
		return &UnavailableError{Scenario: ScenarioCampaign, Reason: reason}
	},
}
