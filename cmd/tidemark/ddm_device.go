package main

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/ddmsvc"
)

func newDDMCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "ddm", Short: "A device's declarative management: status, declarations, previews"}
	cmd.AddCommand(newDDMStatusCmd(g), newDDMDeclarationsCmd(g), newDDMEffectiveSettingsCmd(g),
		newDDMQueueCmd(g), newDDMSyncCmd(g))
	return cmd
}

// deviceCmd builds a `ddm` subcommand that reads one device's document.
func deviceCmd(g *globalFlags, use, short string, run func(cmd *cobra.Command, path string) error) *cobra.Command {
	var device string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, "/v1/devices/"+url.PathEscape(device)+"/ddm/")
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "device id")
	_ = cmd.MarkFlagRequired("device")
	return cmd
}

func newDDMStatusCmd(g *globalFlags) *cobra.Command {
	var history int
	cmd := deviceCmd(g, "status", "The device's latest DDM status (software update, OS, declarations)", func(cmd *cobra.Command, path string) error {
		var v ddmsvc.StatusView
		if err := g.getJSON(cmd, path+"status?history="+strconv.Itoa(history), &v); err != nil {
			return err
		}
		return g.emit(cmd.OutOrStdout(), v, func() error { return printDDMStatus(cmd, v.Status) })
	})
	cmd.Flags().IntVar(&history, "history", 0, "also list this many recent reports (JSON output)")
	return cmd
}

func stamped[T any](s *ddm.Stamped[T], show func(T) string) string {
	if s == nil {
		return "-"
	}
	return orDash(show(s.Value)) + "  (" + fmtTime(&s.UpdatedAt) + ")"
}

func printDDMStatus(cmd *cobra.Command, st *ddm.DeviceStatus) error {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Last report:     %s\n", fmtTime(&st.LastReportAt))
	build := ""
	if st.OSBuildVersion != nil {
		build = " (" + st.OSBuildVersion.Value + ")"
	}
	fmt.Fprintf(w, "OS:              %s\n", stamped(st.OSVersion, func(v string) string { return v + build }))
	fmt.Fprintf(w, "Install state:   %s\n", stamped(st.InstallState, func(s ddm.InstallState) string { return string(s) }))
	fmt.Fprintf(w, "Pending version: %s\n", stamped(st.PendingVersion, func(p ddm.PendingVersion) string {
		return strings.TrimSpace(p.OSVersion + " " + p.BuildVersion + " " + p.TargetLocalDateTime)
	}))
	fmt.Fprintf(w, "Failure:         %s\n", stamped(st.FailureReason, func(f ddm.FailureReason) string {
		if f.Count == 0 {
			return "none"
		}
		return fmt.Sprintf("%d× %s (%s)", f.Count, f.Reason, f.Timestamp)
	}))
	t := newTable(w, "DECLARATION", "KIND", "ACTIVE", "VALID", "SERVER TOKEN", "REASONS")
	for _, id := range slices.Sorted(maps.Keys(st.Declarations)) {
		d := st.Declarations[id]
		var reasons []string
		for _, r := range d.Reasons {
			reasons = append(reasons, r.Code)
		}
		t.row(id, string(d.Kind), strconv.FormatBool(d.Active), d.Valid, d.ServerToken, orDash(strings.Join(reasons, ",")))
	}
	return t.flush()
}

func newDDMDeclarationsCmd(g *globalFlags) *cobra.Command {
	return deviceCmd(g, "declarations", "What the device holds, with the server's tokens and the device's word", func(cmd *cobra.Command, path string) error {
		var v ddmsvc.DeviceDeclarationsView
		if err := g.getJSON(cmd, path+"declarations", &v); err != nil {
			return err
		}
		return g.emit(cmd.OutOrStdout(), v, func() error {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "DDM capable: %t\nSets:        %s\nToken:       %s\n", v.DDMCapable, orDash(strings.Join(v.Sets, ", ")), v.DeclarationsToken)
			t := newTable(w, "DECLARATION", "KIND", "SOURCE", "SERVER TOKEN", "DEVICE")
			for _, d := range v.Declarations {
				state := "-"
				if d.Device != nil {
					state = fmt.Sprintf("active=%t valid=%s", d.Device.Active, d.Device.Valid)
					if d.Device.ServerToken != d.ServerToken {
						state += " (older token)"
					}
				}
				t.row(d.Identifier, string(d.Kind), d.Source, d.ServerToken, state)
			}
			if err := t.flush(); err != nil {
				return err
			}
			for _, warn := range v.Warnings {
				fmt.Fprintln(w, "warning:", warn)
			}
			return nil
		})
	})
}

func newDDMEffectiveSettingsCmd(g *globalFlags) *cobra.Command {
	return deviceCmd(g, "effective-settings", "Preview the software-update settings the device applies, key by key", func(cmd *cobra.Command, path string) error {
		var v ddmsvc.EffectiveSettingsView
		if err := g.getJSON(cmd, path+"effective-settings", &v); err != nil {
			return err
		}
		return g.emit(cmd.OutOrStdout(), v, func() error {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "From: %s\n", orDash(strings.Join(v.Declarations, ", ")))
			if len(v.Inactive) > 0 {
				fmt.Fprintf(w, "Not activated (ignored): %s\n", strings.Join(v.Inactive, ", "))
			}
			t := newTable(w, "KEY", "DECIDED BY")
			for _, key := range slices.Sorted(maps.Keys(v.Provenance)) {
				t.row(key, strings.Join(v.Provenance[key], ", "))
			}
			if err := t.flush(); err != nil {
				return err
			}
			return printJSON(w, v.Settings)
		})
	})
}

func newDDMQueueCmd(g *globalFlags) *cobra.Command {
	return deviceCmd(g, "queue", "Preview the order in which the device works through its enforcement declarations", func(cmd *cobra.Command, path string) error {
		var v ddmsvc.QueueView
		if err := g.getJSON(cmd, path+"queue", &v); err != nil {
			return err
		}
		return g.emit(cmd.OutOrStdout(), v, func() error {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Installed: %s (from %s)\n", v.InstalledVersion, v.InstalledFrom)
			t := newTable(w, "#", "DECLARATION", "TARGET", "BUILD", "DEADLINE (device local)", "")
			for i, e := range v.Queue {
				t.row(strconv.Itoa(i+1), e.Identifier, e.TargetOSVersion, orDash(e.TargetBuildVersion), e.TargetLocalDateTime, "")
			}
			for _, e := range v.Ignored {
				t.row("-", e.Identifier, e.TargetOSVersion, orDash(e.TargetBuildVersion), e.TargetLocalDateTime, "ignored: not newer")
			}
			return t.flush()
		})
	})
}

func newDDMSyncCmd(g *globalFlags) *cobra.Command {
	return deviceCmd(g, "sync", "Tell the device to sync its declarations now", func(cmd *cobra.Command, path string) error {
		if err := g.do(cmd, http.MethodPost, path+"sync", nil, nil); err != nil {
			return err
		}
		return g.emit(cmd.OutOrStdout(), map[string]bool{"queued": true}, func() error {
			fmt.Fprintln(cmd.OutOrStdout(), "sync queued: a DeclarativeManagement command and a push follow")
			return nil
		})
	})
}
