package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/bench"
	"github.com/tidemark-mdm/tidemark/server"
)

func newBenchCmd(g *globalFlags) *cobra.Command {
	var o bench.Options
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the server with a fleet of simulated devices",
		Long: `Drive simulated devices over real HTTP and report requests, throughput,
latency percentiles, server CPU per request, peak RSS and database size.

By default the server runs in this process on a temporary data directory;
--child runs it as a separate process so its CPU and memory are its own;
--server measures a running server (its CPU comes from GET /v1/metrics).

Scenarios: enroll, idle, fanout, ddm, campaign.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ServerURL, o.APIKey = g.server, g.apiKey
			if o.ServerURL != "" && o.APIKey == "" {
				key, err := os.ReadFile(filepath.Join(g.dataDir, server.APIKeyFile))
				if err != nil {
					return fmt.Errorf("--server needs --api-key (or %s in --data-dir): %w", server.APIKeyFile, err)
				}
				o.APIKey = strings.TrimSpace(string(key))
			}
			o.Progress = cmd.ErrOrStderr()
			res, err := bench.Run(cmd.Context(), o)
			var unavailable *bench.UnavailableError
			if err != nil && !errors.As(err, &unavailable) {
				return err
			}
			if g.output == "json" {
				if werr := res.WriteJSON(cmd.OutOrStdout()); werr != nil {
					return werr
				}
			} else if werr := res.WriteText(cmd.OutOrStdout()); werr != nil {
				return werr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Scenario, "scenario", "", "enroll, idle, fanout, ddm or campaign")
	f.IntVar(&o.Devices, "devices", 1000, "simulated devices")
	f.IntVar(&o.Workers, "workers", 0, "concurrent device sessions (default 8 per CPU)")
	f.IntVar(&o.Pool, "pool", 0, "keep-alive connections to the server (default: --workers)")
	f.IntVar(&o.Iterations, "iterations", 1, "rounds: connects per device (idle, ddm) or fan-outs (fanout)")
	f.BoolVar(&o.SCEP, "scep", false, "enroll devices through the real SCEP endpoint (slow: meant for small fleets)")
	f.BoolVar(&o.Child, "child", false, "run the server as a child process (tidemark serve) to measure it alone")
	f.StringVar(&o.CADir, "ca-dir", "", "with --server on the same machine: issue identities from the CA in this data directory instead of SCEP")
	f.DurationVar(&o.Timeout, "timeout", 0, "give up after this long (default 30m)")
	_ = cmd.MarkFlagRequired("scenario")
	return cmd
}
