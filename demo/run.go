package demo

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/enforcement/reconcile"
	"github.com/tidemark-mdm/tidemark/enforcement/rollout"
	"github.com/tidemark-mdm/tidemark/sim"
)

// stepEvery is how far simulated time moves per round.
const stepEvery = 12 * time.Hour

// run moves simulated time from Start to a day past the deadline. Each
// round the server reconciles, the devices that are online check in
// (as they would after a push) and report their progress.
func (e *env) run(ctx context.Context) error {
	// A day and a half past the deadline: legacy devices install at the
	// deadline, restart, and are verified by DeviceInformation after.
	end := lastDeadline.Add(40 * time.Hour)
	for at := Start; !at.After(end); at = at.Add(stepEvery) {
		e.clk.set(at)
		if !at.Before(Start.Add(72*time.Hour)) && at.Before(Start.Add(72*time.Hour+stepEvery)) { // day 4
			e.plugIn()
		}
		if err := e.round(ctx, at); err != nil {
			return err
		}
		pct, steps, err := e.compliance(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.out, "%s  %s %5.1f%% compliant  %s\n", at.Format("Mon 02 Jan 15:04"), bar(pct, 30), pct, steps)
	}
	fmt.Fprintln(e.out)
	return nil
}

// plugIn charges the device whose story says it gets plugged in.
func (e *env) plugIn() {
	for _, m := range e.fleet {
		if m.charge {
			m.dev.Update(func(a *sim.Attributes) { a.BatteryLevel, a.OnPower = 0.9, true })
			fmt.Fprintf(e.out, "                  (%s was plugged in)\n", m.dev.UDID())
		}
	}
}

func (e *env) round(ctx context.Context, at time.Time) error {
	if err := e.api.Do(ctx, http.MethodPost, "/v1/reconcile", nil, nil); err != nil {
		return err
	}
	if err := e.srv.DDM().Drain(ctx); err != nil {
		return err
	}
	// Two sessions per round: answers to the first (new OS version,
	// status) let the engine queue the next step for the second.
	for range 2 {
		err := e.each(func(m *member) error {
			if m.offline {
				return nil
			}
			if m.legacy != nil {
				m.legacy.Step()
			}
			if _, err := m.dev.Connect(ctx, 50); err != nil {
				return err
			}
			if m.ddm != nil {
				return m.ddm.AdvanceTo(ctx, at)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := e.api.Do(ctx, http.MethodPost, "/v1/reconcile", nil, nil); err != nil {
			return err
		}
		if err := e.srv.DDM().Drain(ctx); err != nil {
			return err
		}
	}
	return nil
}

// compliance is the share of compliant devices and what the others are
// doing (downloading 12, installing 3…).
func (e *env) compliance(ctx context.Context) (float64, string, error) {
	var st []reconcile.PolicyStatus
	if err := e.api.Do(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		return 0, "", err
	}
	if len(st) == 0 || st[0].Summary.Total == 0 {
		return 0, "", nil
	}
	s := st[0].Summary
	var parts []string
	for _, c := range s.Steps {
		parts = append(parts, fmt.Sprintf("%s %d", c.Key, c.Count))
	}
	return 100 * float64(s.Compliant) / float64(s.Total), strings.Join(parts, ", "), nil
}

func bar(pct float64, width int) string {
	n := int(pct/100*float64(width) + 0.5)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// report prints the compliance table and every device left behind.
func (e *env) report(ctx context.Context) error {
	var st []reconcile.PolicyStatus
	if err := e.api.Do(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		return err
	}
	for _, ps := range st {
		s := ps.Summary
		fmt.Fprintf(e.out, "Policy %q at %s: %d of %d devices compliant (%.1f%% of those in scope).\n",
			ps.Policy.ID, e.clk.now().Format("Mon 2 Jan 15:04"), s.Compliant, s.InScope, s.CompliantPercent)
		for _, c := range s.Compliance {
			fmt.Fprintf(e.out, "  %-13s %3d\n", strings.ReplaceAll(c.Key, "_", " "), c.Count)
		}
		for _, r := range ps.Rings {
			fmt.Fprintf(e.out, "  ring %-8s %s\n", r.Name, ringLine(r))
		}
		if ap := ps.AutoPause; ap != nil {
			fmt.Fprintf(e.out, "  %s (at %s; devices: %s)\n", ap.Message, ap.At.Format("Mon 2 Jan 15:04"), strings.Join(ap.Devices, ", "))
		}
	}
	fmt.Fprintln(e.out, "\nDevices left behind, and why:")
	left := 0
	for _, m := range e.sorted() {
		var why reconcile.Why
		if err := e.api.Do(ctx, http.MethodGet, "/v1/devices/"+m.dev.UDID()+"/why", nil, &why); err != nil {
			return err
		}
		for _, p := range why.Policies {
			if p.State.Compliance == "installed" || p.State.Compliance == "not_required" && p.Reason.Code == "already_newer" {
				continue
			}
			left++
			fmt.Fprintf(e.out, "  %-20s %-8s %-8s %s: %s\n", m.dev.UDID(), why.Facts.Platform, why.Facts.OSVersion, p.State.Compliance, orDash(string(p.Reason.Code)))
			if p.Reason.Message != "" {
				fmt.Fprintf(e.out, "  %-20s why:    %s\n", "", p.Reason.Message)
				fmt.Fprintf(e.out, "  %-20s remedy: %s\n", "", p.Reason.Remedy)
			}
			if m.story != "" {
				fmt.Fprintf(e.out, "  %-20s (simulated: %s)\n", "", m.story)
			}
		}
	}
	if left == 0 {
		fmt.Fprintln(e.out, "  none: every device is on the target.")
	}
	fmt.Fprintln(e.out, "\nTry it on your own server: tidemark serve, then tidemark status and tidemark device why ID.")
	return nil
}

func (e *env) sorted() []*member {
	out := append([]*member(nil), e.fleet...)
	sort.Slice(out, func(i, j int) bool { return out[i].dev.UDID() < out[j].dev.UDID() })
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ringLine summarises one ring of the status report.
func ringLine(r rollout.RingStatus) string {
	started := "not started"
	if r.Started && r.StartedAt != nil {
		started = "started " + r.StartedAt.Format("Mon 2 Jan 15:04")
	}
	return fmt.Sprintf("%d/%d installed, %s, deadline %s", r.Installed, r.Targeted, started, r.Deadline)
}
