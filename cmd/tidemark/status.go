package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
)

func newStatusCmd(g *globalFlags) *cobra.Command {
	var policy string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Compliance per policy: states, reasons, platforms, OS versions, devices at risk",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/v1/status"
			if policy != "" {
				p += "?policy=" + url.QueryEscape(policy)
			}
			var st []reconcile.PolicyStatus
			if err := g.getJSON(cmd, p, &st); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), st, func() error { return printStatus(cmd.OutOrStdout(), st) })
		},
	}
	cmd.Flags().StringVar(&policy, "policy", "", "only this policy")
	return cmd
}

func printStatus(w io.Writer, st []reconcile.PolicyStatus) error {
	if len(st) == 0 {
		_, err := fmt.Fprintln(w, "no policies: create one with tidemark policy apply -f policy.yaml")
		return err
	}
	for i, ps := range st {
		if i > 0 {
			fmt.Fprintln(w)
		}
		s := ps.Summary
		fmt.Fprintf(w, "Policy %s (%s)%s: %d of %d in-scope devices compliant (%.1f%%)\n",
			ps.Policy.ID, ps.Policy.Name, map[bool]string{true: " [paused]", false: ""}[ps.Policy.Paused],
			s.Compliant, s.InScope, s.CompliantPercent)
		if err := printRollout(w, &ps); err != nil {
			return err
		}
		t := newTable(w, "STATE", "DEVICES", "%")
		for _, c := range s.Compliance {
			t.row(strings.ReplaceAll(c.Key, "_", " "), strconv.Itoa(c.Count), fmt.Sprintf("%.1f", c.Percent))
		}
		for _, c := range s.Steps {
			t.row("  required: "+c.Key, strconv.Itoa(c.Count), fmt.Sprintf("%.1f", c.Percent))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if len(s.Reasons) > 0 {
			t = newTable(w, "REASON", "DEVICES", "%")
			for _, c := range s.Reasons {
				t.row(c.Key, strconv.Itoa(c.Count), fmt.Sprintf("%.1f", c.Percent))
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
		t = newTable(w, "PLATFORM", "TOTAL", "INSTALLED", "REQUIRED", "NOT REQUIRED", "UNKNOWN")
		for _, g := range s.ByPlatform {
			t.row(g.Key, strconv.Itoa(g.Total), strconv.Itoa(g.Installed), strconv.Itoa(g.Required), strconv.Itoa(g.NotRequired), strconv.Itoa(g.Unknown))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if s.AtRiskTotal > 0 {
			fmt.Fprintf(w, "%d device(s) at risk of missing the deadline:\n", s.AtRiskTotal)
			t = newTable(w, "DEVICE", "PLATFORM", "OS", "STATE", "REASON", "DEADLINE")
			for _, d := range s.AtRisk {
				t.row(d.DeviceID, d.Platform, d.OSVersion, string(d.Compliance)+" "+string(d.Step), orDash(string(d.Reason)), d.LocalDeadline)
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// printRollout shows why a policy paused itself and one line per ring.
// Times are UTC: ring starts are fleet-wide instants.
func printRollout(w io.Writer, ps *reconcile.PolicyStatus) error {
	if ap := ps.AutoPause; ap != nil && ps.Policy.Paused {
		fmt.Fprintf(w, "Paused automatically at %s: %s\n", ap.At.UTC().Format("2006-01-02 15:04 UTC"), ap.Message)
		fmt.Fprintf(w, "  resume with: tidemark policy resume %s\n", ps.Policy.ID)
	}
	if len(ps.Rings) == 0 {
		return nil
	}
	t := newTable(w, "RING", "STATE", "INSTALLED", "%", "NEEDED %", "FAILING", "DEADLINE", "STARTED")
	for _, r := range ps.Rings {
		state, started := "waiting", "-"
		if r.Started {
			state = "started"
		}
		if r.StartedAt != nil {
			started = r.StartedAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		t.row(r.Name, state, fmt.Sprintf("%d/%d", r.Installed, r.Targeted), fmt.Sprintf("%.1f", r.InstalledPercent),
			strconv.FormatFloat(r.SuccessPercent, 'f', -1, 64), strconv.Itoa(r.Failing), orDash(r.Deadline), started)
	}
	return t.flush()
}

func newDeviceWhyCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "why ID",
		Short: "Explain a device: its policies, plan, preconditions, state history, reason and remedy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var why reconcile.Why
			if err := g.getJSON(cmd, "/v1/devices/"+url.PathEscape(args[0])+"/why", &why); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), why, func() error { return printWhy(cmd.OutOrStdout(), &why) })
		},
	}
}

func printWhy(w io.Writer, why *reconcile.Why) error {
	f := why.Facts
	fmt.Fprintf(w, "Device %s: %s %s (%s), supervised %v, last seen %s\n", why.DeviceID, f.Platform, f.OSVersion,
		orDash(f.BuildVersion), f.Supervised, f.LastSeen.Local().Format("2006-01-02 15:04"))
	if len(why.Policies) == 0 {
		_, err := fmt.Fprintln(w, "No policy applies to this device.")
		return err
	}
	for _, p := range why.Policies {
		s := p.State
		fmt.Fprintf(w, "\nPolicy %s (%s): %s", p.PolicyID, p.PolicyName, s.Compliance)
		if s.Step != "" {
			fmt.Fprintf(w, ", step %s", s.Step)
		}
		fmt.Fprintf(w, "\n  target %s by %s (device-local), path %s, next action %s\n",
			orDash(p.Plan.Target.OSVersion), orDash(p.Plan.Target.LocalDeadline), p.Plan.Path, p.Plan.Action)
		if p.Reason.Code != "" {
			fmt.Fprintf(w, "  why:    %s: %s\n  remedy: %s\n", p.Reason.Code, p.Reason.Message, orDash(p.Reason.Remedy))
		}
		for _, r := range p.Plan.Reasons {
			fmt.Fprintf(w, "  precondition %s (%s): %s\n", r.Code, r.Severity, r.Message)
		}
		if p.Delivered != nil {
			fmt.Fprintf(w, "  declared: %s by %s (at %s)\n", p.Delivered.TargetOSVersion, p.Delivered.TargetLocalDateTime, orDash(deref(p.DeliveredAt)))
		}
		if len(s.History) > 0 {
			t := newTable(w, "  AT", "CHANGE", "STATE", "STEP", "REASON")
			for _, h := range s.History {
				t.row("  "+h.At.Local().Format("2006-01-02 15:04"), string(h.Kind), string(h.Compliance), orDash(string(h.Step)), orDash(string(h.Reason)))
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
