package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/policysvc"
)

func newPolicyCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Update policies: which devices run which OS version by when"}
	cmd.AddCommand(newPolicyApplyCmd(g), newPolicyListCmd(g), newPolicyShowCmd(g),
		newPolicyWriteCmd(g, "delete", "Delete a policy", http.MethodDelete, ""),
		newPolicyWriteCmd(g, "pause", "Pause a policy: devices keep what they have, nothing new is sent", http.MethodPost, "/pause"),
		newPolicyWriteCmd(g, "resume", "Resume a paused policy (validated again)", http.MethodPost, "/resume"))
	return cmd
}

func policyPath(id string) string { return "/v1/policies/" + url.PathEscape(id) }

func writeQuery(force, dryRun bool, version int) string {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	if dryRun {
		q.Set("dry_run", "true")
	}
	if version > 0 {
		q.Set("version", strconv.Itoa(version))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func newPolicyApplyCmd(g *globalFlags) *cobra.Command {
	var file string
	var force, dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or update the policies of a YAML file (one or many; - reads standard input)",
		Long: "Every policy is validated first; if any is refused nothing is changed. A policy whose\n" +
			"content equals the stored one is left unchanged. A version field, when given, must be the\n" +
			"stored version, so edits made meanwhile by someone else are not overwritten.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readInput(cmd, file)
			if err != nil {
				return err
			}
			policies, err := policysvc.ParsePolicyFile(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			results, err := applyPolicies(cmd, c, policies, force, dryRun)
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), results, func() error { return printApplied(cmd.OutOrStdout(), results) })
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML file of policies")
	cmd.Flags().BoolVar(&force, "force", false, "save policies with forceable problems (e.g. Apple stops signing the target before the deadline) as warnings")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate and show what would change, change nothing")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// applyPolicies validates every policy (dry run) before writing any, so
// one refused policy leaves the whole file unapplied.
func applyPolicies(cmd *cobra.Command, c *api.Client, policies []enforcement.Policy, force, dryRun bool) ([]policysvc.PolicyResult, error) {
	var refused []string
	checked := make([]policysvc.PolicyResult, 0, len(policies))
	for _, p := range policies {
		var res policysvc.PolicyResult
		err := c.Do(cmd.Context(), http.MethodPut, policyPath(p.ID)+writeQuery(force, true, 0), p, &res)
		var se *api.StatusError
		if errors.As(err, &se) && (se.Status == http.StatusBadRequest || se.Status == http.StatusConflict) {
			refused = append(refused, se.Message)
			continue
		}
		if err != nil {
			return nil, err
		}
		checked = append(checked, res)
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("%d of %d policies refused, nothing was changed:\n%s",
			len(refused), len(policies), strings.Join(refused, "\n"))
	}
	if dryRun {
		return checked, nil
	}
	results := make([]policysvc.PolicyResult, 0, len(policies))
	for _, p := range policies {
		var res policysvc.PolicyResult
		if err := c.Do(cmd.Context(), http.MethodPut, policyPath(p.ID)+writeQuery(force, false, 0), p, &res); err != nil {
			printApplied(cmd.ErrOrStderr(), results)
			return nil, fmt.Errorf("policy %s: %w", p.ID, err)
		}
		results = append(results, res)
	}
	return results, nil
}

func printApplied(w io.Writer, results []policysvc.PolicyResult) error {
	t := newTable(w, "RESULT", "POLICY", "VERSION")
	for _, r := range results {
		result := r.Result
		if r.DryRun && r.Result != policysvc.ResultUnchanged {
			result = "would be " + result
		}
		t.row(result, r.Policy.ID, strconv.Itoa(r.Policy.Version))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, r := range results {
		for _, ch := range r.Changes {
			if r.Result == policysvc.ResultUpdated {
				fmt.Fprintf(w, "  %s: %s\n", r.Policy.ID, ch)
			}
		}
		for _, warn := range r.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", r.Policy.ID, warn)
		}
	}
	return nil
}

func newPolicyListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []enforcement.Policy
			if err := g.getJSON(cmd, "/v1/policies", &list); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), list, func() error { return printPolicies(cmd.OutOrStdout(), list) })
		},
	}
}

func printPolicies(w io.Writer, list []enforcement.Policy) error {
	t := newTable(w, "ID", "NAME", "SCOPE", "TARGET", "DEADLINE", "PAUSED", "VERSION")
	for _, p := range list {
		t.row(p.ID, p.Name, describeScope(p.Scope), describeTarget(p.Target), describeDeadline(p.Deadline),
			strconv.FormatBool(p.Paused), strconv.Itoa(p.Version))
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d policies\n", len(list))
	return err
}

func describeScope(s enforcement.Scope) string {
	var parts []string
	if s.All {
		parts = append(parts, "all")
	}
	if n := len(s.DeviceIDs); n > 0 {
		parts = append(parts, fmt.Sprintf("%d device(s)", n))
	}
	if len(s.Groups) > 0 {
		parts = append(parts, "groups "+strings.Join(s.Groups, ","))
	}
	platforms := "every platform"
	if len(s.Platforms) > 0 {
		platforms = strings.Join(s.Platforms, ",")
	}
	return platforms + ": " + strings.Join(parts, "; ")
}

func describeTarget(t enforcement.Target) string {
	switch t.Kind {
	case enforcement.TargetVersion:
		return strings.TrimSpace(t.OSVersion + " " + t.BuildVersion)
	case enforcement.TargetLatestMajor:
		return "latest " + strconv.Itoa(t.Major) + ".x"
	}
	return string(t.Kind)
}

func describeDeadline(d enforcement.Deadline) string {
	if d.DaysAfterPosting == nil {
		return d.LocalDateTime
	}
	tod := d.TimeOfDay
	if tod == "" {
		tod = enforcement.DefaultTimeOfDay
	}
	return fmt.Sprintf("%d days after posting, %s", *d.DaysAfterPosting, tod)
}

func newPolicyShowCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a policy (as YAML that policy apply takes back, or --output json)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p enforcement.Policy
			if err := g.getJSON(cmd, policyPath(args[0]), &p); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), p, func() error {
				enc := yaml.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent(2)
				if err := enc.Encode(p); err != nil {
					return err
				}
				return enc.Close()
			})
		},
	}
}

// newPolicyWriteCmd builds delete, pause and resume: one id, an optional
// expected version, and for resume --force.
func newPolicyWriteCmd(g *globalFlags, name, short, method, suffix string) *cobra.Command {
	var version int
	var force bool
	cmd := &cobra.Command{
		Use:   name + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res policysvc.PolicyResult
			if err := g.do(cmd, method, policyPath(args[0])+suffix+writeQuery(force, false, version), nil, &res); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), res, func() error {
				return printApplied(cmd.OutOrStdout(), []policysvc.PolicyResult{res})
			})
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "refuse unless the policy is still at this version")
	if name == "resume" {
		cmd.Flags().BoolVar(&force, "force", false, "resume despite forceable problems")
	}
	return cmd
}
