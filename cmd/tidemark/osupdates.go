package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/commands"
	"github.com/tidemark-mdm/tidemark/mdm"
)

func newOSUpdatesCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "os-updates",
		Short: "MDM software-update commands (devices before macOS 14 / iOS 17; removed in OS 27) and the state they reported",
	}
	var force bool
	scan := newOSUpdateQueueCmd(g, "scan", "Ask Macs to scan for updates (ScheduleOSUpdateScan)", mdm.RequestScheduleOSUpdateScan,
		func() map[string]any {
			if force {
				return map[string]any{"force": true}
			}
			return nil
		})
	scan.Flags().BoolVar(&force, "force", false, "scan now instead of at a time the Mac picks")
	cmd.AddCommand(scan,
		newOSUpdateQueueCmd(g, "available", "Ask which updates devices offer (AvailableOSUpdates)", mdm.RequestAvailableOSUpdates, nil),
		newOSUpdateQueueCmd(g, "status", "Ask for download and install progress (OSUpdateStatus)", mdm.RequestOSUpdateStatus, nil),
		newOSUpdateScheduleCmd(g), newOSUpdateShowCmd(g))
	return cmd
}

// newOSUpdateQueueCmd queues one typed command; params, when given, turns
// the command's own flags into API params.
func newOSUpdateQueueCmd(g *globalFlags, use, short, kind string, params func() map[string]any) *cobra.Command {
	var t targetFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.EnqueueRequest{Type: kind}
			if params != nil {
				req.Params = params()
			}
			if err := t.apply(&req); err != nil {
				return err
			}
			return enqueue(cmd, g, req)
		},
	}
	t.add(cmd)
	return cmd
}

// scheduleFlags are one ScheduleOSUpdate item; the server validates it
// against Apple's schema and each device, and answers why it refuses.
type scheduleFlags struct {
	version, productKey, action, priority string
	maxDeferrals                          int
}

func (f *scheduleFlags) params(cmd *cobra.Command) (map[string]any, error) {
	if (f.version == "") == (f.productKey == "") {
		return nil, fmt.Errorf("give --version or --product-key")
	}
	item := map[string]any{"install_action": f.action}
	if f.version != "" {
		item["product_version"] = f.version
	} else {
		item["product_key"] = f.productKey
	}
	if cmd.Flags().Changed("max-user-deferrals") {
		item["max_user_deferrals"] = f.maxDeferrals
	}
	if f.priority != "" {
		item["priority"] = f.priority
	}
	return map[string]any{"updates": []any{item}}, nil
}

func newOSUpdateScheduleCmd(g *globalFlags) *cobra.Command {
	var t targetFlags
	var f scheduleFlags
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Ask devices to download and/or install an update (ScheduleOSUpdate)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			params, err := f.params(cmd)
			if err != nil {
				return err
			}
			req := api.EnqueueRequest{Type: mdm.RequestScheduleOSUpdate, Params: params}
			if err := t.apply(&req); err != nil {
				return err
			}
			return enqueue(cmd, g, req)
		},
	}
	t.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.version, "version", "", "OS version to install, e.g. 14.4.1")
	fl.StringVar(&f.productKey, "product-key", "", "ProductKey as `os-updates show` lists it")
	fl.StringVar(&f.action, "action", mdm.InstallActionInstallASAP,
		"Default, DownloadOnly, InstallASAP, NotifyOnly, InstallLater or InstallForceRestart")
	fl.IntVar(&f.maxDeferrals, "max-user-deferrals", 0, "deferrals the user may take (InstallLater, macOS)")
	fl.StringVar(&f.priority, "priority", "", "Low or High (macOS 12.3+)")
	return cmd
}

func newOSUpdateShowCmd(g *globalFlags) *cobra.Command {
	var device string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show what a device reported: offered updates, latest status, last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			d, err := c.Device(cmd.Context(), device)
			if err != nil {
				return err
			}
			st, err := updateStateOf(d)
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), st, func() error { return printUpdateState(cmd.OutOrStdout(), d.ID, st) })
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "device id")
	_ = cmd.MarkFlagRequired("device")
	return cmd
}

