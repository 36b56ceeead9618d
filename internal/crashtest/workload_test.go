//go:build crash

package crashtest_test

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/micromdm/plist"

	"github.com/tidemark-mdm/tidemark/api"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/sim"
)

// adminWriter enqueues commands to random devices until ctx ends: typed
// DeviceInformation (results update facts) and raw ProfileList.
func adminWriter(ctx context.Context, client *api.Client, ids []string, round int, l *ledger, rng *mrand.Rand) {
	for k := 0; ctx.Err() == nil; k++ {
		uuid := fmt.Sprintf("CRASH-%02d-%05d", round, k)
		targets := pick(rng, ids)
		req := api.EnqueueRequest{Devices: targets, UUID: uuid, Type: mdm.RequestDeviceInformation,
			Params: map[string]any{"queries": []string{"OSVersion", "BuildVersion", "SerialNumber"}}}
		if k%3 == 2 {
			req = api.EnqueueRequest{Devices: targets, Raw: profileListCommand(uuid)}
		}
		if _, err := client.Enqueue(ctx, req); err == nil {
			l.ackEnqueue(uuid, targets)
		}
		sleep(ctx, time.Duration(1+rng.IntN(6))*time.Millisecond)
	}
}

func pick(rng *mrand.Rand, ids []string) []string {
	perm := rng.Perm(len(ids))
	out := make([]string, 0, len(ids))
	for _, i := range perm[:1+rng.IntN(len(ids))] {
		out = append(out, ids[i])
	}
	return out
}

func profileListCommand(uuid string) string {
	b, _ := plist.MarshalIndent(map[string]any{"CommandUUID": uuid,
		"Command": map[string]any{"RequestType": "ProfileList"}}, "\t")
	return string(b)
}

// deviceWriter connects like a device after a push: Idle, answer every
// command, record each report the server accepted; now and then it
// escrows a new bootstrap token or sends a DDM status report.
func deviceWriter(ctx context.Context, d *sim.Device, l *ledger, ddm bool, rng *mrand.Rand) {
	idle := encode(map[string]any{"UDID": d.UDID(), "Status": "Idle"})
	for ctx.Err() == nil {
		if rng.IntN(5) == 0 {
			token := make([]byte, 48)
			_, _ = rand.Read(token)
			ack := l.attemptBootstrap(d.UDID(), token)
			if d.SetBootstrapToken(ctx, token) == nil {
				ack()
			}
		}
		resp, err := d.Report(ctx, idle, sim.SignOptions{})
		for err == nil && resp.IsOK() && len(resp.Body) > 0 && ctx.Err() == nil {
			uuid, body := answer(d, resp.Body)
			if resp, err = d.Report(ctx, body, sim.SignOptions{}); err == nil && resp.IsOK() {
				l.ackResult(d.UDID(), uuid, mdm.StatusAcknowledged)
			}
		}
		if ddm {
			_, _ = d.Declarative(ctx, "status", []byte(`{"StatusItems":{"device":{"identifier":{"udid":"`+d.UDID()+`"}}},"Errors":[]}`))
		}
		sleep(ctx, time.Duration(2+rng.IntN(8))*time.Millisecond)
	}
}

// answer acknowledges a delivered command; DeviceInformation carries the
// facts the server stores with the result.
func answer(d *sim.Device, raw []byte) (string, []byte) {
	var env struct {
		CommandUUID string `plist:"CommandUUID"`
		Command     struct {
			RequestType string `plist:"RequestType"`
		} `plist:"Command"`
	}
	_ = mdm.DecodePlist(raw, &env)
	report := map[string]any{"UDID": d.UDID(), "Status": mdm.StatusAcknowledged, "CommandUUID": env.CommandUUID}
	a := d.Attributes()
	switch env.Command.RequestType {
	case mdm.RequestDeviceInformation:
		report["QueryResponses"] = map[string]any{"OSVersion": a.OSVersion, "BuildVersion": a.BuildVersion,
			"SerialNumber": a.SerialNumber}
	case "ProfileList":
		report["ProfileList"] = []any{}
	}
	return env.CommandUUID, encode(report)
}

func encode(v any) []byte {
	b, err := plist.MarshalIndent(v, "\t")
	if err != nil {
		panic(err)
	}
	return b
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
