package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/enrollment"
)

const minOSPath = "/v1/enrollment/min-os"

func newEnrollmentCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "enrollment", Short: "What enrolling devices must meet before they receive the profile"}
	minOS := &cobra.Command{Use: "min-os", Short: "Minimum OS at enrollment: devices below it update in Setup Assistant first"}
	minOS.AddCommand(newMinOSShowCmd(g), newMinOSSetCmd(g))
	cmd.AddCommand(minOS)
	return cmd
}

func newMinOSShowCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Show the minimum-OS rules, in the order they are tried",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var v enrollment.SettingsView
			if err := g.getJSON(cmd, minOSPath, &v); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), v, func() error { return printMinOS(cmd.OutOrStdout(), v) })
		},
	}
}

type minOSSetFlags struct {
	rules         []string
	file          string
	clear         bool
	allowUnsigned bool
}

func newMinOSSetCmd(g *globalFlags) *cobra.Command {
	f := &minOSSetFlags{}
	cmd := &cobra.Command{
		Use:   "set [--rule SPEC]... | -f FILE | --clear",
		Short: "Replace the minimum-OS rules (the first rule matching a device decides)",
		Long: "Rules given with --rule (or a JSON file with -f, the format `min-os show -o json` prints)\n" +
			"replace the stored list; --clear removes every rule. Without any of them the rules are kept\n" +
			"and only --allow-unsigned-machine-info changes.\n\nRule syntax: " + enrollment.RuleSpecHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMinOSSet(cmd, g, f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.rules, "rule", nil, "a rule, PLATFORM:REQUIREMENT[:KEY=VALUE...] (repeat, in order)")
	fl.StringVarP(&f.file, "file", "f", "", "JSON settings file (- reads standard input)")
	fl.BoolVar(&f.clear, "clear", false, "remove every rule: all devices enroll as they are")
	fl.BoolVar(&f.allowUnsigned, "allow-unsigned-machine-info", false, "accept a plain XML MachineInfo (tests and manual clients only)")
	return cmd
}

func runMinOSSet(cmd *cobra.Command, g *globalFlags, f *minOSSetFlags) error {
	sources := 0
	for _, given := range []bool{len(f.rules) > 0, f.file != "", f.clear} {
		if given {
			sources++
		}
	}
	if sources > 1 {
		return errors.New("give rules with --rule, -f or --clear, not several")
	}
	if sources == 0 && !cmd.Flags().Changed("allow-unsigned-machine-info") {
		return errors.New("nothing to set: give --rule, -f, --clear or --allow-unsigned-machine-info")
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	var current enrollment.SettingsView
	if err := c.Do(cmd.Context(), http.MethodGet, minOSPath, nil, &current); err != nil {
		return err
	}
	next, err := nextSettings(cmd, f, current.Settings)
	if err != nil {
		return err
	}
	var saved enrollment.SettingsView
	if err := c.Do(cmd.Context(), http.MethodPut, minOSPath, next, &saved); err != nil {
		return err
	}
	return g.emit(cmd.OutOrStdout(), saved, func() error { return printMinOS(cmd.OutOrStdout(), saved) })
}

// nextSettings builds the document to store from the flags and what is
// stored now.
func nextSettings(cmd *cobra.Command, f *minOSSetFlags, current enrollment.Settings) (enrollment.Settings, error) {
	next := enrollment.Settings{Rules: current.Rules, AllowUnsigned: current.AllowUnsigned}
	switch {
	case f.clear:
		next.Rules = []enrollment.MinOSRule{}
	case f.file != "":
		raw, err := readInput(cmd, f.file)
		if err != nil {
			return next, err
		}
		var fromFile enrollment.Settings
		if err := json.Unmarshal(raw, &fromFile); err != nil {
			return next, fmt.Errorf("%s: %w", f.file, err)
		}
		next = fromFile
	case len(f.rules) > 0:
		next.Rules = nil
		for _, spec := range f.rules {
			r, err := enrollment.ParseRuleSpec(spec)
			if err != nil {
				return next, err
			}
			next.Rules = append(next.Rules, r)
		}
	}
	if cmd.Flags().Changed("allow-unsigned-machine-info") {
		next.AllowUnsigned = f.allowUnsigned
	}
	return next, nil
}

func printMinOS(w io.Writer, v enrollment.SettingsView) error {
	if len(v.Rules) == 0 {
		fmt.Fprintln(w, "no minimum-OS rules: every device enrolls as it is")
	} else {
		t := newTable(w, "#", "NAME", "PLATFORM", "REQUIRES", "DEVICE IDS", "MODELS")
		for i, r := range v.Rules {
			t.row(strconv.Itoa(i+1), orDash(r.Name), r.Platform, r.Requirement(),
				orDash(strings.Join(r.DeviceIDs, " ")), orDash(strings.Join(r.Models, " ")))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	unsigned := "refused"
	if v.AllowUnsigned {
		unsigned = "accepted"
	}
	fmt.Fprintf(w, "unsigned MachineInfo: %s\n", unsigned)
	for _, warn := range v.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}
