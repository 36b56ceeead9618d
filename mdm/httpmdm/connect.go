package httpmdm

import (
	"context"
	"errors"
	"net/http"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

// connect handles a command report: store the result, answer with the next
// command or an empty 200 body.
func (h *Handler) connect(w http.ResponseWriter, ctx context.Context, req *request) error {
	rep, err := mdm.DecodeReport(req.body)
	if err != nil {
		return err
	}
	id := rep.UDID
	if id == "" {
		id = rep.EnrollmentID
	}
	if rep.UserID != "" {
		return &httpError{status: http.StatusBadRequest, msg: "user channel reports are not supported"}
	}
	if err := storage.ValidateDeviceID(id); err != nil {
		return err
	}
	req.log = req.log.With(logkeys.DeviceID, id)
	if err := h.store.CheckBinding(ctx, id, req.certHash); err != nil {
		return err
	}
	h.touch(ctx, req, id)
	idle := rep.Status == mdm.StatusIdle
	if !idle {
		if err := h.storeReport(ctx, req, id, rep); err != nil {
			return err
		}
	}
	next, err := h.store.NextCommand(ctx, id, idle, req.at)
	if err != nil {
		return err
	}
	if next == nil {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	req.log.Debug("delivering command", logkeys.CommandUUID, next.UUID, logkeys.RequestType, next.RequestType)
	w.Header().Set("Content-Type", "application/xml")
	_, err = w.Write(next.Raw)
	return err
}

func (h *Handler) storeReport(ctx context.Context, req *request, id string, rep *mdm.Report) error {
	log := req.log.With(logkeys.CommandUUID, rep.CommandUUID, logkeys.Status, rep.Status)
	if err := storage.ValidateCommandUUID(rep.CommandUUID); err != nil {
		return err
	}
	// Devices may send an empty RequestType: the queued command says what it was.
	requestType := rep.RequestType
	if cmd, err := h.store.Command(ctx, rep.CommandUUID); err == nil {
		requestType = cmd.RequestType
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	result := storage.Result{
		DeviceID: id, UUID: rep.CommandUUID, RequestType: requestType,
		Status: rep.Status, At: req.at, Raw: req.body,
	}
	for _, e := range rep.ErrorChain {
		result.ErrorChain = append(result.ErrorChain, storage.ErrorChain{
			Code: e.ErrorCode, Domain: e.ErrorDomain,
			LocalizedDescription: e.LocalizedDescription, USEnglishDescription: e.USEnglishDescription,
		})
	}
	var fx storage.ResultEffects
	if h.results != nil && rep.Status != mdm.StatusNotNow {
		var err error
		if fx, err = h.results.Effects(ctx, id, requestType, rep.Status, req.body, req.at); err != nil {
			// A typed result we cannot read is still a result: keep it raw.
			log.Warn("typed result not understood; stored raw", logkeys.Err, err)
			fx = storage.ResultEffects{}
		}
	}
	outcome, err := h.store.StoreReport(ctx, result, fx)
	if err != nil {
		return err
	}
	switch outcome {
	case storage.ReportUnknownCommand:
		log.Warn("report for a command not queued to this device")
	case storage.ReportDuplicate:
		log.Info("repeated result ignored")
	default:
		log.Debug("result stored")
		if h.hooks != nil {
			h.hooks.ReportStored(ctx, id, requestType, rep.Status)
		}
	}
	return nil
}
