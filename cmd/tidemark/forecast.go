package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
)

func newForecastCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "forecast POLICY",
		Short: "Before the deadline: the devices at risk of missing it, why, and the share expected compliant",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f rollout.Forecast
			if err := g.getJSON(cmd, "/v1/policies/"+url.PathEscape(args[0])+"/forecast", &f); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), f, func() error { return printForecast(cmd.OutOrStdout(), &f) })
		},
	}
}

func printForecast(w io.Writer, f *rollout.Forecast) error {
	paused := ""
	if f.Paused {
		paused = " [paused]"
	}
	fmt.Fprintf(w, "Policy %s (%s)%s: %d in-scope devices, deadline %s (%s)\n", f.PolicyID, f.PolicyName, paused,
		f.InScope, orDash(f.Deadline), daysPhrase(f.DaysLeft, f.Deadline != ""))
	if f.LatestDeadline != f.Deadline {
		fmt.Fprintf(w, "  rings spread the deadlines until %s\n", f.LatestDeadline)
	}
	fmt.Fprintf(w, "Expected compliant at the deadline: %d of %d (%.1f%%)\n", f.EstimatedCompliant, f.InScope, f.EstimatedCompliantPercent)
	fmt.Fprintf(w, "  now compliant %d, in progress %d, nothing in the way %d, at risk %d (%d likely to miss); failure rate %.1f%%\n",
		f.CompliantNow, f.InProgress, f.Clear, f.AtRiskTotal, f.LikelyMiss, f.FailureRate)
	fmt.Fprintf(w, "  estimate: %s\n", f.Model)
	if f.AtRiskTotal == 0 {
		_, err := fmt.Fprintln(w, "No device at risk.")
		return err
	}
	fmt.Fprintf(w, "\n%d device(s) at risk:\n", f.AtRiskTotal)
	t := newTable(w, "DEVICE", "PLATFORM", "OS", "RING", "DEADLINE", "DAYS", "LIKELY", "RISKS")
	remedies := map[enforcement.Code]string{}
	for _, d := range f.AtRisk {
		codes := make([]string, 0, len(d.Risks))
		for _, r := range d.Risks {
			codes = append(codes, string(r.Code))
			if _, ok := remedies[r.Code]; !ok {
				remedies[r.Code] = r.Remedy
			}
		}
		days := "-"
		if d.DaysLeft != nil {
			days = strconv.Itoa(*d.DaysLeft)
		}
		t.row(d.DeviceID, d.Platform, d.OSVersion, orDash(d.Ring), orDash(d.LocalDeadline), days,
			map[bool]string{true: "yes", false: "maybe"}[d.Likely], strings.Join(codes, ", "))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nWhat to do:")
	t = newTable(w, "RISK", "DEVICES", "REMEDY")
	for _, rc := range f.Risks {
		t.row(string(rc.Code), strconv.Itoa(rc.Count), remedies[rc.Code])
	}
	return t.flush()
}

func daysPhrase(days int, known bool) string {
	switch {
	case !known:
		return "no deadline known yet"
	case days > 1:
		return fmt.Sprintf("in %d days", days)
	case days == 1:
		return "in 1 day"
	case days == 0:
		return "within a day"
	case days == -1:
		return "passed less than a day ago"
	case days == -2:
		return "passed 1 day ago"
	}
	return fmt.Sprintf("passed %d days ago", -days-1)
}
