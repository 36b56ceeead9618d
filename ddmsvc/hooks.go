package ddmsvc

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/tidemark-mdm/tidemark/ddm"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// EnrollmentSync says which devices are told to sync when they enroll or
// re-enroll (their queue was emptied), or when a DeviceInformation answer
// first shows they do DDM.
type EnrollmentSync int

const (
	// SyncIfAssigned: only devices that hold declarations besides the
	// built-ins. A server that does not use DDM sends no DDM commands; a
	// device gets its built-ins with its first real declaration.
	SyncIfAssigned EnrollmentSync = iota
	// SyncAlways: every DDM-capable device, so status reports flow from
	// enrollment on, before any declaration is assigned.
	SyncAlways
)

// WithEnrollmentSync sets the enrollment sync policy (default
// SyncIfAssigned).
func WithEnrollmentSync(m EnrollmentSync) Option { return func(s *Service) { s.enrollSync = m } }

// Enrolled implements httpmdm.Hooks.
func (s *Service) Enrolled(ctx context.Context, deviceID string, first bool) {
	if !first {
		return
	}
	if err := s.syncOnEnrollment(ctx, deviceID, false); err != nil {
		s.log.Warn("queueing the DDM sync of an enrollment failed", logkeys.DeviceID, deviceID, logkeys.Err, err)
	}
}

// syncOnEnrollment queues a sync when the enrollment policy wants one.
// onlyNew skips devices that spoke DDM already or have a
// DeclarativeManagement command queued.
func (s *Service) syncOnEnrollment(ctx context.Context, id string, onlyNew bool) error {
	dev, err := s.store.Device(ctx, id)
	if err != nil || !dev.Enrolled {
		return err
	}
	dd, err := s.store.DeviceDeclarations(ctx, id)
	if err != nil || !Capable(dev, dd.CheckinSeen) {
		return err
	}
	if s.enrollSync == SyncIfAssigned && len(dd.Declarations) == 0 {
		return nil
	}
	if onlyNew {
		if dd.CheckinSeen {
			return nil
		}
		queue, err := s.store.Queue(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range queue {
			if e.RequestType == mdm.RequestDeclarativeManagement {
				return nil
			}
		}
	}
	return s.RequestSync(ctx, []string{id})
}

// ReportStored implements httpmdm.Hooks. A DeviceInformation answer can
// reveal that a device whose OS was unknown does DDM: it then gets its
// first sync. A refused DeclarativeManagement command is logged: the
// device will not sync until it is told again.
func (s *Service) ReportStored(ctx context.Context, deviceID, requestType, status string) {
	switch {
	case requestType == mdm.RequestDeclarativeManagement && status == mdm.StatusError:
		s.log.Warn("device refused a DeclarativeManagement command", logkeys.DeviceID, deviceID)
	case requestType == "DeviceInformation" && status == mdm.StatusAcknowledged:
		if err := s.syncOnEnrollment(ctx, deviceID, true); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("checking DDM capability failed", logkeys.DeviceID, deviceID, logkeys.Err, err)
		}
	}
}

// DeviceSummary is the DDM section of `device show`.
type DeviceSummary struct {
	Capable           bool             `json:"capable"`
	Sets              []string         `json:"sets,omitempty"`
	DeclarationsToken string           `json:"declarations_token,omitempty"`
	LastReportAt      *time.Time       `json:"last_report_at,omitempty"`
	InstallState      ddm.InstallState `json:"install_state,omitempty"`
	PendingVersion    string           `json:"pending_version,omitempty"`
	OSVersion         string           `json:"os_version,omitempty"`
	Invalid           []string         `json:"invalid_declarations,omitempty"`
}

// DeviceExtra adds the DDM summary to `device show` (api.WithDeviceExtras).
func (s *Service) DeviceExtra(ctx context.Context, d *storage.Device, into map[string]any) error {
	h, err := s.holdingsOf(ctx, d)
	if err != nil {
		return err
	}
	st, err := s.Status(ctx, d.ID)
	if err != nil {
		return err
	}
	sum := DeviceSummary{Capable: h.capable, Sets: h.sets}
	if h.capable {
		sum.DeclarationsToken = h.tokens().SyncTokens.DeclarationsToken
	}
	if !st.LastReportAt.IsZero() {
		sum.LastReportAt = &st.LastReportAt
	}
	if st.InstallState != nil {
		sum.InstallState = st.InstallState.Value
	}
	if st.PendingVersion != nil {
		sum.PendingVersion = st.PendingVersion.Value.OSVersion
	}
	if st.OSVersion != nil {
		sum.OSVersion = st.OSVersion.Value
	}
	for _, id := range slices.Sorted(maps.Keys(st.Declarations)) {
		if st.Declarations[id].Valid == "invalid" {
			sum.Invalid = append(sum.Invalid, id)
		}
	}
	into["ddm"] = sum
	return nil
}
