package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/policysvc"
)

func newCatalogCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Apple's release catalog: which OS versions each model can install, and until when"}
	cmd.AddCommand(newCatalogImportCmd(g), newCatalogShowCmd(g), newCatalogFetchCmd(g))
	return cmd
}

func newCatalogImportCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Import Apple's Software Lookup Service JSON (gdmf.apple.com/v2/pmv) from a file; - reads standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			if !json.Valid(raw) {
				return fmt.Errorf("%s is not JSON: expected Apple's pmv document", args[0])
			}
			var change policysvc.CatalogChange
			path := "/v1/catalog?source=" + url.QueryEscape("file:"+filepath.Base(args[0]))
			if err := g.do(cmd, http.MethodPost, path, json.RawMessage(raw), &change); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), change, func() error { return printCatalogChange(cmd.OutOrStdout(), change) })
		},
	}
}

func newCatalogShowCmd(g *globalFlags) *cobra.Command {
	var platform string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the current catalog: releases per platform with dates, device counts and flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var sum policysvc.CatalogSummary
			path := "/v1/catalog"
			if platform != "" {
				path += "?platform=" + url.QueryEscape(platform)
			}
			if err := g.getJSON(cmd, path, &sum); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), sum, func() error { return printCatalog(cmd.OutOrStdout(), sum) })
		},
	}
	show.Flags().StringVar(&platform, "platform", "", "only this platform: macOS, iOS, iPadOS, visionOS")
	return show
}

func newCatalogFetchCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "fetch",
		Short: "Download the catalog from the server's --catalog-url now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var change policysvc.CatalogChange
			if err := g.do(cmd, http.MethodPost, "/v1/catalog/fetch", nil, &change); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), change, func() error { return printCatalogChange(cmd.OutOrStdout(), change) })
		},
	}
}

// readInput reads a file, or standard input for "-".
func readInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(name)
}

func printCatalogChange(w io.Writer, c policysvc.CatalogChange) error {
	state := "unchanged"
	if c.Changed {
		state = "updated"
	}
	fmt.Fprintf(w, "release catalog %s: %d releases from %s (fingerprint %.12s)\n", state, c.Releases, c.Source, c.Fingerprint)
	for _, line := range c.Added {
		fmt.Fprintf(w, "  new   %s\n", line)
	}
	for _, line := range c.Removed {
		fmt.Fprintf(w, "  gone  %s\n", line)
	}
	for _, line := range c.Warnings {
		fmt.Fprintf(w, "  skipped entry: %s\n", line)
	}
	return nil
}

func printCatalog(w io.Writer, sum policysvc.CatalogSummary) error {
	if !sum.Loaded {
		fmt.Fprintln(w, "No release catalog yet: tidemark catalog import FILE, or start the server with --catalog-url.")
	} else {
		fmt.Fprintf(w, "source %s, loaded %s, last confirmed %s, fingerprint %.12s\n",
			sum.Source, fmtTime(sum.LoadedAt), fmtTime(sum.CheckedAt), sum.Fingerprint)
	}
	if f := sum.Fetch; f != nil {
		status := "ok"
		if f.LastError != "" {
			status = "failing: " + f.LastError
		}
		fmt.Fprintf(w, "download from %s every %s, last attempt %s: %s\n", f.URL, f.Interval, fmtTime(f.LastAttempt), status)
	}
	if !sum.Loaded {
		return nil
	}
	t := newTable(w, "PLATFORM", "VERSION", "BUILD", "KIND", "POSTED", "EXPIRES", "DEVICES", "FLAGS")
	for _, p := range sum.Platforms {
		for _, r := range p.Releases {
			devices := strconv.Itoa(r.DeviceCount)
			if r.DeviceCount == 0 {
				devices = "-"
			}
			t.row(p.Platform, r.Version, r.Build, string(r.Kind), orDash(r.Posted), orDash(r.Expires), devices,
				orDash(strings.Join(r.Flags, ",")))
		}
	}
	return t.flush()
}
