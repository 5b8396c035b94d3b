package meta

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// CAPI limits.
const (
	MaxBatch = 1000               // events per request
	MaxAge   = 7 * 24 * time.Hour // older events are rejected by Meta; never sent
)

// DefaultGraphVersion is the Graph API version used when none is configured.
const DefaultGraphVersion = "v21.0"

// Event names PulseHub forwards.
const (
	EventPurchase         = "Purchase"
	EventInitiateCheckout = "InitiateCheckout"
	EventAddToCart        = "AddToCart"
	EventViewContent      = "ViewContent"
)

// Forwarded reports whether a CAPI event name is one PulseHub sends.
func Forwarded(name string) bool {
	switch name {
	case EventPurchase, EventInitiateCheckout, EventAddToCart, EventViewContent:
		return true
	}
	return false
}

// Event is one element of the request's data array.
type Event struct {
	EventName      string      `json:"event_name"`
	EventTime      int64       `json:"event_time"` // Unix seconds
	EventID        string      `json:"event_id,omitempty"`
	EventSourceURL string      `json:"event_source_url,omitempty"`
	ActionSource   string      `json:"action_source"`
	UserData       UserData    `json:"user_data"`
	CustomData     *CustomData `json:"custom_data,omitempty"`
}

// CustomData carries the commerce fields.
type CustomData struct {
	Currency    string    `json:"currency,omitempty"`
	Value       float64   `json:"value,omitempty"`
	ContentIDs  []string  `json:"content_ids,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Contents    []Content `json:"contents,omitempty"`
	NumItems    int       `json:"num_items,omitempty"`
	OrderID     string    `json:"order_id,omitempty"`
}

// Content is one product in custom_data.contents.
type Content struct {
	ID       string  `json:"id"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"item_price,omitempty"`
}

// Client posts events to one pixel.
type Client struct {
	http      *http.Client
	base      string
	version   string
	pixelID   string
	token     string
	appSecret string
	// TestEventCode routes events to Events Manager's test tab when set.
	TestEventCode string
	now           func() time.Time
}

// NewClient returns a client for pixelID. base overrides
// https://graph.facebook.com (the sandbox, tests); appSecret, when set, adds
// appsecret_proof as Meta recommends for server calls.
func NewClient(hc *http.Client, base, version, pixelID, accessToken, appSecret string) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if base == "" {
		base = "https://graph.facebook.com"
	}
	if version == "" {
		version = DefaultGraphVersion
	}
	return &Client{http: hc, base: strings.TrimRight(base, "/"), version: version, pixelID: pixelID, token: accessToken, appSecret: appSecret, now: time.Now}
}

// Result sums what Meta accepted.
type Result struct {
	Received int // events_received over all batches
	Stale    int // events left out because they were older than MaxAge
	Batches  int
}

// Send forwards events in batches of at most MaxBatch, leaving out events
// older than MaxAge (Meta rejects a whole batch over one stale event). On
// error, Result counts the batches already accepted.
func (c *Client) Send(ctx context.Context, events []Event) (Result, error) {
	fresh, stale := SplitStale(events, c.now())
	res := Result{Stale: len(stale)}
	for _, batch := range Batches(fresh, MaxBatch) {
		n, err := c.post(ctx, batch)
		if err != nil {
			return res, err
		}
		res.Received += n
		res.Batches++
	}
	return res, nil
}

// SplitStale separates events within MaxAge of now from older ones.
func SplitStale(events []Event, now time.Time) (fresh, stale []Event) {
	cutoff := now.Add(-MaxAge).Unix()
	for _, e := range events {
		if e.EventTime < cutoff {
			stale = append(stale, e)
			continue
		}
		fresh = append(fresh, e)
	}
	return fresh, stale
}

// Batches splits events into consecutive slices of at most size.
func Batches(events []Event, size int) [][]Event {
	var out [][]Event
	for len(events) > 0 {
		n := min(size, len(events))
		out = append(out, events[:n:n])
		events = events[n:]
	}
	return out
}

type request struct {
	Data           []Event `json:"data"`
	AccessToken    string  `json:"access_token"`
	AppSecretProof string  `json:"appsecret_proof,omitempty"`
	TestEventCode  string  `json:"test_event_code,omitempty"`
}

type graphError struct {
	Error *struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		ErrorSubcode int    `json:"error_subcode"`
		FBTraceID    string `json:"fbtrace_id"`
	} `json:"error"`
	EventsReceived int      `json:"events_received"`
	Messages       []string `json:"messages"`
	FBTraceID      string   `json:"fbtrace_id"`
}

// AppSecretProof is the hex HMAC-SHA256 of the access token keyed with the app secret.
func AppSecretProof(appSecret, token string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

func (c *Client) post(ctx context.Context, batch []Event) (int, error) {
	r := request{Data: batch, AccessToken: c.token, TestEventCode: c.TestEventCode}
	if c.appSecret != "" {
		r.AppSecretProof = AppSecretProof(c.appSecret, c.token)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("meta: encode events: %w", err)
	}
	url := c.base + "/" + c.version + "/" + c.pixelID + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("meta: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, apperr.Wrap(apperr.Transient, err, "meta: post events to pixel %s", c.pixelID)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out graphError
	if err := json.Unmarshal(raw, &out); err != nil && resp.StatusCode/100 == 2 {
		// A 2xx that is not the Graph API's JSON (a proxy's page, a cut-off
		// body) says nothing about the events: send them again later.
		return 0, apperr.Wrap(apperr.Transient, err, "meta: answer %d is not the Graph API's JSON", resp.StatusCode)
	}
	if resp.StatusCode/100 == 2 && out.Error == nil {
		return out.EventsReceived, nil
	}
	msg := strings.TrimSpace(string(raw))
	if e := out.Error; e != nil {
		msg = fmt.Sprintf("%s (code %d, subcode %d, fbtrace_id %s)", e.Message, e.Code, e.ErrorSubcode, e.FBTraceID)
		switch e.Code {
		case 190, 102:
			return 0, apperr.E(apperr.Unauthorized, "meta: access token rejected: %s", msg)
		case 4, 17, 32, 613, 80004:
			return 0, apperr.E(apperr.RateLimited, "meta: rate limited: %s", msg)
		case 1, 2:
			return 0, apperr.E(apperr.Transient, "meta: temporary error: %s", msg)
		}
	}
	if resp.StatusCode >= 500 {
		return 0, apperr.E(apperr.Transient, "meta: server error %d: %s", resp.StatusCode, msg)
	}
	return 0, apperr.E(apperr.Invalid, "meta: events rejected (%d): %s", resp.StatusCode, msg)
}
