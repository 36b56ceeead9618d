package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/storage"
)

func newEnrollProfileCmd(g *globalFlags) *cobra.Command {
	var out string
	var oneTime bool
	cmd := &cobra.Command{
		Use:   "enroll-profile",
		Short: "Write the enrollment profile (.mobileconfig) devices install to enroll",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			p, err := c.EnrollmentProfile(cmd.Context(), oneTime)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(p)
				return err
			}
			if err := os.WriteFile(out, p, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (%d bytes)\n", out, len(p))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "O", "", "write to this file instead of standard output")
	cmd.Flags().BoolVar(&oneTime, "one-time", false, "embed a new single-use SCEP challenge")
	return cmd
}

func newChallengeCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "challenge", Short: "One-time SCEP enrollment challenges"}
	var ttl time.Duration
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a single-use SCEP challenge",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ch, err := c.NewChallenge(cmd.Context(), ttl)
			if err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), ch, func() error {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s (expires %s)\n", ch.Challenge, ch.Expires.Local().Format(time.RFC3339))
				return err
			})
		},
	}
	create.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "how long the challenge stays valid")
	cmd.AddCommand(create)
	return cmd
}

func newPushCertCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "push-cert", Short: "The APNs push certificate"}
	var certFile, keyFile string
	var force bool
	upload := &cobra.Command{
		Use:   "upload",
		Short: "Upload the APNs MDM push certificate and its key (PEM); takes effect at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			certPEM, err := os.ReadFile(certFile)
			if err != nil {
				return err
			}
			keyPEM, err := os.ReadFile(keyFile)
			if err != nil {
				return err
			}
			var info api.PushCertInfo
			req := api.PushCertUpload{CertPEM: string(certPEM), KeyPEM: string(keyPEM), Force: force}
			if err := g.do(cmd, http.MethodPut, "/v1/push-cert", req, &info); err != nil {
				return err
			}
			return printPushInfo(cmd, g, info)
		},
	}
	upload.Flags().StringVar(&certFile, "cert", "", "certificate file (PEM)")
	upload.Flags().StringVar(&keyFile, "key", "", "private key file (PEM)")
	upload.Flags().BoolVar(&force, "force", false, "accept a topic different from the enrolled devices' (they must re-enroll)")
	_ = upload.MarkFlagRequired("cert")
	_ = upload.MarkFlagRequired("key")
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the configured push certificate",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var info api.PushCertInfo
			if err := g.getJSON(cmd, "/v1/push-cert", &info); err != nil {
				return err
			}
			return printPushInfo(cmd, g, info)
		},
	}
	cmd.AddCommand(upload, show)
	return cmd
}

func printPushInfo(cmd *cobra.Command, g *globalFlags, info api.PushCertInfo) error {
	return g.emit(cmd.OutOrStdout(), info, func() error {
		if !info.Configured {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "no push certificate: pushes are off")
			return err
		}
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "topic %s, expires %s (%s)\n", info.Topic,
			info.NotAfter.Local().Format("2006-01-02"), info.Subject)
		return err
	})
}

func newEventsCmd(g *globalFlags) *cobra.Command {
	var device string
	var limit int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show a device's (or the server's) recent events, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/v1/events?limit=" + strconv.Itoa(limit)
			if device != "" {
				p = "/v1/devices/" + url.PathEscape(device) + "/events?limit=" + strconv.Itoa(limit)
			}
			var ev []storage.Event
			if err := g.getJSON(cmd, p, &ev); err != nil {
				return err
			}
			return g.emit(cmd.OutOrStdout(), ev, func() error {
				t := newTable(cmd.OutOrStdout(), "AT", "DEVICE", "KIND", "MESSAGE")
				for _, e := range ev {
					t.row(fmtTime(&e.At), orDash(e.DeviceID), e.Kind, e.Message)
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "device id (default: server events)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many events")
	return cmd
}
