package main

import (
	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/demo"
)

func newDemoCmd() *cobra.Command {
	var o demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch Tidemark bring a simulated fleet to the latest release, in under a minute",
		Long: "Starts an in-process server on a temporary data directory, enrolls a mixed simulated fleet\n" +
			"(Macs, iPhones, iPads; some unsupervised, some without bootstrap token, some with low battery,\n" +
			"stalled downloads or offline), applies a policy to the catalog's latest release, runs simulated\n" +
			"time to the deadline and shows who is compliant and why the others are not.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().IntVar(&o.Devices, "devices", 60, "fleet size")
	return cmd
}
