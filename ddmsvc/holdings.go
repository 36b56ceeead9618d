package ddmsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/osversion"
	"github.com/tidemark-mdm/tidemark/storage"
)

// Identifiers of the declarations every DDM-capable device holds. The
// status subscription's identifier is the one the enforcement engine looks
// for in a device's status (enforcement.StatusSubscriptionIdentifier).
const (
	StatusSubscriptionsID = "tidemark.status-subscriptions.softwareupdate"
	ActivationID          = "tidemark.activation.builtin"
)

// Sources of a held declaration.
const (
	SourceBuiltin = "builtin"
	SourceSet     = "set"
	SourceDevice  = "device"
)

// builtins holds the fixed built-in declaration; the activation depends on
// the device's device-scoped configurations and is built per device.
type builtins struct {
	subscriptions *ddm.Declaration
}

func newBuiltins() builtins {
	subs, err := ddm.NewStatusSubscriptions(StatusSubscriptionsID, ddm.DefaultStatusItems())
	if err != nil {
		panic(fmt.Sprintf("ddmsvc: built-in status subscriptions are invalid: %v", err))
	}
	return builtins{subscriptions: subs}
}

func isBuiltinID(id string) bool { return id == StatusSubscriptionsID || id == ActivationID }

// minDDM is the first OS version of each platform that does declarative
// management (tvOS as the DeclarativeManagement command's rules say).
var minDDM = map[string]osversion.Version{
	"macOS":  osversion.MustParse("13.0"),
	"iOS":    osversion.MustParse("16.0"),
	"iPadOS": osversion.MustParse("16.0"),
	"tvOS":   osversion.MustParse("16.0"),
}

// Capable reports whether a device does DDM: by its platform and OS
// version, or, when those are unknown or too old, because it has sent a
// DeclarativeManagement check-in.
func Capable(d *storage.Device, checkinSeen bool) bool {
	if checkinSeen {
		return true
	}
	minimum, ok := minDDM[d.Facts.Platform]
	if !ok {
		return false
	}
	v, err := osversion.Parse(d.Facts.OSVersion)
	return err == nil && v.Compare(minimum) >= 0
}

// held is one declaration a device holds, with where it comes from.
type held struct {
	decl   *ddm.Declaration
	source string
	rec    *storage.DeclarationRecord // nil for built-ins
}

// holdings is what one device should hold, as the device is served it.
type holdings struct {
	device       *storage.Device
	capable      bool
	checkinSeen  bool
	sets         []string
	items        []held
	decls        []*ddm.Declaration
	lastModified time.Time
}

func (h *holdings) find(id string) *held {
	for i := range h.items {
		if h.items[i].decl.Identifier == id {
			return &h.items[i]
		}
	}
	return nil
}

// holdingsOf reads the device's stored declarations and adds the built-ins
// when the device does DDM.
func (s *Service) holdingsOf(ctx context.Context, dev *storage.Device) (*holdings, error) {
	dd, err := s.store.DeviceDeclarations(ctx, dev.ID)
	if err != nil {
		return nil, err
	}
	h := &holdings{device: dev, capable: Capable(dev, dd.CheckinSeen), checkinSeen: dd.CheckinSeen,
		sets: dd.Sets, lastModified: dd.LastModified}
	// The built-ins date from the device's first sight, or from its first
	// DDM check-in when only that showed it does DDM.
	since := dev.FirstSeen
	if !Capable(dev, false) && dd.CheckinSeen {
		since = dd.CheckinAt
	}
	if since.After(h.lastModified) {
		h.lastModified = since
	}
	var deviceConfigs []string
	for i := range dd.Declarations {
		rec := &dd.Declarations[i]
		d := &ddm.Declaration{Type: rec.Type, Identifier: rec.Identifier, ServerToken: rec.ServerToken, Payload: rec.Payload}
		source := SourceSet
		if rec.DeviceID != "" {
			source = SourceDevice
			if d.Kind() == ddm.KindConfiguration {
				deviceConfigs = append(deviceConfigs, d.Identifier)
			}
		}
		h.items = append(h.items, held{decl: d, source: source, rec: rec})
	}
	if h.capable {
		act, err := s.cache.activation(append([]string{StatusSubscriptionsID}, deviceConfigs...))
		if err != nil {
			return nil, fmt.Errorf("built-in activation of %s: %w", dev.ID, err)
		}
		h.items = append(h.items, held{decl: s.builtins.subscriptions, source: SourceBuiltin},
			held{decl: act, source: SourceBuiltin})
	}
	slices.SortFunc(h.items, func(a, b held) int {
		if a.decl.Identifier < b.decl.Identifier {
			return -1
		}
		if a.decl.Identifier > b.decl.Identifier {
			return 1
		}
		return 0
	})
	h.decls = make([]*ddm.Declaration, len(h.items))
	for i := range h.items {
		h.decls[i] = h.items[i].decl
	}
	return h, nil
}

// tokens is the tokens document of a device's holdings.
func (h *holdings) tokens() ddm.TokensResponse { return ddm.Tokens(h.decls, h.lastModified) }

// tokensDoc and itemsDoc are the JSON documents served, memoized by content.
func (s *Service) tokensDoc(h *holdings) ([]byte, error) {
	return s.cache.doc(contentKey("tokens", h, true), func() ([]byte, error) { return json.Marshal(h.tokens()) })
}

func (s *Service) itemsDoc(h *holdings) ([]byte, error) {
	return s.cache.doc(contentKey("declaration-items", h, false), func() ([]byte, error) {
		return json.Marshal(ddm.DeclarationItems(h.decls))
	})
}

// activated lists the configurations the held activations activate, when
// the configuration is held too. Predicates are evaluated by the device,
// so an activation with one counts as activating.
func (h *holdings) activated() map[string]bool {
	out := map[string]bool{}
	for _, it := range h.items {
		if it.decl.Type != ddm.TypeActivationSimple {
			continue
		}
		var a ddm.ActivationSimple
		if it.decl.DecodePayload(&a) != nil {
			continue
		}
		for _, id := range a.StandardConfigurations {
			if c := h.find(id); c != nil && c.decl.Kind() == ddm.KindConfiguration {
				out[id] = true
			}
		}
	}
	return out
}
