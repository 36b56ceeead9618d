// Package commands is the admin-facing catalogue of MDM commands: it builds
// typed commands from API parameters, checks them against the device they
// go to, and turns typed results into the facts and update state stored
// with them.
package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/osversion"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Builder implements the API's command catalogue.
type Builder struct{}

// New returns a Builder.
func New() *Builder { return &Builder{} }

type factory func(params json.RawMessage) (mdm.CommandPayload, error)

var factories = map[string]factory{
	mdm.RequestDeviceInformation: func(p json.RawMessage) (mdm.CommandPayload, error) {
		var in struct {
			Queries []string `json:"queries"`
		}
		if err := strictJSON(p, &in); err != nil {
			return nil, err
		}
		return mdm.NewDeviceInformation(in.Queries...), nil
	},
	mdm.RequestSecurityInfo:       noParams(mdm.SecurityInfo{}),
	mdm.RequestAvailableOSUpdates: noParams(mdm.AvailableOSUpdates{}),
	mdm.RequestOSUpdateStatus:     noParams(mdm.OSUpdateStatus{}),
	mdm.RequestScheduleOSUpdateScan: func(p json.RawMessage) (mdm.CommandPayload, error) {
		var in struct {
			Force bool `json:"force"`
		}
		if err := strictJSON(p, &in); err != nil {
			return nil, err
		}
		return mdm.ScheduleOSUpdateScan{Force: in.Force}, nil
	},
	mdm.RequestScheduleOSUpdate: scheduleFactory,
}

// ScheduleParams are the API parameters of ScheduleOSUpdate.
type ScheduleParams struct {
	Updates []struct {
		ProductKey       string `json:"product_key"`
		ProductVersion   string `json:"product_version"`
		InstallAction    string `json:"install_action"`
		MaxUserDeferrals *int   `json:"max_user_deferrals"`
		Priority         string `json:"priority"`
	} `json:"updates"`
}

func scheduleFactory(p json.RawMessage) (mdm.CommandPayload, error) {
	var in ScheduleParams
	if err := strictJSON(p, &in); err != nil {
		return nil, err
	}
	items := make([]mdm.OSUpdateItem, 0, len(in.Updates))
	for _, u := range in.Updates {
		items = append(items, mdm.OSUpdateItem{ProductKey: u.ProductKey, ProductVersion: u.ProductVersion,
			InstallAction: u.InstallAction, MaxUserDeferrals: u.MaxUserDeferrals, Priority: u.Priority})
	}
	return mdm.NewScheduleOSUpdate(items...)
}

func noParams(p mdm.CommandPayload) factory {
	return func(raw json.RawMessage) (mdm.CommandPayload, error) {
		var in struct{}
		if err := strictJSON(raw, &in); err != nil {
			return nil, err
		}
		return p, nil
	}
}

func strictJSON(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	return nil
}

// Kinds lists the typed commands the API accepts.
func Kinds() []string {
	out := make([]string, 0, len(factories))
	for k := range factories {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Build implements api.CommandBuilder.
func (b *Builder) Build(kind string, params map[string]any, uuid string) ([]byte, string, error) {
	f, ok := factories[kind]
	if !ok {
		return nil, "", fmt.Errorf("unknown command type %q (known: %s)", kind, strings.Join(Kinds(), ", "))
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, "", err
	}
	payload, err := f(raw)
	if err != nil {
		return nil, "", err
	}
	if uuid == "" {
		uuid = mdm.NewCommandUUID()
	}
	plist, err := mdm.Command{UUID: uuid, Payload: payload}.Encode()
	if err != nil {
		return nil, "", err
	}
	return plist, payload.RequestType(), nil
}

// Inspect implements api.CommandBuilder.
func (b *Builder) Inspect(raw []byte) (string, string, error) {
	info, err := mdm.InspectRawCommand(raw)
	if err != nil {
		return "", "", err
	}
	return info.UUID, info.RequestType, nil
}

// CheckDevice implements api.CommandBuilder: the schema's platform,
// version and supervision rules against what we know of the device.
func (b *Builder) CheckDevice(raw []byte, requestType string, d *storage.Device) error {
	if !d.Enrolled {
		return fmt.Errorf("not enrolled")
	}
	payload, err := payloadFromRaw(requestType, raw)
	if err != nil || payload == nil {
		return err
	}
	return mdm.ValidateFor(payload, TargetOf(d))
}

// TargetOf describes a stored device for command validation. Unknown
// facts stay zero, so rules that need them are not applied.
func TargetOf(d *storage.Device) mdm.DeviceTarget {
	t := mdm.DeviceTarget{Platform: d.Facts.Platform}
	if v, err := osversion.Parse(d.Facts.OSVersion); err == nil {
		t.OSVersion = v
	}
	if d.Facts.Supervised != nil {
		t.Supervised = *d.Facts.Supervised
	}
	if t.Platform == "" {
		t.Platform = mdm.PlatformFromProduct(d.Facts.ProductName)
	}
	return t
}

// payloadFromRaw decodes the payload of the commands whose rules we check;
// other request types pass unchecked.
func payloadFromRaw(requestType string, raw []byte) (mdm.CommandPayload, error) {
	switch requestType {
	case mdm.RequestScheduleOSUpdate:
		var env struct{ Command mdm.ScheduleOSUpdate }
		if err := mdm.DecodePlist(raw, &env); err != nil {
			return nil, err
		}
		return env.Command, nil
	case mdm.RequestScheduleOSUpdateScan:
		var env struct{ Command mdm.ScheduleOSUpdateScan }
		if err := mdm.DecodePlist(raw, &env); err != nil {
			return nil, err
		}
		return env.Command, nil
	case mdm.RequestAvailableOSUpdates:
		return mdm.AvailableOSUpdates{}, nil
	case mdm.RequestOSUpdateStatus:
		return mdm.OSUpdateStatus{}, nil
	}
	return nil, nil
}
