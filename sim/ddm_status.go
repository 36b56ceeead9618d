package sim

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
)

// heartbeat is how often a device reports its subscribed items even when
// nothing changed (Apple: on change and every 24 hours).
const heartbeat = 24 * time.Hour

// sendStatus reports the subscribed items that changed since the last
// report; the first report is full. Nothing changed: nothing is sent,
// unless a day has passed since the last report, when all items are.
func (a *DDM) sendStatus(ctx context.Context) error {
	full := len(a.sent) == 0
	if !full && !a.sentAt.IsZero() && a.clock.Sub(a.sentAt) >= heartbeat && !a.anyChanged() {
		full = true
	}
	changed := map[string]any{}
	encoded := map[string]string{}
	for name, v := range a.items() {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if full || a.sent[name] != string(b) {
			changed[name], encoded[name] = v, string(b)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	doc := map[string]any{"StatusItems": nest(changed), "Errors": []any{}}
	if full {
		doc["FullReport"] = true
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if _, err := a.d.Declarative(ctx, "status", body); err != nil {
		return err
	}
	maps.Copy(a.sent, encoded)
	a.reports = append(a.reports, body)
	a.sentAt = a.clock
	return nil
}

// anyChanged reports whether an item differs from what was last sent.
func (a *DDM) anyChanged() bool {
	for name, v := range a.items() {
		b, err := json.Marshal(v)
		if err != nil || a.sent[name] != string(b) {
			return true
		}
	}
	return false
}

// nest turns dotted item names into the nested objects of a report.
func nest(items map[string]any) map[string]any {
	root := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(items)) {
		parts := strings.Split(name, ".")
		node := root
		for _, p := range parts[:len(parts)-1] {
			child, ok := node[p].(map[string]any)
			if !ok {
				child = map[string]any{}
				node[p] = child
			}
			node = child
		}
		node[parts[len(parts)-1]] = items[name]
	}
	return root
}

// subscribed lists the items the active status subscriptions ask for;
// management.declarations is always reported after a sync.
func (a *DDM) subscribed() map[string]bool {
	out := map[string]bool{ddm.ItemDeclarations: true}
	for _, h := range a.decls {
		var subs ddm.StatusSubscriptions
		if !h.active || h.decl.Type != ddm.TypeStatusSubscriptions || h.decl.DecodePayload(&subs) != nil {
			continue
		}
		for _, it := range subs.StatusItems {
			out[it.Name] = true
		}
	}
	return out
}

// items is the current value of every subscribed item the device knows.
func (a *DDM) items() map[string]any {
	at := a.d.Attributes()
	pending := map[string]any{"os-version": "", "build-version": ""}
	if a.job != nil {
		pending = map[string]any{"os-version": a.job.spec.TargetOSVersion, "build-version": a.job.spec.TargetBuildVersion,
			"target-local-date-time": a.job.spec.TargetLocalDateTime}
	}
	failure := map[string]any{"count": a.failure.Count}
	if a.failure.Count > 0 {
		failure["reason"], failure["timestamp"] = a.failure.Reason, a.failure.Timestamp
	}
	reason := map[string]any{"reason": []string{}}
	if a.reason != nil {
		reason = map[string]any{"reason": a.reason.Reasons, "declaration-id": a.reason.DeclarationID}
	}
	all := map[string]any{
		ddm.ItemInstallState: string(a.state), ddm.ItemPendingVersion: pending,
		ddm.ItemFailureReason: failure, ddm.ItemInstallReason: reason,
		ddm.ItemDeviceID: at.SoftwareUpdateDeviceID, ddm.ItemOSFamily: at.Platform,
		ddm.ItemOSVersion: at.OSVersion, ddm.ItemOSBuildVersion: at.BuildVersion,
		ddm.ItemOSSupplementalBuild: at.SupplementalBuild, ddm.ItemOSSupplementalExtra: at.SupplementalExtra,
		ddm.ItemModelIdentifier: at.ProductName, ddm.ItemModelMarketingName: at.ModelName,
		ddm.ItemModelFamily: modelFamily(at), ddm.ItemSerialNumber: at.SerialNumber, ddm.ItemUDID: at.UDID,
		ddm.ItemBatteryHealth: "normal", ddm.ItemDeclarations: a.declarationsItem(),
		ddm.ItemClientCapabilities: map[string]any{"supported-versions": []string{"1.0.0"}},
	}
	want := a.subscribed()
	for name := range all {
		if !want[name] {
			delete(all, name)
		}
	}
	return all
}

func modelFamily(at Attributes) string {
	switch {
	case strings.HasPrefix(at.ProductName, "iPhone"):
		return "iPhone"
	case strings.HasPrefix(at.ProductName, "iPad"):
		return "iPad"
	}
	return "Mac"
}

// declarationsItem is management.declarations: every held declaration by
// class, sorted, with the device's verdict.
func (a *DDM) declarationsItem() map[string]any {
	classes := map[string][]map[string]any{"activations": {}, "configurations": {}, "assets": {}, "management": {}}
	for _, id := range slices.Sorted(maps.Keys(a.decls)) {
		h := a.decls[id]
		entry := map[string]any{"identifier": id, "server-token": h.token, "active": h.active, "valid": "valid"}
		if !h.valid {
			entry["valid"] = "invalid"
			reasons := make([]map[string]any, len(h.reasons))
			for i, r := range h.reasons {
				reasons[i] = map[string]any{"code": r.Code, "description": r.Description}
			}
			entry["reasons"] = reasons
		}
		class := string(h.decl.Kind()) + "s"
		if h.decl.Kind() == ddm.KindManagement {
			class = "management"
		}
		classes[class] = append(classes[class], entry)
	}
	out := map[string]any{}
	for k, v := range classes {
		out[k] = v
	}
	return out
}

// Token is the DeclarationsToken of what the device holds.
func (a *DDM) Token() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.token
}

// Held maps each held declaration to its server token.
func (a *DDM) Held() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]string{}
	for id, h := range a.decls {
		out[id] = h.token
	}
	return out
}

// InstallState is the device's current software-update state.
func (a *DDM) InstallState() ddm.InstallState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// Reports returns the status reports sent so far, oldest first.
func (a *DDM) Reports() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.reports)
}

// Syncs counts the syncs started (commands answered plus Sync calls).
func (a *DDM) Syncs() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.syncs
}

// LastError is the error of the latest command-triggered sync.
func (a *DDM) LastError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}

// Clock is the simulated clock.
func (a *DDM) Clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clock
}
