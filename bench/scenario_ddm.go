package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidemark-mdm/tidemark/ddm"
)

// ddm: every device syncs declarations as a device does after a push:
// tokens, declaration-items, each declaration, then a status report
// (measured as two fleet-wide passes: reads, then status reports).
// Set-up reads each device's manifest once so every request can be signed
// before the measured phase.
var ddmScenario = scenario{
	setup: func(ctx context.Context, e *env) error {
		if err := e.enrolledFleet(ctx); err != nil {
			return err
		}
		if err := e.probeDDM(ctx); err != nil {
			return err
		}
		f := e.fleet
		e.pre.ddm = make([][]signedRequest, len(f.devices))
		err := forEach(ctx, e.o.Workers, len(f.devices), func(ctx context.Context, i int) error {
			var err error
			e.pre.ddm[i], err = e.ddmSession(ctx, &f.devices[i])
			return err
		})
		if err != nil {
			return err
		}
		e.res.Extra["ddm_requests_per_device"] = len(e.pre.ddm[0])
		return nil
	},
	measure: measureDDM,
}

// measureDDM sends the fleet's reads (tokens, declaration-items,
// declarations) and then its status reports, so the server's cost of each
// is reported on its own.
func measureDDM(ctx context.Context, e *env) error {
	n := len(e.pre.ddm)
	part := func(last bool) func(ctx context.Context, j int) {
		return func(ctx context.Context, j int) {
			seq := e.pre.ddm[j%n]
			if last {
				seq = seq[len(seq)-1:]
			} else {
				seq = seq[:len(seq)-1]
			}
			for k := range seq {
				if _, ok := e.step(ctx, &seq[k]); !ok {
					return
				}
			}
		}
	}
	if err := e.subPhase(ctx, "ddm_read", n*e.o.Iterations, part(false)); err != nil {
		return err
	}
	return e.subPhase(ctx, "ddm_status", n*e.o.Iterations, part(true))
}

// probeDDM asks for one device's tokens; a server without the DDM service
// refuses DeclarativeManagement check-ins.
func (e *env) probeDDM(ctx context.Context) error {
	d := &e.fleet.devices[0]
	r, err := e.fleet.sign(d, true, declarativeBody(d.udid, "tokens", nil))
	if err != nil {
		return err
	}
	status, body, err := r.send(ctx, e.hc)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return &UnavailableError{Scenario: ScenarioDDM, Reason: fmt.Sprintf(
			"the server answers DeclarativeManagement check-ins with HTTP %d (%s)", status, strings.TrimSpace(string(body)))}
	}
	return nil
}

// ddmSession fetches d's manifest and signs its whole sync sequence.
func (e *env) ddmSession(ctx context.Context, d *device) ([]signedRequest, error) {
	f := e.fleet
	items, err := f.sign(d, true, declarativeBody(d.udid, "declaration-items", nil))
	if err != nil {
		return nil, err
	}
	body, err := items.expectOK(ctx, e.hc)
	if err != nil {
		return nil, fmt.Errorf("declaration-items of %s: %w", d.udid, err)
	}
	var manifest ddm.DeclarationItemsResponse
	if err := json.Unmarshal(body, &manifest); err != nil {
		return nil, fmt.Errorf("declaration-items of %s: %w", d.udid, err)
	}
	tokens, err := f.sign(d, true, declarativeBody(d.udid, "tokens", nil))
	if err != nil {
		return nil, err
	}
	seq := []signedRequest{tokens, items}
	for _, ep := range declarationEndpoints(manifest.Declarations) {
		r, err := f.sign(d, true, declarativeBody(d.udid, ep, nil))
		if err != nil {
			return nil, err
		}
		seq = append(seq, r)
	}
	status, err := f.sign(d, true, declarativeBody(d.udid, "status", statusReport(d, manifest.Declarations)))
	return append(seq, status), err
}

func declarationEndpoints(m ddm.ManifestDeclarations) []string {
	var out []string
	add := func(class string, items []ddm.DeclarationItem) {
		for _, it := range items {
			out = append(out, "declaration/"+class+"/"+url.PathEscape(it.Identifier))
		}
	}
	add("activation", m.Activations)
	add("configuration", m.Configurations)
	add("asset", m.Assets)
	add("management", m.Management)
	return out
}

// statusReport is the full report a device sends after applying the
// manifest: every declaration active and valid, and its identity items.
func statusReport(d *device, m ddm.ManifestDeclarations) []byte {
	p := profileOf(d.index)
	family := "macOS"
	if !strings.HasPrefix(p.product, "Mac") {
		family = "iOS"
	}
	decl := func(items []ddm.DeclarationItem) []map[string]any {
		out := []map[string]any{}
		for _, it := range items {
			out = append(out, map[string]any{"identifier": it.Identifier, "server-token": it.ServerToken,
				"active": true, "valid": "valid"})
		}
		return out
	}
	report := map[string]any{
		"StatusItems": map[string]any{
			"device": map[string]any{
				"identifier":       map[string]any{"udid": d.udid, "serial-number": p.serial},
				"model":            map[string]any{"identifier": p.product},
				"operating-system": map[string]any{"family": family, "version": p.os, "build-version": p.build},
			},
			"management": map[string]any{"declarations": map[string]any{
				"activations": decl(m.Activations), "configurations": decl(m.Configurations),
				"assets": decl(m.Assets), "management": decl(m.Management),
			}},
		},
		"Errors":     []any{},
		"FullReport": true,
	}
	b, _ := json.Marshal(report) // maps of strings and bools always encode
	return b
}
