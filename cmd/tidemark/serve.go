package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/enforcement"
	"github.com/tidemark-mdm/tidemark/policysvc"
	"github.com/tidemark-mdm/tidemark/server"
)

func newServeCmd(g *globalFlags) *cobra.Command {
	var cfg server.Config
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Tidemark server (MDM, SCEP, admin API) on its embedded defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg.DataDir, cfg.Logger = g.dataDir, log
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", srv.Config().Listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", srv.Config().Listen, err)
			}
			if err := srv.WriteAddressFile(ln.Addr()); err != nil {
				return err
			}
			printStartup(cmd, srv, ln.Addr())
			return srv.Serve(cmd.Context(), ln)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", server.DefaultListen, "address to listen on")
	f.StringVar(&cfg.PublicURL, "public-url", "", "URL devices use to reach this server (default: derived from --listen)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "private key of --tls-cert (PEM)")
	f.StringVar(&cfg.StaticChallenge, "challenge", "", "static SCEP challenge (default: one-time challenges only)")
	f.DurationVar(&cfg.CertValidity, "cert-validity", server.DefaultCertValidity, "validity of issued device certificates")
	f.StringVar(&cfg.TrustedProxyHeader, "trusted-proxy-cert-header", "", "accept the device certificate from this header set by a TLS-terminating proxy you trust (off by default)")
	f.IntVar(&cfg.MaxResults, "max-results", 100, "command results kept per device")
	f.IntVar(&cfg.MaxEvents, "max-events", 200, "events kept per device")
	f.StringVar(&cfg.APNsEndpoint, "apns-endpoint", "", "APNs endpoint (default: Apple's production service)")
	f.DurationVar(&cfg.LockTimeout, "lock-timeout", server.DefaultLockTimeout, "how long to wait for the database lock")
	f.StringVar(&cfg.CatalogURL, "catalog-url", enforcement.DefaultCatalogURL, "download Apple's release catalog from this URL on a schedule (empty: import only, with tidemark catalog import)")
	f.DurationVar(&cfg.CatalogInterval, "catalog-interval", policysvc.DefaultCatalogInterval, "how often to download the release catalog")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json")
}

func printStartup(cmd *cobra.Command, srv *server.Server, addr net.Addr) {
	cfg := srv.Config()
	out := cmd.OutOrStdout()
	w := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	w("Tidemark %s is running.", version)
	w("  listening on      %s (%s)", addr, map[bool]string{true: "HTTPS", false: "plain HTTP"}[cfg.TLSCert != ""])
	w("  public URL        %s", cfg.PublicURL)
	w("  MDM / check-in    %s/mdm, %s/mdm/checkin", cfg.PublicURL, cfg.PublicURL)
	w("  SCEP              %s/scep", cfg.PublicURL)
	w("  admin API         %s://%s/v1/ (bearer key in %s)", map[bool]string{true: "https", false: "http"}[cfg.TLSCert != ""], addr, filepath.Join(cfg.DataDir, server.APIKeyFile))
	w("  data directory    %s", cfg.DataDir)
	if srv.APIKeyCreated {
		w("")
		w("A new admin API key was generated (shown once; it is also saved in %s):", filepath.Join(cfg.DataDir, server.APIKeyFile))
		w("  %s", srv.APIKey())
	}
	w("")
	w("Enrollment profile:  tidemark enroll-profile -O enroll.mobileconfig   (add --one-time for a single-use challenge)")
	if !strings.HasPrefix(cfg.PublicURL, "https://") {
		w("Note: Apple devices only enroll over HTTPS. Put a TLS proxy in front and pass --public-url https://…,")
		w("      or serve TLS directly with --tls-cert/--tls-key.")
	}
	if !srv.PushEnabled() {
		w("Push notifications are off: no APNs certificate yet (tidemark push-cert upload --cert F --key F).")
	}
	w("Started %s.", time.Now().Format(time.RFC3339))
}
