package sim

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tidemark-mdm/tidemark/mdm"
)

// IncomingCommand is a command the server delivered.
type IncomingCommand struct {
	UUID        string
	RequestType string
	Payload     map[string]any
	Raw         []byte
}

// Answer is what a responder replies.
type Answer struct {
	Status     string
	Fields     map[string]any // extra top-level keys of the report
	ErrorChain []mdm.ErrorChainItem
}

// Responder answers one request type.
type Responder func(d *Device, c *IncomingCommand) Answer

// Handle installs (or replaces) the responder of a request type.
func (d *Device) Handle(requestType string, r Responder) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.responders[requestType] = r
}

// SetNotNow makes the device answer NotNow to a request type ("*" for
// all), as a locked device does.
func (d *Device) SetNotNow(requestType string, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notNow[requestType] = on
}

type report struct {
	UDID        string               `plist:"UDID"`
	Status      string               `plist:"Status"`
	CommandUUID string               `plist:"CommandUUID,omitempty"`
	ErrorChain  []mdm.ErrorChainItem `plist:"ErrorChain,omitempty"`
}

func (d *Device) reportBody(status, uuid string, a Answer) ([]byte, error) {
	if len(a.Fields) == 0 {
		return encode(report{UDID: d.attrs.UDID, Status: status, CommandUUID: uuid, ErrorChain: a.ErrorChain})
	}
	m := map[string]any{"UDID": d.attrs.UDID, "Status": status}
	if uuid != "" {
		m["CommandUUID"] = uuid
	}
	if len(a.ErrorChain) > 0 {
		m["ErrorChain"] = a.ErrorChain
	}
	for k, v := range a.Fields {
		m[k] = v
	}
	return encode(m)
}

// Connect sends Idle and answers every command until the server has none
// left (an empty 200 body), as a device does after a push. It returns the
// number of commands handled. maxCommands bounds a misbehaving loop.
func (d *Device) Connect(ctx context.Context, maxCommands int) (int, error) {
	body, err := d.reportBody(mdm.StatusIdle, "", Answer{})
	if err != nil {
		return 0, err
	}
	handled := 0
	for {
		resp, err := d.expectOK(ctx, false, body)
		if err != nil {
			return handled, err
		}
		if len(resp.Body) == 0 {
			return handled, nil
		}
		if handled >= maxCommands {
			return handled, fmt.Errorf("sim %s: more than %d commands in one session", d.attrs.UDID, maxCommands)
		}
		handled++
		if body, err = d.answer(resp.Body); err != nil {
			return handled, err
		}
	}
}

// answer builds the report for a delivered command.
func (d *Device) answer(raw []byte) ([]byte, error) {
	var env struct {
		CommandUUID string         `plist:"CommandUUID"`
		Command     map[string]any `plist:"Command"`
	}
	if err := mdm.DecodePlist(raw, &env); err != nil {
		return nil, fmt.Errorf("sim %s: undecodable command: %w", d.attrs.UDID, err)
	}
	rt, _ := env.Command["RequestType"].(string)
	c := &IncomingCommand{UUID: env.CommandUUID, RequestType: rt, Payload: env.Command, Raw: raw}
	d.mu.Lock()
	notNow := d.notNow[rt] || d.notNow["*"]
	r := d.responders[rt]
	d.mu.Unlock()
	var a Answer
	switch {
	case notNow:
		a = Answer{Status: mdm.StatusNotNow}
	case r != nil:
		a = r(d, c)
	default:
		a = unknownCommand(rt)
	}
	d.mu.Lock()
	d.received = append(d.received, ReceivedCommand{UUID: c.UUID, RequestType: rt, Status: a.Status})
	d.mu.Unlock()
	return d.reportBody(a.Status, c.UUID, a)
}

// unknownCommand is how real devices refuse a request type they lack.
func unknownCommand(rt string) Answer {
	return Answer{Status: mdm.StatusError, ErrorChain: []mdm.ErrorChainItem{{
		ErrorCode: 12021, ErrorDomain: "MCMDMErrorDomain",
		LocalizedDescription: fmt.Sprintf("Unknown command “%s”.", rt),
		USEnglishDescription: fmt.Sprintf("Unknown command “%s”.", rt),
	}}}
}

// Report sends one report body as-is (tests of malformed reports).
func (d *Device) Report(ctx context.Context, body []byte, so SignOptions) (*Response, error) {
	return d.Do(ctx, false, body, so)
}

// IsOK reports a 200 answer.
func (r *Response) IsOK() bool { return r.Status == http.StatusOK }
