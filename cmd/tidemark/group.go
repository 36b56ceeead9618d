package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/storage"
)

func newGroupCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Device groups: labels that policies scope to"}
	cmd.AddCommand(newGroupMemberCmd(g, true), newGroupMemberCmd(g, false))
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List groups with their member counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var groups []storage.GroupCount
			if err := g.getJSON(cmd, "/v1/groups", &groups); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), groups, func() error { return printGroups(cmd.OutOrStdout(), groups) })
		},
	}, &cobra.Command{
		Use:   "show GROUP",
		Short: "List the devices in a group",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var m policysvc.GroupMembers
			if err := g.getJSON(cmd, "/v1/groups/"+url.PathEscape(args[0]), &m); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), m, func() error {
				for _, id := range m.Members {
					fmt.Fprintln(cmd.OutOrStdout(), id)
				}
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%d device(s) in %s\n", len(m.Members), m.Name)
				return err
			})
		},
	})
	return cmd
}

func newGroupMemberCmd(g *globalFlags, add bool) *cobra.Command {
	name, short, method := "add", "Add a device to a group", http.MethodPut
	if !add {
		name, short, method = "remove", "Remove a device from a group", http.MethodDelete
	}
	return &cobra.Command{
		Use:   name + " DEVICE GROUP",
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res policysvc.DeviceGroups
			path := "/v1/devices/" + url.PathEscape(args[0]) + "/groups/" + url.PathEscape(args[1])
			if err := g.do(cmd, method, path, nil, &res); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), res, func() error { return printMembership(cmd.OutOrStdout(), res) })
		},
	}
}

func printMembership(w io.Writer, r policysvc.DeviceGroups) error {
	verb := map[bool]string{true: "added to", false: "removed from"}[r.Member]
	if !r.Changed {
		verb = map[bool]string{true: "already in", false: "was not in"}[r.Member]
	}
	_, err := fmt.Fprintf(w, "%s %s %s (groups: %s)\n", r.DeviceID, verb, r.Group, orDash(strings.Join(r.Groups, ", ")))
	return err
}

func printGroups(w io.Writer, groups []storage.GroupCount) error {
	t := newTable(w, "GROUP", "DEVICES")
	for _, gc := range groups {
		t.row(gc.Name, strconv.Itoa(gc.Members))
	}
	return t.flush()
}
