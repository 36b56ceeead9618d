package sim

import (
	"context"
	"fmt"

	"github.com/micromdm/plist"

	"github.com/tidemark-mdm/tidemark/enrollprofile"
	"github.com/tidemark-mdm/tidemark/mdm"
)

type checkinMsg struct {
	MessageType    string `plist:"MessageType"`
	UDID           string `plist:"UDID,omitempty"`
	Topic          string `plist:"Topic,omitempty"`
	OSVersion      string `plist:"OSVersion,omitempty"`
	BuildVersion   string `plist:"BuildVersion,omitempty"`
	ProductName    string `plist:"ProductName,omitempty"`
	Model          string `plist:"Model,omitempty"`
	ModelName      string `plist:"ModelName,omitempty"`
	SerialNumber   string `plist:"SerialNumber,omitempty"`
	DeviceName     string `plist:"DeviceName,omitempty"`
	Token          []byte `plist:"Token,omitempty"`
	PushMagic      string `plist:"PushMagic,omitempty"`
	UnlockToken    []byte `plist:"UnlockToken,omitempty"`
	BootstrapToken []byte `plist:"BootstrapToken,omitempty"`
	Endpoint       string `plist:"Endpoint,omitempty"`
	Data           []byte `plist:"Data,omitempty"`
}

func encode(v any) ([]byte, error) { return plist.MarshalIndent(v, "\t") }

func (d *Device) base(msgType string) checkinMsg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return checkinMsg{MessageType: msgType, UDID: d.attrs.UDID, Topic: d.topic}
}

// AuthenticateMessage is the Authenticate plist this device would send.
func (d *Device) AuthenticateMessage() ([]byte, error) {
	m := d.base(mdm.MsgAuthenticate)
	a := d.Attributes()
	m.OSVersion, m.BuildVersion, m.ProductName = a.OSVersion, a.BuildVersion, a.ProductName
	m.Model, m.ModelName, m.SerialNumber, m.DeviceName = a.ProductName, a.ModelName, a.SerialNumber, a.DeviceName
	return encode(m)
}

// Authenticate sends the Authenticate check-in.
func (d *Device) Authenticate(ctx context.Context) error {
	body, err := d.AuthenticateMessage()
	if err != nil {
		return err
	}
	_, err = d.expectOK(ctx, true, body)
	return err
}

// TokenUpdateMessage is the TokenUpdate plist this device would send.
func (d *Device) TokenUpdateMessage() ([]byte, error) {
	m := d.base(mdm.MsgTokenUpdate)
	d.mu.Lock()
	m.Token, m.PushMagic = d.pushToken, d.pushMagic
	m.UnlockToken = []byte("sim-unlock-token-" + d.attrs.UDID)
	d.mu.Unlock()
	return encode(m)
}

// TokenUpdate sends the TokenUpdate check-in that completes enrollment.
func (d *Device) TokenUpdate(ctx context.Context) error {
	body, err := d.TokenUpdateMessage()
	if err != nil {
		return err
	}
	_, err = d.expectOK(ctx, true, body)
	return err
}

// CheckOut tells the server the MDM profile was removed.
func (d *Device) CheckOut(ctx context.Context) error {
	body, err := encode(d.base(mdm.MsgCheckOut))
	if err != nil {
		return err
	}
	_, err = d.expectOK(ctx, true, body)
	return err
}

// SetBootstrapToken escrows token (empty clears it).
func (d *Device) SetBootstrapToken(ctx context.Context, token []byte) error {
	m := d.base(mdm.MsgSetBootstrapToken)
	m.BootstrapToken = token
	body, err := encode(m)
	if err != nil {
		return err
	}
	if _, err := d.expectOK(ctx, true, body); err != nil {
		return err
	}
	d.mu.Lock()
	d.bootstrap = append([]byte(nil), token...)
	d.mu.Unlock()
	return nil
}

// GetBootstrapToken asks for the escrowed token; nil when none.
func (d *Device) GetBootstrapToken(ctx context.Context) ([]byte, error) {
	body, err := encode(d.base(mdm.MsgGetBootstrapToken))
	if err != nil {
		return nil, err
	}
	resp, err := d.expectOK(ctx, true, body)
	if err != nil {
		return nil, err
	}
	var out struct {
		BootstrapToken []byte `plist:"BootstrapToken"`
	}
	if err := mdm.DecodePlist(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("GetBootstrapToken answer: %w", err)
	}
	return out.BootstrapToken, nil
}

// Declarative sends a DeclarativeManagement check-in and returns the body.
func (d *Device) Declarative(ctx context.Context, endpoint string, data []byte) (*Response, error) {
	m := d.base(mdm.MsgDeclarativeManagement)
	m.Endpoint, m.Data = endpoint, data
	body, err := encode(m)
	if err != nil {
		return nil, err
	}
	return d.expectOK(ctx, true, body)
}

func parseProfile(profile []byte) (enrollprofile.SimEnrollment, error) {
	return enrollprofile.ParseForSim(profile)
}
