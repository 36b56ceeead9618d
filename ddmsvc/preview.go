package ddmsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/osversion"
	"github.com/tidemark-mdm/tidemark/storage"
)

// HeldDeclaration is one declaration a device holds, as the admin sees it.
type HeldDeclaration struct {
	Identifier  string   `json:"identifier"`
	Type        string   `json:"type"`
	Kind        ddm.Kind `json:"kind"`
	ServerToken string   `json:"server_token"`
	Source      string   `json:"source"` // builtin, set or device
	// Activated: a held activation activates this configuration.
	Activated bool `json:"activated,omitempty"`
	// Device is the device's latest word on it, when it reported one.
	Device *ddm.DeclarationState `json:"device,omitempty"`
}

// DeviceDeclarationsView is what a device holds, with the server's tokens.
type DeviceDeclarationsView struct {
	DeviceID          string            `json:"device_id"`
	DDMCapable        bool              `json:"ddm_capable"`
	Sets              []string          `json:"sets"`
	DeclarationsToken string            `json:"declarations_token"`
	LastModified      time.Time         `json:"last_modified"`
	Declarations      []HeldDeclaration `json:"declarations"`
	// Warnings name what will not work as meant, such as an activation
	// whose configuration the device does not hold.
	Warnings []string `json:"warnings,omitempty"`
}