// updateStateOf reads `device show`'s extra.os_updates; nil when the
// device never answered an update command.
func updateStateOf(d *api.Device) (*commands.UpdateState, error) {
	v, ok := d.Extra["os_updates"]
	if !ok {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return commands.DecodeUpdateState(raw)
}

func printUpdateState(w io.Writer, id string, st *commands.UpdateState) error {
	if st == nil {
		_, err := fmt.Fprintf(w, "%s has not answered any OS-update command yet\n", id)
		return err
	}
	if !st.LastScanAt.IsZero() {
		fmt.Fprintf(w, "last scan: %s (%s)\n", fmtTime(&st.LastScanAt), st.LastScanStatus)
	}
	fmt.Fprintf(w, "\navailable updates (as of %s):\n", fmtTime(&st.AvailableAt))
	t := newTable(w, "PRODUCT KEY", "NAME", "VERSION", "BUILD", "KIND", "DOWNLOAD", "RESTART")
	for _, u := range st.Available {
		t.row(u.ProductKey, orDash(u.HumanReadableName), orDash(strings.TrimSpace(u.Version)), orDash(u.Build),
			updateKind(u), fmtBytes(u.DownloadSize.Int64()), strconv.FormatBool(u.RestartRequired))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nlatest status (as of %s):\n", fmtTime(&st.StatusAt))
	t = newTable(w, "PRODUCT KEY", "STATUS", "DOWNLOADED", "PROGRESS", "MEANING", "DEFERRALS LEFT")
	for _, s := range st.Status {
		t.row(s.ProductKey, s.Status, strconv.FormatBool(s.IsDownloaded),
			fmt.Sprintf("%.0f%%", s.DownloadPercentComplete.Float64()*100), meaning(s.Meaning()), fmtIntPtr(s.DeferralsRemaining))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nlast schedule results (%s):\n", fmtTime(&st.ScheduledAt))
	t = newTable(w, "PRODUCT KEY", "ACTION", "STATUS", "MEANING")
	for _, r := range st.ScheduleResults {
		t.row(orDash(r.ProductKey), r.InstallAction, r.Status, meaning(r.Meaning()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	printLastError(w, st.LastError)
	for _, warn := range st.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

func printLastError(w io.Writer, e *commands.ErrorRecord) {
	if e == nil {
		fmt.Fprintln(w, "\nlast error: none")
		return
	}
	fmt.Fprintf(w, "\nlast error: %s answered %s at %s", e.RequestType, e.Status, fmtTime(&e.At))
	if e.ProductKey != "" {
		fmt.Fprintf(w, " for %s", e.ProductKey)
	}
	fmt.Fprintln(w)
	if len(e.ErrorChain) == 0 {
		fmt.Fprintln(w, "  (no error detail)")
	}
	for _, c := range e.ErrorChain {
		fmt.Fprintf(w, "  error %d (%s): %s\n", c.ErrorCode, c.ErrorDomain, firstNonEmpty(c.USEnglishDescription, c.LocalizedDescription))
	}
}

func updateKind(u mdm.AvailableOSUpdate) string {
	switch {
	case u.IsConfigDataUpdate:
		return "config data"
	case u.IsFirmwareUpdate:
		return "firmware"
	case u.IsSecurityResponse:
		return "security response"
	case u.IsMajorOSUpdate:
		return "major OS"
	}
	if _, ok := u.ParsedVersion(); ok {
		return "OS"
	}
	return "other"
}

func meaning(m mdm.UpdateStatusMeaning) string {
	if m.Reason == "" {
		return string(m.Class)
	}
	return string(m.Class) + ": " + m.Reason
}

func fmtBytes(n int64) string {
	switch {
	case n <= 0:
		return "-"
	case n < 1e9:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

func fmtIntPtr(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}
