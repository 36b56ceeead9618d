package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/ddmsvc"
)

func newDeclarationCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "declaration", Short: "Store, list, show and delete DDM declarations"}
	cmd.AddCommand(newDeclarationPutCmd(g), newDeclarationListCmd(g), newDeclarationShowCmd(g), newDeclarationDeleteCmd(g))
	return cmd
}

func newDeclarationPutCmd(g *globalFlags) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "put -f FILE",
		Short: "Validate and store a declaration (the JSON a device receives); - reads stdin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readDeclarationFile(cmd, file)
			if err != nil {
				return err
			}
			if !json.Valid(raw) {
				return fmt.Errorf("%s is not valid JSON", file)
			}
			var res ddmsvc.PutDeclarationResult
			if err := g.do(cmd, http.MethodPut, "/v1/declarations", json.RawMessage(raw), &res); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), res, func() error {
				verb := "unchanged"
				if res.Changed {
					verb = "stored"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%s), server token %s\n", verb, res.Declaration.Identifier,
					res.Declaration.Type, res.Declaration.ServerToken)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "declaration JSON file (- for stdin)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func readDeclarationFile(cmd *cobra.Command, file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), ddmsvc.MaxDeclarationBytes+1))
	}
	return os.ReadFile(file)
}

func newDeclarationListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List declarations with the sets holding them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out []ddmsvc.DeclarationView
			if err := g.getJSON(cmd, "/v1/declarations", &out); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), out, func() error {
				t := newTable(cmd.OutOrStdout(), "IDENTIFIER", "TYPE", "SERVER TOKEN", "SETS", "UPDATED")
				for _, d := range out {
					t.row(d.Identifier, d.Type, d.ServerToken, orDash(strings.Join(d.Sets, ",")), fmtTime(&d.UpdatedAt))
				}
				if err := t.flush(); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d declaration(s)\n", len(out))
				return nil
			})
		},
	}
}

func newDeclarationShowCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a declaration, its payload and what uses it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d ddmsvc.DeclarationView
			if err := g.getJSON(cmd, "/v1/declarations/"+url.PathEscape(args[0]), &d); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), d, func() error {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Identifier:    %s\nType:          %s\nServer token:  %s\nUpdated:       %s\n",
					d.Identifier, d.Type, d.ServerToken, fmtTime(&d.UpdatedAt))
				fmt.Fprintf(w, "Sets:          %s\nReferenced by: %s\nPayload:\n",
					orDash(strings.Join(d.Sets, ", ")), orDash(strings.Join(d.ReferencedBy, ", ")))
				return printJSON(w, d.Payload)
			})
		},
	}
}

func newDeclarationDeleteCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a declaration no set or activation uses",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.do(cmd, http.MethodDelete, "/v1/declarations/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), map[string]string{"deleted": args[0]}, func() error {
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
				return nil
			})
		},
	}
}
