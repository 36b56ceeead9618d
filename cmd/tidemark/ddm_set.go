package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/ddmsvc"
	"github.com/tidemark-mdm/tidemark/storage"
)

func newSetCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "set", Short: "Group declarations into sets and assign sets to devices"}
	cmd.AddCommand(newSetChangeCmd(g, true), newSetChangeCmd(g, false), newSetAssignCmd(g, true), newSetAssignCmd(g, false),
		newSetListCmd(g), newSetShowCmd(g), newSetDeleteCmd(g))
	return cmd
}

func newSetChangeCmd(g *globalFlags, add bool) *cobra.Command {
	use, short, verb := "add SET DECLARATION...", "Add declarations to a set (created if needed)", "add"
	if !add {
		use, short, verb = "remove SET DECLARATION...", "Remove declarations from a set", "remove"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var set storage.DeclarationSet
			path := "/v1/sets/" + url.PathEscape(args[0]) + "/" + verb
			if err := g.do(cmd, http.MethodPost, path, ddmsvc.SetChange{Declarations: args[1:]}, &set); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), set, func() error { return printSet(cmd, &set) })
		},
	}
}

func newSetAssignCmd(g *globalFlags, assign bool) *cobra.Command {
	var t targetFlags
	use, short, verb := "assign SET", "Assign a set to devices", "assign"
	if !assign {
		use, short, verb = "unassign SET", "Remove a set from devices (--all: from every device it is assigned to)", "unassign"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if t.all == (len(t.devices) > 0) {
				return fmt.Errorf("give --device ID or --all")
			}
			var res ddmsvc.AssignResult
			path := "/v1/sets/" + url.PathEscape(args[0]) + "/" + verb
			if err := g.do(cmd, http.MethodPost, path, ddmsvc.AssignRequest{Devices: t.devices, All: t.all}, &res); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), res, func() error {
				fmt.Fprintf(cmd.OutOrStdout(), "%sed %s: %d device(s) changed\n", verb, res.Set, len(res.Changed))
				return nil
			})
		},
	}
	t.add(cmd)
	return cmd
}

func newSetListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List sets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var sets []storage.DeclarationSet
			if err := g.getJSON(cmd, "/v1/sets", &sets); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), sets, func() error {
				t := newTable(cmd.OutOrStdout(), "SET", "DECLARATIONS", "DEVICES", "UPDATED")
				for _, s := range sets {
					t.row(s.Name, orDash(strings.Join(s.Declarations, ",")), strconv.Itoa(s.DeviceCount), fmtTime(&s.UpdatedAt))
				}
				return t.flush()
			})
		},
	}
}

func newSetShowCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show SET",
		Short: "Show a set's declarations and devices",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var set storage.DeclarationSet
			if err := g.getJSON(cmd, "/v1/sets/"+url.PathEscape(args[0]), &set); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), set, func() error { return printSet(cmd, &set) })
		},
	}
}

func newSetDeleteCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete SET",
		Short: "Delete a set and its assignments",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.do(cmd, http.MethodDelete, "/v1/sets/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), map[string]string{"deleted": args[0]}, func() error {
				fmt.Fprintf(cmd.OutOrStdout(), "deleted set %s\n", args[0])
				return nil
			})
		},
	}
}

func printSet(cmd *cobra.Command, s *storage.DeclarationSet) error {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "Set:          %s\nUpdated:      %s\nDevices:      %d\n", s.Name, fmtTime(&s.UpdatedAt), s.DeviceCount)
	t := newTable(w, "DECLARATION")
	for _, d := range s.Declarations {
		t.row(d)
	}
	return t.flush()
}
