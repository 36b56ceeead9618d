package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/server"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type globalFlags struct {
	server  string
	apiKey  string
	dataDir string
	output  string
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "tidemark",
		Short:         "Tidemark keeps Apple devices on the OS versions you choose, by the deadlines you set",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd); err != nil {
				return err
			}
			if g.output != "table" && g.output != "json" {
				return fmt.Errorf("--output must be table or json")
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", "", "admin API URL (default: the local server of --data-dir)")
	pf.StringVar(&g.apiKey, "api-key", "", "admin API key (default: read from <data-dir>/api.key)")
	pf.StringVar(&g.dataDir, "data-dir", server.DefaultDataDir, "data directory")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(newServeCmd(g), newVersionCmd(), newDeviceCmd(g), newCommandCmd(g),
		newEnrollProfileCmd(g), newStatusCmd(g), newChallengeCmd(g), newPushCertCmd(g), newEventsCmd(g), newOSUpdatesCmd(g), newCatalogCmd(g), newPolicyCmd(g), newGroupCmd(g), newBenchCmd(g),
		newDeclarationCmd(g), newSetCmd(g), newDDMCmd(g), newEnrollmentCmd(g), newDemoCmd(), newForecastCmd(g))
	return root
}

// applyEnv sets every flag not given on the command line from
// TIDEMARK_<FLAG_NAME> (dashes become underscores).
func applyEnv(cmd *cobra.Command) error {
	var firstErr error
	set := func(f *pflag.Flag) {
		if f.Changed || firstErr != nil {
			return
		}
		name := "TIDEMARK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil {
				firstErr = fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	cmd.Flags().VisitAll(set)
	cmd.InheritedFlags().VisitAll(set)
	return firstErr
}

// client builds the admin API client. Without --server it reaches the
// local server of --data-dir with its api.key, so on the server's machine
// commands just work: the database itself is locked by the server.
func (g *globalFlags) client() (*api.Client, error) {
	base, key := g.server, g.apiKey
	if key == "" {
		b, err := os.ReadFile(filepath.Join(g.dataDir, server.APIKeyFile))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("no --api-key given and no %s in %s: start the server first (tidemark serve) or pass --server and --api-key",
					server.APIKeyFile, g.dataDir)
			}
			return nil, err
		}
		key = strings.TrimSpace(string(b))
	}
	if base == "" {
		b, err := os.ReadFile(filepath.Join(g.dataDir, server.AddressFile))
		if err != nil {
			base = "http://" + server.DefaultListen
		} else {
			base = strings.TrimSpace(string(b))
		}
	}
	return api.NewClient(base, key, nil), nil
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "tidemark", version)
		},
	}
}
