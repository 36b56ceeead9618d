package policysvc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/storage"
)

// WriteOptions say who asks for a policy change and how.
type WriteOptions struct {
	// Actor is recorded in the change event.
	Actor string
	// Force turns forceable validation problems into warnings.
	Force bool
	// DryRun validates and reports what would happen; nothing is written.
	DryRun bool
	// Version, when not 0, must be the stored version (delete, pause,
	// resume; PutPolicy reads it from the policy).
	Version int
}

// Policy write results.
const (
	ResultCreated   = "created"
	ResultUpdated   = "updated"
	ResultUnchanged = "unchanged"
	ResultDeleted   = "deleted"
	ResultPaused    = "paused"
	ResultResumed   = "resumed"
)

// PolicyResult answers a policy write.
type PolicyResult struct {
	Result string `json:"result"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Policy is the stored policy after the write (before it for a delete).
	Policy   *enforcement.Policy `json:"policy,omitempty"`
	Changes  []string            `json:"changes,omitempty"`
	Warnings []string            `json:"warnings,omitempty"`
}

// InvalidPolicyError is a policy that failed validation, with every
// problem and the warnings found on the way.
type InvalidPolicyError struct {
	Validation *enforcement.ValidationError
	Warnings   []string
}

func (e *InvalidPolicyError) Error() string {
	return fmt.Sprintf("policy %q is invalid:\n  - %s", e.Validation.PolicyID, strings.Join(e.Validation.Problems, "\n  - "))
}

func (e *InvalidPolicyError) Unwrap() error { return e.Validation }

// Policies lists every policy, ordered by id.
func (s *Service) Policies(ctx context.Context) ([]enforcement.Policy, error) {
	return s.store.Policies(ctx)
}

// Policy returns one policy (storage.ErrNotFound when unknown).
func (s *Service) Policy(ctx context.Context, id string) (*enforcement.Policy, error) {
	return s.store.Policy(ctx, id)
}

// catalogOrNil is the catalog for validation: nil before one is loaded,
// which Validate understands.
func (s *Service) catalogOrNil() *enforcement.Catalog {
	if st := s.catalog.Load(); st != nil {
		return st.cat
	}
	return nil
}

// find returns the stored policy with id from list, or nil.
func find(list []enforcement.Policy, id string) *enforcement.Policy {
	for i := range list {
		if list[i].ID == id {
			return &list[i]
		}
	}
	return nil
}

func checkVersion(id string, want int, stored *enforcement.Policy) error {
	have := 0
	if stored != nil {
		have = stored.Version
	}
	if want != 0 && want != have {
		return fmt.Errorf("policy %s is at version %d, the change was based on version %d: read it again: %w",
			id, have, want, storage.ErrStale)
	}
	return nil
}

// PutPolicy creates or replaces a policy. in.Version, when not 0, must be
// the stored version. Server-owned fields are set here: CreatedAt,
// UpdatedAt, Version, and Paused, which only pause/resume change once the
// policy exists. A policy whose content equals the stored one is reported
// unchanged and neither validated nor written.
func (s *Service) PutPolicy(ctx context.Context, in enforcement.Policy, o WriteOptions) (PolicyResult, error) {
	s.policyMu.Lock()
	res, err := s.putPolicy(ctx, in, o)
	s.policyMu.Unlock()
	if err == nil && !o.DryRun && (res.Result == ResultCreated || res.Result == ResultUpdated) {
		s.policyChanged(in.ID)
	}
	return res, err
}

func (s *Service) putPolicy(ctx context.Context, in enforcement.Policy, o WriteOptions) (PolicyResult, error) {
	existing, err := s.store.Policies(ctx)
	if err != nil {
		return PolicyResult{}, err
	}
	stored := find(existing, in.ID)
	if err := checkVersion(in.ID, in.Version, stored); err != nil {
		return PolicyResult{}, err
	}
	now := s.now()
	p, prior, result := in, 0, ResultCreated
	p.CreatedAt, p.UpdatedAt, p.Version = now, now, 1
	if stored != nil {
		p.CreatedAt, p.Paused, p.Version = stored.CreatedAt, stored.Paused, stored.Version+1
		prior, result = stored.Version, ResultUpdated
	}
	changes := diffPolicies(stored, &p)
	if stored != nil && len(changes) == 0 {
		return PolicyResult{Result: ResultUnchanged, DryRun: o.DryRun, Policy: stored}, nil
	}
	warnings, err := p.Validate(s.catalogOrNil(), existing, now, o.Force)
	if err != nil {
		var ve *enforcement.ValidationError
		if errors.As(err, &ve) {
			return PolicyResult{}, &InvalidPolicyError{Validation: ve, Warnings: warnings}
		}
		return PolicyResult{}, err
	}
	res := PolicyResult{Result: result, DryRun: o.DryRun, Policy: &p, Changes: changes, Warnings: warnings}
	if o.DryRun {
		return res, nil
	}
	ev := policyEvent(now, result, &p, o, changes, warnings)
	if err := s.store.PutPolicy(ctx, p, prior, ev); err != nil {
		return PolicyResult{}, err
	}
	return res, nil
}

// DeletePolicy removes a policy.
func (s *Service) DeletePolicy(ctx context.Context, id string, o WriteOptions) (PolicyResult, error) {
	s.policyMu.Lock()
	res, err := s.deletePolicy(ctx, id, o)
	s.policyMu.Unlock()
	if err == nil && !o.DryRun {
		s.policyChanged(id)
	}
	return res, err
}

func (s *Service) deletePolicy(ctx context.Context, id string, o WriteOptions) (PolicyResult, error) {
	stored, err := s.store.Policy(ctx, id)
	if err != nil {
		return PolicyResult{}, err
	}
	if err := checkVersion(id, o.Version, stored); err != nil {
		return PolicyResult{}, err
	}
	res := PolicyResult{Result: ResultDeleted, DryRun: o.DryRun, Policy: stored}
	if o.DryRun {
		return res, nil
	}
	ev := policyEvent(s.now(), ResultDeleted, stored, o, []string{"deleted: " + describePolicy(stored)}, nil)
	return res, s.store.DeletePolicy(ctx, id, stored.Version, ev)
}

// SetPaused pauses or resumes a policy. Resuming validates the policy
// again: while it was paused, other policies may have moved ahead of it.
func (s *Service) SetPaused(ctx context.Context, id string, paused bool, o WriteOptions) (PolicyResult, error) {
	s.policyMu.Lock()
	res, err := s.setPaused(ctx, id, paused, o)
	s.policyMu.Unlock()
	if err == nil && !o.DryRun && res.Result != ResultUnchanged {
		s.policyChanged(id)
	}
	return res, err
}

func (s *Service) setPaused(ctx context.Context, id string, paused bool, o WriteOptions) (PolicyResult, error) {
	existing, err := s.store.Policies(ctx)
	if err != nil {
		return PolicyResult{}, err
	}
	stored := find(existing, id)
	if stored == nil {
		if err := storage.ValidatePolicyID(id); err != nil {
			return PolicyResult{}, err
		}
		return PolicyResult{}, fmt.Errorf("policy %s: %w", id, storage.ErrNotFound)
	}
	if err := checkVersion(id, o.Version, stored); err != nil {
		return PolicyResult{}, err
	}
	if stored.Paused == paused {
		return PolicyResult{Result: ResultUnchanged, DryRun: o.DryRun, Policy: stored}, nil
	}
	p := *stored
	p.Paused, p.UpdatedAt, p.Version = paused, s.now(), stored.Version+1
	var warnings []string
	if !paused {
		if warnings, err = p.Validate(s.catalogOrNil(), existing, p.UpdatedAt, o.Force); err != nil {
			var ve *enforcement.ValidationError
			if errors.As(err, &ve) {
				return PolicyResult{}, &InvalidPolicyError{Validation: ve, Warnings: warnings}
			}
			return PolicyResult{}, err
		}
	}
	result := map[bool]string{true: ResultPaused, false: ResultResumed}[paused]
	changes := []string{fmt.Sprintf("paused: %t → %t", stored.Paused, paused)}
	res := PolicyResult{Result: result, DryRun: o.DryRun, Policy: &p, Changes: changes, Warnings: warnings}
	if o.DryRun {
		return res, nil
	}
	return res, s.store.PutPolicy(ctx, p, stored.Version, policyEvent(p.UpdatedAt, result, &p, o, changes, warnings))
}
