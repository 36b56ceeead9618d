package push

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxRetryAfter caps a server's Retry-After hint.
const maxRetryAfter = 10 * time.Minute

// maxTokenBytes bounds a push token. Tokens are 32 bytes today; Apple has
// said they may grow, so allow room without accepting nonsense.
const maxTokenBytes = 256

// Push sends one MDM push per target, at most the configured number at a
// time, and returns their outcomes in target order. It never panics on any
// server behaviour and always returns len(targets) outcomes.
func (c *Client) Push(ctx context.Context, targets []Target) []Outcome {
	out := make([]Outcome, len(targets))
	hc := c.http.Load() // one certificate for the whole batch
	next := make(chan int)
	var wg sync.WaitGroup
	workers := min(c.concurrency, len(targets))
	for range workers {
		wg.Go(func() {
			for i := range next {
				out[i] = c.pushGuarded(ctx, hc, targets[i])
			}
		})
	}
	for i := range targets {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// pushGuarded turns a panic anywhere below into a transient outcome, so a
// bug in one push cannot take the server down.
func (c *Client) pushGuarded(ctx context.Context, hc *http.Client, t Target) (o Outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = newOutcome(t, Transient, c.now())
			o.Err = fmt.Errorf("apns: internal error: %v", r)
		}
	}()
	return c.pushOne(ctx, hc, t)
}

func (c *Client) pushOne(ctx context.Context, hc *http.Client, t Target) Outcome {
	token, err := checkTarget(t)
	if err != nil {
		o := newOutcome(t, Rejected, c.now())
		o.Reason, o.Err = err.Error(), err
		return o
	}
	if err := ctx.Err(); err != nil {
		return c.failed(t, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(ctx, token, t)
	if err != nil {
		o := newOutcome(t, Config, c.now())
		o.Reason, o.Err = "bad APNs endpoint", fmt.Errorf("apns: %w", err)
		return o
	}
	resp, err := hc.Do(req)
	if err != nil {
		return c.failed(t, err)
	}
	defer resp.Body.Close()
	return c.answered(t, resp)
}

// MDMPayload is the body of an MDM push: only the device's PushMagic.
func MDMPayload(pushMagic string) []byte {
	body, _ := json.Marshal(struct { // a struct of one string cannot fail
		MDM string `json:"mdm"`
	}{pushMagic})
	return body
}

func (c *Client) newRequest(ctx context.Context, token string, t Target) (*http.Request, error) {
	url := c.endpoint + "/3/device/" + token
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(MDMPayload(t.PushMagic)))
	if err != nil {
		return nil, err
	}
	expiration := "0"
	if c.expiration > 0 {
		expiration = strconv.FormatInt(c.now().Add(c.expiration).Unix(), 10)
	}
	req.Header.Set("apns-topic", t.Topic)
	req.Header.Set("apns-push-type", "mdm")
	req.Header.Set("apns-priority", "10")
	req.Header.Set("apns-expiration", expiration)
	return req, nil
}

// failed builds the outcome of a request that got no HTTP answer.
func (c *Client) failed(t Target, err error) Outcome {
	kind, reason := classifyError(err)
	o := newOutcome(t, kind, c.now())
	o.Reason, o.Err = reason, fmt.Errorf("apns: %w", err)
	return o
}

// answered builds the outcome of an HTTP answer.
func (c *Client) answered(t Target, resp *http.Response) Outcome {
	// Bounded read: a body larger than this is not APNs talking.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxReasonBody+1))
	reason := ""
	if resp.StatusCode != http.StatusOK {
		reason = parseReason(body)
	}
	kind := classifyStatus(resp.StatusCode, reason)
	o := newOutcome(t, kind, c.now())
	o.Status, o.Reason = resp.StatusCode, reason
	o.APNsID = printableHeader(resp.Header.Get("apns-id"), 64)
	if kind != Delivered {
		o.Err = &APNsError{Status: resp.StatusCode, Reason: reason}
	}
	if kind == Transient {
		o.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), maxRetryAfter)
	}
	return o
}

// checkTarget refuses targets APNs would reject or that would produce an
// invalid request, and returns the token in canonical lower-case hex.
func checkTarget(t Target) (string, error) {
	raw, err := hex.DecodeString(strings.TrimSpace(t.Token))
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: push token is not hex", ErrInvalidTarget)
	case len(raw) == 0 || len(raw) > maxTokenBytes:
		return "", fmt.Errorf("%w: push token length %d bytes", ErrInvalidTarget, len(raw))
	case t.PushMagic == "":
		return "", fmt.Errorf("%w: no PushMagic", ErrInvalidTarget)
	case t.Topic == "" || printableHeader(t.Topic, 255) != t.Topic || strings.Contains(t.Topic, " "):
		return "", fmt.Errorf("%w: topic %q is not a valid APNs topic", ErrInvalidTarget, t.Topic)
	}
	return hex.EncodeToString(raw), nil
}

// printableHeader returns s if it is printable ASCII of at most limit bytes.
func printableHeader(s string, limit int) string {
	if len(s) > limit {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return ""
		}
	}
	return s
}
