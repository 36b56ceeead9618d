package main

import (
	"net/http"

	"encoding/json"
	"fmt"
	"github.com/spf13/cobra"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes v indented, the stable machine-readable form.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(headers...)
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		cols[i] = strings.ReplaceAll(c, "\t", " ")
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// emit prints v as JSON, or calls human for the table form.
func (g *globalFlags) emit(w io.Writer, v any, human func() error) error {
	if g.output == "json" {
		return printJSON(w, v)
	}
	return human()
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func fmtBool(b *bool) string {
	if b == nil {
		return "?"
	}
	if *b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// getJSON reads one admin API resource into out: the shape of every
// show-style command.
func (g *globalFlags) getJSON(cmd *cobra.Command, path string, out any) error {
	return g.do(cmd, http.MethodGet, path, nil, out)
}

// do makes one admin API call with the command's context.
func (g *globalFlags) do(cmd *cobra.Command, method, path string, in, out any) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	return c.Do(cmd.Context(), method, path, in, out)
}
