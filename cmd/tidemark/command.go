package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/storage"
)

// targetFlags selects the devices a command goes to.
type targetFlags struct {
	devices []string
	all     bool
}

func (t *targetFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&t.devices, "device", nil, "device id (repeatable, or comma-separated)")
	cmd.Flags().BoolVar(&t.all, "all", false, "every enrolled device")
}

func (t *targetFlags) apply(req *api.EnqueueRequest) error {
	if t.all == (len(t.devices) > 0) {
		return fmt.Errorf("give --device ID or --all")
	}
	req.Devices, req.All = t.devices, t.all
	return nil
}

func newCommandCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "command", Short: "Queue, list, cancel MDM commands and read their results"}
	cmd.AddCommand(newCommandSendCmd(g),
		newTypedCommandCmd(g, "device-info", "Queue DeviceInformation (OS, model, battery, storage…)", "DeviceInformation"),
		newTypedCommandCmd(g, "security-info", "Queue SecurityInfo (bootstrap token requirement…)", "SecurityInfo"),
		newCommandListCmd(g), newCommandCancelCmd(g), newCommandResultCmd(g))
	return cmd
}

func newCommandSendCmd(g *globalFlags) *cobra.Command {
	var t targetFlags
	var file string
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Queue a raw command plist (with its CommandUUID) to devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			req := api.EnqueueRequest{Raw: string(raw)}
			if err := t.apply(&req); err != nil {
				return err
			}
			return enqueue(cmd, g, req)
		},
	}
	t.add(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "command plist file")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func newTypedCommandCmd(g *globalFlags, use, short, kind string) *cobra.Command {
	var t targetFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.EnqueueRequest{Type: kind}
			if err := t.apply(&req); err != nil {
				return err
			}
			return enqueue(cmd, g, req)
		},
	}
	t.add(cmd)
	return cmd
}

func enqueue(cmd *cobra.Command, g *globalFlags, req api.EnqueueRequest) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	resp, err := c.Enqueue(cmd.Context(), req)
	if err != nil {
		return err
	}
	return g.emit(cmd.OutOrStdout(), resp, func() error {
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "queued %s %s to %d device(s)\n", resp.RequestType, resp.CommandUUID, len(resp.Devices))
		return err
	})
}

func newCommandListCmd(g *globalFlags) *cobra.Command {
	var device string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a device's queued commands",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var q []storage.QueueEntry
			if err := g.getJSON(cmd, "/v1/devices/"+url.PathEscape(device)+"/queue", &q); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), q, func() error {
				t := newTable(cmd.OutOrStdout(), "UUID", "TYPE", "QUEUED", "DELIVERED", "NOT NOW")
				for _, e := range q {
					t.row(e.UUID, e.RequestType, fmtTime(&e.QueuedAt), strconv.Itoa(e.Delivered), strconv.Itoa(e.NotNowCount))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "device id")
	_ = cmd.MarkFlagRequired("device")
	return cmd
}

func newCommandCancelCmd(g *globalFlags) *cobra.Command {
	var device string
	cmd := &cobra.Command{
		Use:   "cancel UUID",
		Short: "Remove a queued command from a device's queue",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/v1/devices/" + url.PathEscape(device) + "/queue/" + url.PathEscape(args[0])
			if err := g.do(cmd, http.MethodDelete, p, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cancelled %s on %s\n", args[0], device)
			return nil
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "device id")
	_ = cmd.MarkFlagRequired("device")
	return cmd
}

func newCommandResultCmd(g *globalFlags) *cobra.Command {
	var device string
	var limit int
	cmd := &cobra.Command{
		Use:   "result [UUID]",
		Short: "Show a device's command results (newest first), or one result with its raw plist and decoded form",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				return showResult(cmd.Context(), cmd, g, c, device, args[0])
			}
			var res []api.Result
			p := fmt.Sprintf("/v1/devices/%s/results?limit=%d", url.PathEscape(device), limit)
			if err := c.Do(cmd.Context(), http.MethodGet, p, nil, &res); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), res, func() error {
				t := newTable(cmd.OutOrStdout(), "UUID", "TYPE", "STATUS", "AT", "ERROR")
				for _, r := range res {
					t.row(r.UUID, orDash(r.RequestType), r.Status, fmtTime(&r.At), errorSummary(r.ErrorChain))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "device id")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many results")
	_ = cmd.MarkFlagRequired("device")
	return cmd
}

func showResult(ctx context.Context, cmd *cobra.Command, g *globalFlags, c *api.Client, device, uuid string) error {
	var r api.Result
	p := "/v1/devices/" + url.PathEscape(device) + "/results/" + url.PathEscape(uuid)
	if err := c.Do(ctx, http.MethodGet, p, nil, &r); err != nil {
		return err
	}
	return g.emit(cmd.OutOrStdout(), r, func() error {
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "%s %s: %s at %s\n", r.RequestType, r.UUID, r.Status, fmtTime(&r.At))
		for _, e := range r.ErrorChain {
			fmt.Fprintf(out, "  error %d (%s): %s\n", e.Code, e.Domain, firstNonEmpty(e.USEnglishDescription, e.LocalizedDescription))
		}
		if r.Decoded != nil {
			fmt.Fprintln(out, "decoded:")
			if err := printJSON(out, r.Decoded); err != nil {
				return err
			}
		}
		fmt.Fprintln(out, "raw:")
		_, err := fmt.Fprintln(out, r.RawPlist)
		return err
	})
}

func errorSummary(chain []storage.ErrorChain) string {
	if len(chain) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(chain))
	for _, e := range chain {
		parts = append(parts, fmt.Sprintf("%s %d", e.Domain, e.Code))
	}
	return strings.Join(parts, "; ")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
