package ddmsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tidemark-mdm/tidemark/ddm"
	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/storage"
)

const contentTypeJSON = "application/json"

// HandleDeclarativeManagement implements httpmdm.Declarative. The device's
// identity is already verified; everything here is answered in process
// from the device's own declarations.
func (s *Service) HandleDeclarativeManagement(ctx context.Context, deviceID, endpoint string, data []byte) ([]byte, string, error) {
	ep, err := ddm.ParseEndpoint(endpoint)
	if err != nil {
		return nil, "", badRequest("endpoint refused", err)
	}
	dev, err := s.store.Device(ctx, deviceID)
	if err != nil {
		return nil, "", err
	}
	if ep.Kind == ddm.EndpointStatus {
		// Parse before any write: a malformed report changes nothing.
		rep, err := parseStatus(data)
		if err != nil {
			return nil, "", err
		}
		if err := s.markCheckin(ctx, deviceID); err != nil {
			return nil, "", err
		}
		return nil, "", s.storeStatus(ctx, dev, rep)
	}
	h, err := s.servedHoldings(ctx, dev)
	if err != nil {
		return nil, "", err
	}
	switch ep.Kind {
	case ddm.EndpointTokens:
		return withType(s.tokensDoc(h))
	case ddm.EndpointDeclarationItems:
		return withType(s.itemsDoc(h))
	default:
		it := h.find(ep.Identifier)
		if it == nil || it.decl.Kind() != ep.DeclType {
			return nil, "", notFound(fmt.Sprintf("declaration %s/%s is not assigned to this device", ep.DeclType, ep.Identifier))
		}
		body, err := ddm.Render(it.decl)
		if err != nil {
			return nil, "", fmt.Errorf("render declaration %s: %w", ep.Identifier, err)
		}
		return body, contentTypeJSON, nil
	}
}

// servedHoldings reads what the device holds and, the first time it
// speaks DDM, records that (which may give it the built-ins).
func (s *Service) servedHoldings(ctx context.Context, dev *storage.Device) (*holdings, error) {
	h, err := s.holdingsOf(ctx, dev)
	if err != nil || h.checkinSeen {
		return h, err
	}
	if err := s.markCheckin(ctx, dev.ID); err != nil {
		return nil, err
	}
	return s.holdingsOf(ctx, dev)
}

func (s *Service) markCheckin(ctx context.Context, id string) error {
	first, err := s.store.MarkDDMCheckin(ctx, id, s.now())
	if first {
		s.log.Info("device spoke DDM for the first time", logkeys.DeviceID, id)
	}
	return err
}

func withType(b []byte, err error) ([]byte, string, error) {
	if err != nil {
		return nil, "", err
	}
	return b, contentTypeJSON, nil
}

func parseStatus(data []byte) (*ddm.StatusReport, error) {
	if len(data) == 0 {
		return nil, badRequest("status report without Data", nil)
	}
	rep, err := ddm.ParseStatusReport(data)
	if errors.Is(err, ddm.ErrMalformed) {
		return nil, badRequest("malformed status report", err)
	}
	return rep, err
}

// storeStatus keeps the report in the device's history, merges it into the
// latest status and updates the device's facts, then tells the hooks.
func (s *Service) storeStatus(ctx context.Context, dev *storage.Device, rep *ddm.StatusReport) error {
	at := s.now().UTC()
	raw, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	var merged *ddm.DeviceStatus
	err = s.store.AddDDMStatus(ctx, dev.ID, storage.DDMStatusUpdate{
		At: at, Report: raw, Keep: s.keep,
		Latest: func(old []byte) ([]byte, error) {
			st := &ddm.DeviceStatus{}
			if old != nil {
				if err := json.Unmarshal(old, st); err != nil {
					s.log.Warn("stored DDM status unreadable; starting afresh", logkeys.DeviceID, dev.ID, logkeys.Err, err)
					st = &ddm.DeviceStatus{}
				}
			}
			st.Merge(rep, at)
			merged = st
			return json.Marshal(st)
		},
		Facts: func(d *storage.Device) bool { return applyFacts(&d.Facts, &rep.Items) },
	})
	if err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		first := rep.Problems[0]
		s.log.Info("status report kept with problems", logkeys.DeviceID, dev.ID,
			logkeys.Count, len(rep.Problems), logkeys.Reason, first.Path+": "+first.Message)
	}
	for _, hook := range s.statusHooks() {
		hook(ctx, dev.ID, cloneStatus(merged))
	}
	return nil
}

// cloneStatus gives each hook its own copy, so none can change another's.
func cloneStatus(st *ddm.DeviceStatus) *ddm.DeviceStatus {
	raw, err := json.Marshal(st)
	if err != nil {
		return st
	}
	out := &ddm.DeviceStatus{}
	if json.Unmarshal(raw, out) != nil {
		return st
	}
	return out
}

// applyFacts copies what the report says about the OS into the device's
// facts, so DDM and DeviceInformation tell the same story.
func applyFacts(f *storage.Facts, it *ddm.StatusItems) bool {
	changed := false
	set := func(dst *string, src *string) {
		if src != nil && *src != "" && *dst != *src {
			*dst, changed = *src, true
		}
	}
	set(&f.OSVersion, it.OSVersion)
	set(&f.BuildVersion, it.OSBuildVersion)
	// An empty supplemental version is news: the RSR/BSI was removed.
	setOrClear := func(dst *string, src *string) {
		if src != nil && *dst != *src {
			*dst, changed = *src, true
		}
	}
	setOrClear(&f.SupplementalBuild, it.OSSupplementalBuildVersion)
	setOrClear(&f.SupplementalExtra, it.OSSupplementalExtraVersion)
	set(&f.SoftwareUpdateDeviceID, it.DeviceID)
	set(&f.SerialNumber, it.SerialNumber)
	return changed
}
