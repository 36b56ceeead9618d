package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to the admin API.
type Client struct {
	base   string
	apiKey string
	hc     *http.Client
}

// NewClient builds a client for the server at base (e.g. http://127.0.0.1:9000).
func NewClient(base, apiKey string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), apiKey: apiKey, hc: hc}
}

// StatusError is an API answer other than 2xx.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
}

// Do sends in as JSON (when not nil) and decodes the answer into out (when
// not nil). out may be *[]byte to receive the raw body.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("reaching the tidemark server at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &StatusError{Status: resp.StatusCode, Message: e.Error}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = data
		return nil
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding answer of %s %s: %w", method, path, err)
		}
		return nil
	}
}

// Devices lists devices; query holds filters such as enrolled, platform.
func (c *Client) Devices(ctx context.Context, query url.Values) ([]Device, error) {
	var out []Device
	p := "/v1/devices"
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	return out, c.Do(ctx, http.MethodGet, p, nil, &out)
}

// Device shows one device.
func (c *Client) Device(ctx context.Context, id string) (*Device, error) {
	var out Device
	return &out, c.Do(ctx, http.MethodGet, "/v1/devices/"+url.PathEscape(id), nil, &out)
}

// Enqueue queues a command.
func (c *Client) Enqueue(ctx context.Context, req EnqueueRequest) (*EnqueueResponse, error) {
	var out EnqueueResponse
	return &out, c.Do(ctx, http.MethodPost, "/v1/commands", req, &out)
}

// NewChallenge creates a one-time enrollment challenge.
func (c *Client) NewChallenge(ctx context.Context, ttl time.Duration) (*Challenge, error) {
	var out Challenge
	in := map[string]int{"ttl_seconds": int(ttl / time.Second)}
	return &out, c.Do(ctx, http.MethodPost, "/v1/challenges", in, &out)
}

// EnrollmentProfile fetches a .mobileconfig.
func (c *Client) EnrollmentProfile(ctx context.Context, oneTime bool) ([]byte, error) {
	var out []byte
	return out, c.Do(ctx, http.MethodGet, fmt.Sprintf("/v1/enrollment-profile?one_time=%t", oneTime), nil, &out)
}
