package httpmdm

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/micromdm/plist"

	"github.com/tidemark-mdm/tidemark/internal/logkeys"
	"github.com/tidemark-mdm/tidemark/mdm"
	"github.com/tidemark-mdm/tidemark/storage"
)

func (h *Handler) checkin(w http.ResponseWriter, ctx context.Context, req *request) error {
	msg, err := mdm.DecodeCheckin(req.body)
	if err != nil {
		return err
	}
	id := msg.DeviceID()
	if err := storage.ValidateDeviceID(id); err != nil {
		return err
	}
	req.log = req.log.With(logkeys.DeviceID, id, logkeys.MessageType, msg.MessageType)
	if msg.MessageType == mdm.MsgUserAuthenticate {
		// Apple: answering 410 tells the device the server declines user channels.
		return &httpError{status: http.StatusGone, msg: "user channels are not supported"}
	}
	if msg.IsUserChannel() {
		return &httpError{status: http.StatusBadRequest, msg: "user channel messages are not supported"}
	}
	if msg.MessageType == mdm.MsgAuthenticate {
		return h.authenticate(w, ctx, req, msg)
	}
	if err := h.store.CheckBinding(ctx, id, req.certHash); err != nil {
		return err
	}
	h.touch(ctx, req, id)
	switch msg.MessageType {
	case mdm.MsgTokenUpdate:
		return h.tokenUpdate(w, ctx, req, msg)
	case mdm.MsgCheckOut:
		if err := h.store.CheckOut(ctx, id, req.at); err != nil {
			return err
		}
		req.log.Info("device checked out")
	case mdm.MsgSetBootstrapToken:
		return h.setBootstrap(w, ctx, req, msg)
	case mdm.MsgGetBootstrapToken:
		return h.getBootstrap(w, ctx, req, id)
	case mdm.MsgDeclarativeManagement:
		return h.declarative(w, ctx, req, msg)
	default:
		return &httpError{status: http.StatusBadRequest, msg: "message type " + msg.MessageType + " is not supported"}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) authenticate(w http.ResponseWriter, ctx context.Context, req *request, msg *mdm.Checkin) error {
	platform := mdm.PlatformFromProduct(msg.ProductName)
	if platform == "" {
		platform = mdm.PlatformFromProduct(msg.Model)
	}
	reenrolled, err := h.store.Authenticate(ctx, storage.Enrollment{
		DeviceID: msg.DeviceID(), CertHash: req.certHash, CertNotAfter: req.cert.NotAfter,
		Facts: storage.Facts{
			Platform: platform, OSVersion: msg.OSVersion, BuildVersion: msg.BuildVersion,
			ProductName: msg.ProductName, Model: msg.Model, ModelName: msg.ModelName,
			SerialNumber: msg.SerialNumber, DeviceName: msg.DeviceName,
		},
	}, req.at)
	if err != nil {
		return err
	}
	req.log.Info("device authenticated", "reenrolled", reenrolled, logkeys.CertHash, req.certHash[:16])
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) tokenUpdate(w http.ResponseWriter, ctx context.Context, req *request, msg *mdm.Checkin) error {
	tu := storage.TokenUpdate{Topic: msg.Topic, PushMagic: msg.PushMagic, PushToken: msg.Token}
	if len(msg.UnlockToken) > 0 {
		sealed, err := h.sealer.Seal(msg.UnlockToken, []byte("unlock:"+msg.DeviceID()))
		if err != nil {
			return err
		}
		tu.UnlockToken = sealed
	}
	first, err := h.store.TokenUpdate(ctx, msg.DeviceID(), tu, req.at)
	if err != nil {
		return err
	}
	if first {
		req.log.Info("device enrolled")
	}
	if h.hooks != nil {
		h.hooks.Enrolled(ctx, msg.DeviceID(), first)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) setBootstrap(w http.ResponseWriter, ctx context.Context, req *request, msg *mdm.Checkin) error {
	var sealed []byte
	if len(msg.BootstrapToken) > 0 {
		var err error
		sealed, err = h.sealer.Seal(msg.BootstrapToken, []byte("bootstrap:"+msg.DeviceID()))
		if err != nil {
			return err
		}
	}
	if err := h.store.SetBootstrapToken(ctx, msg.DeviceID(), sealed, req.at); err != nil {
		return err
	}
	req.log.Info("bootstrap token stored", "cleared", sealed == nil)
	w.WriteHeader(http.StatusOK)
	return nil
}

// bootstrapResponse is the GetBootstrapToken answer; an absent token is a
// successful answer without the key.
type bootstrapResponse struct {
	BootstrapToken []byte `plist:"BootstrapToken,omitempty"`
}

func (h *Handler) getBootstrap(w http.ResponseWriter, ctx context.Context, req *request, id string) error {
	var resp bootstrapResponse
	sealed, err := h.store.BootstrapToken(ctx, id)
	switch {
	case err == nil:
		token, err := h.sealer.Open(sealed, []byte("bootstrap:"+id))
		if err != nil {
			return err
		}
		resp.BootstrapToken = token
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}
	var buf bytes.Buffer
	enc := plist.NewEncoder(&buf)
	enc.Indent("\t")
	if err := enc.Encode(resp); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	_, err = w.Write(buf.Bytes())
	return err
}

func (h *Handler) declarative(w http.ResponseWriter, ctx context.Context, req *request, msg *mdm.Checkin) error {
	if h.ddm == nil {
		return &httpError{status: http.StatusBadRequest, msg: "declarative management is not enabled on this server"}
	}
	body, ctype, err := h.ddm.HandleDeclarativeManagement(ctx, msg.DeviceID(), msg.Endpoint, msg.Data)
	if err != nil {
		return err
	}
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}
