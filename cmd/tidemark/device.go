package main

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/api"
)

func newDeviceCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "device", Short: "List and inspect devices"}
	var enrolled, platform, group string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"enrolled": enrolled, "platform": platform, "group": group} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			devices, err := c.Devices(cmd.Context(), q)
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), devices, func() error { return printDeviceTable(cmd, devices) })
		},
	}
	list.Flags().StringVar(&enrolled, "enrolled", "", "filter: true or false")
	list.Flags().StringVar(&platform, "platform", "", "filter: macOS, iOS, iPadOS…")
	list.Flags().StringVar(&group, "group", "", "filter: device group")
	list.Flags().IntVar(&limit, "limit", 0, "at most this many devices")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one device: identity, facts, push, queue, update state",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			d, err := c.Device(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), d, func() error { return printDevice(cmd, d) })
		},
	}
	cmd.AddCommand(list, show, newDeviceWhyCmd(g))
	return cmd
}

func printDeviceTable(cmd *cobra.Command, devices []api.Device) error {
	t := newTable(cmd.OutOrStdout(), "ID", "PLATFORM", "OS", "BUILD", "MODEL", "SERIAL", "ENROLLED", "BOOTSTRAP", "LAST SEEN")
	for _, d := range devices {
		t.row(d.ID, orDash(d.Facts.Platform), orDash(d.Facts.OSVersion), orDash(d.Facts.BuildVersion),
			orDash(d.Facts.ProductName), orDash(d.Facts.SerialNumber), strconv.FormatBool(d.Enrolled),
			strconv.FormatBool(d.BootstrapEscrowed), fmtTime(d.LastSeen))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%d device(s)\n", len(devices))
	return nil
}

func printDevice(cmd *cobra.Command, d *api.Device) error {
	t := newTable(cmd.OutOrStdout(), "FIELD", "VALUE")
	f := d.Facts
	rows := [][2]string{
		{"id", d.ID}, {"enrolled", strconv.FormatBool(d.Enrolled)},
		{"enrolled at", fmtTime(d.EnrolledAt)}, {"last seen", fmtTime(d.LastSeen)},
		{"platform", orDash(f.Platform)}, {"os version", orDash(f.OSVersion)}, {"build", orDash(f.BuildVersion)},
		{"supplemental", orDash(f.SupplementalBuild + " " + f.SupplementalExtra)},
		{"product", orDash(f.ProductName)}, {"model", orDash(f.ModelName)}, {"serial", orDash(f.SerialNumber)},
		{"supervised", fmtBool(f.Supervised)}, {"apple silicon", fmtBool(f.AppleSilicon)},
		{"software update id", orDash(f.SoftwareUpdateDeviceID)},
		{"bootstrap token", escrow(d.BootstrapEscrowed)},
		{"bootstrap required for updates", fmtBool(f.BootstrapRequired)},
		{"battery", fmtPercent(f.BatteryLevel)},
		{"free space (GB)", fmtFloat(f.AvailableCapacityGB)}, {"capacity (GB)", fmtFloat(f.DeviceCapacityGB)},
		{"push", pushState(d)}, {"certificate expires", fmtTime(d.CertNotAfter)},
	}
	if d.QueueLength != nil {
		rows = append(rows, [2]string{"queued commands", strconv.Itoa(*d.QueueLength)})
	}
	for _, r := range rows {
		t.row(r[0], r[1])
	}
	if err := t.flush(); err != nil {
		return err
	}
	keys := make([]string, 0, len(d.Extra))
	for k := range d.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(cmd.OutOrStdout(), "\n%s:\n", k)
		if err := printJSON(cmd.OutOrStdout(), d.Extra[k]); err != nil {
			return err
		}
	}
	return nil
}

func escrow(b bool) string {
	if b {
		return "escrowed"
	}
	return "not escrowed"
}

func pushState(d *api.Device) string {
	switch {
	case !d.PushConfigured:
		return "no push token"
	case d.PushTokenDead:
		return "token dead (waiting for TokenUpdate)"
	case d.LastPush == nil:
		return "never pushed"
	case d.LastPush.OK:
		return "ok at " + fmtTime(&d.LastPush.At)
	default:
		return fmt.Sprintf("failing: %d %s at %s", d.LastPush.Status, d.LastPush.Reason, fmtTime(&d.LastPush.At))
	}
}

func fmtPercent(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", *v*100)
}

func fmtFloat(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *v)
}