// deviceHoldings loads a device and its holdings; ErrNotFound names it.
func (s *Service) deviceHoldings(ctx context.Context, id string) (*holdings, error) {
	dev, err := s.store.Device(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.holdingsOf(ctx, dev)
}

// DeviceDeclarations shows what a device holds.
func (s *Service) DeviceDeclarations(ctx context.Context, id string) (*DeviceDeclarationsView, error) {
	h, err := s.deviceHoldings(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := s.Status(ctx, id)
	if err != nil {
		return nil, err
	}
	tokens := h.tokens().SyncTokens
	v := &DeviceDeclarationsView{DeviceID: id, DDMCapable: h.capable, Sets: h.sets,
		DeclarationsToken: tokens.DeclarationsToken, LastModified: tokens.Timestamp, Declarations: []HeldDeclaration{}}
	if v.Sets == nil {
		v.Sets = []string{}
	}
	active := h.activated()
	for _, it := range h.items {
		hd := HeldDeclaration{Identifier: it.decl.Identifier, Type: it.decl.Type, Kind: it.decl.Kind(),
			ServerToken: ddm.ServerToken(it.decl), Source: it.source, Activated: active[it.decl.Identifier]}
		if ds, ok := st.Declarations[hd.Identifier]; ok {
			hd.Device = &ds
		}
		if hd.Kind == ddm.KindConfiguration && !hd.Activated {
			v.Warnings = append(v.Warnings, fmt.Sprintf("configuration %s is held but no held activation activates it", hd.Identifier))
		}
		v.Declarations = append(v.Declarations, hd)
	}
	v.Warnings = append(v.Warnings, missingReferences(h)...)
	return v, nil
}

func missingReferences(h *holdings) []string {
	var out []string
	for _, it := range h.items {
		for _, ref := range refsOf(it) {
			if h.find(ref) == nil {
				out = append(out, fmt.Sprintf("activation %s references %s, which this device does not hold", it.decl.Identifier, ref))
			}
		}
	}
	return out
}

func refsOf(it held) []string {
	if it.rec != nil {
		return it.rec.References
	}
	return nil
}

// Status is the device's latest merged DDM status (empty when it has sent
// none).
func (s *Service) Status(ctx context.Context, id string) (*ddm.DeviceStatus, error) {
	if _, err := s.store.Device(ctx, id); err != nil {
		return nil, err
	}
	raw, err := s.store.Blob(ctx, storage.DDMStatusCollection, id)
	if errors.Is(err, storage.ErrNotFound) {
		return &ddm.DeviceStatus{}, nil
	}
	if err != nil {
		return nil, err
	}
	st := &ddm.DeviceStatus{}
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("stored DDM status of %s: %w", id, err)
	}
	return st, nil
}

// StatusHistory lists the device's stored reports, newest first.
func (s *Service) StatusHistory(ctx context.Context, id string, limit int) ([]storage.DDMStatusEntry, error) {
	return s.store.DDMStatusHistory(ctx, id, limit)
}

// EffectiveSettingsView previews the software-update settings a device
// applies, with the declarations that decided each key.
type EffectiveSettingsView struct {
	DeviceID     string                     `json:"device_id"`
	Settings     ddm.SoftwareUpdateSettings `json:"settings"`
	Provenance   map[string][]string        `json:"provenance"`
	Declarations []string                   `json:"declarations"`
	// Inactive settings declarations are held but not activated, so they
	// do not count.
	Inactive []string `json:"inactive,omitempty"`
}

// EffectiveSettings combines the device's activated settings declarations
// with Apple's per-key rules, in the order the device receives them.
func (s *Service) EffectiveSettings(ctx context.Context, id string) (*EffectiveSettingsView, error) {
	h, err := s.deviceHoldings(ctx, id)
	if err != nil {
		return nil, err
	}
	active := h.activated()
	v := &EffectiveSettingsView{DeviceID: id, Provenance: map[string][]string{}, Declarations: []string{}}
	var all []ddm.SoftwareUpdateSettings
	for _, it := range h.items {
		if it.decl.Type != ddm.TypeSoftwareUpdateSettings {
			continue
		}
		if !active[it.decl.Identifier] {
			v.Inactive = append(v.Inactive, it.decl.Identifier)
			continue
		}
		st, err := it.decl.Settings()
		if err != nil {
			return nil, err
		}
		all = append(all, st)
		v.Declarations = append(v.Declarations, it.decl.Identifier)
	}
	settings, prov := ddm.EffectiveSettings(all)
	v.Settings = settings
	for key, idx := range prov {
		for _, i := range idx {
			v.Provenance[key] = append(v.Provenance[key], v.Declarations[i])
		}
	}
	return v, nil
}

// QueuedEnforcement is one enforcement declaration in the queue preview.
type QueuedEnforcement struct {
	Identifier string `json:"identifier"`
	ddm.EnforcementSpecific
}

// QueueView previews how the device orders its enforcement declarations.
type QueueView struct {
	DeviceID         string              `json:"device_id"`
	InstalledVersion string              `json:"installed_version"`
	InstalledFrom    string              `json:"installed_from"` // ddm-status or device-facts
	Queue            []QueuedEnforcement `json:"queue"`
	Ignored          []QueuedEnforcement `json:"ignored"`
}

// EnforcementQueue previews the device's enforcement queue against the OS
// it runs (its latest DDM status, else its stored facts).
func (s *Service) EnforcementQueue(ctx context.Context, id string) (*QueueView, error) {
	h, err := s.deviceHoldings(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := s.Status(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &QueueView{DeviceID: id, InstalledVersion: h.device.Facts.OSVersion, InstalledFrom: "device-facts",
		Queue: []QueuedEnforcement{}, Ignored: []QueuedEnforcement{}}
	if st.OSVersion != nil && st.OSVersion.Value != "" {
		v.InstalledVersion, v.InstalledFrom = st.OSVersion.Value, "ddm-status"
	}
	installed, err := osversion.Parse(v.InstalledVersion)
	if err != nil {
		return nil, &InvalidError{Msg: fmt.Sprintf("device %s has no readable OS version (%q)", id, v.InstalledVersion)}
	}
	active := h.activated()
	var specs []ddm.EnforcementSpecific
	var ids []string
	for _, it := range h.items {
		if it.decl.Type != ddm.TypeEnforcementSpecific || !active[it.decl.Identifier] {
			continue
		}
		e, err := it.decl.Enforcement()
		if err != nil {
			return nil, err
		}
		specs, ids = append(specs, e), append(ids, it.decl.Identifier)
	}
	queue, ignored := ddm.EnforcementQueue(installed, specs)
	used := make([]bool, len(specs))
	v.Queue, v.Ignored = named(queue, specs, ids, used), named(ignored, specs, ids, used)
	return v, nil
}

// named gives each previewed entry back its identifier: EnforcementQueue
// works on payloads, so equal payloads are matched in input order.
func named(out, in []ddm.EnforcementSpecific, ids []string, used []bool) []QueuedEnforcement {
	res := []QueuedEnforcement{}
	for _, e := range out {
		for i := range in {
			if !used[i] && in[i] == e {
				used[i] = true
				res = append(res, QueuedEnforcement{Identifier: ids[i], EnforcementSpecific: e})
				break
			}
		}
	}
	return res
}
