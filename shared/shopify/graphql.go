package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// DefaultAPIVersion is the Admin API version used when the integration
// settings name none.
const DefaultAPIVersion = "2025-01"

// maxAttempts bounds the retries of one GraphQL call (throttling, 5xx).
const maxAttempts = 8

// Client calls one shop's Admin GraphQL API. It paces itself from the cost
// data Shopify returns with every response, so it waits for the bucket to
// refill instead of being throttled, and retries when it is throttled anyway.
// A Client is safe for concurrent use; calls share one bucket estimate.
type Client struct {
	http     *http.Client
	endpoint string
	token    string
	// Sleep waits for d unless ctx ends first; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used to refill the bucket estimate; tests replace it.
	Now func() time.Time

	mu     sync.Mutex
	bucket ThrottleStatus
	seenAt time.Time
	costs  map[string]float64 // last requested cost per query text
}

// Endpoint returns the GraphQL URL of shop. base overrides the host (the
// local sandbox, tests); empty means the shop's own host, as in production.
func Endpoint(base, shop, version string) string {
	if version == "" {
		version = DefaultAPIVersion
	}
	if base == "" {
		base = "https://" + shop
	}
	return strings.TrimRight(base, "/") + "/admin/api/" + version + "/graphql.json"
}

// NewClient returns a client for endpoint (see Endpoint) authenticated with
// the app's Admin API access token.
func NewClient(hc *http.Client, endpoint, accessToken string) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{http: hc, endpoint: endpoint, token: accessToken, Sleep: retry.Sleep, Now: time.Now, costs: map[string]float64{}}
}

// ThrottleStatus is extensions.cost.throttleStatus.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// Cost is extensions.cost.
type Cost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
}

// GraphQLError is one element of a response's errors.
type GraphQLError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

type response struct {
	Data       json.RawMessage `json:"data"`
	Errors     []GraphQLError  `json:"errors"`
	Extensions struct {
		Cost *Cost `json:"cost"`
	} `json:"extensions"`
}

// Do runs query with variables and decodes data into out.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("shopify: encode query: %w", err)
	}
	for attempt := 0; ; attempt++ {
		if err := c.Sleep(ctx, c.waitFor(c.expectedCost(query))); err != nil {
			return apperr.Wrap(apperr.Transient, err, "shopify: waiting for rate limit")
		}
		res, status, err := c.post(ctx, body)
		if err != nil {
			if apperr.KindOf(err) != apperr.Transient || attempt+1 >= maxAttempts {
				return err
			}
			if err := c.Sleep(ctx, throttleBackoff.Delay(attempt)); err != nil {
				return apperr.Wrap(apperr.Transient, err, "shopify: retry interrupted")
			}
			continue
		}
		if cost := res.Extensions.Cost; cost != nil {
			c.observe(query, *cost)
		}
		if throttled(status, res.Errors) {
			if attempt+1 >= maxAttempts {
				return apperr.E(apperr.RateLimited, "shopify: still throttled after %d attempts", maxAttempts)
			}
			// The bucket estimate now says how long to wait; when the
			// response carried no cost data, back off instead.
			if res.Extensions.Cost == nil {
				if err := c.Sleep(ctx, throttleBackoff.Delay(attempt)); err != nil {
					return apperr.Wrap(apperr.Transient, err, "shopify: retry interrupted")
				}
			}
			continue
		}
		if len(res.Errors) > 0 {
			msgs := make([]string, len(res.Errors))
			for i, e := range res.Errors {
				msgs[i] = e.Message
			}
			return apperr.E(apperr.Invalid, "shopify: graphql errors: %s", strings.Join(msgs, "; "))
		}
		if out != nil {
			if err := json.Unmarshal(res.Data, out); err != nil {
				return fmt.Errorf("shopify: decode data: %w", err)
			}
		}
		return nil
	}
}

func (c *Client) post(ctx context.Context, body []byte) (response, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return response{}, 0, fmt.Errorf("shopify: request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, 0, apperr.Wrap(apperr.Transient, err, "shopify: post %s", c.endpoint)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return response{}, resp.StatusCode, apperr.Wrap(apperr.Transient, err, "shopify: read response")
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return response{}, resp.StatusCode, apperr.E(apperr.Unauthorized, "shopify: access token rejected (%d)", resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound:
		return response{}, resp.StatusCode, apperr.E(apperr.NotFound, "shopify: %s not found (shop domain or API version wrong?)", c.endpoint)
	case resp.StatusCode >= 500:
		return response{}, resp.StatusCode, apperr.E(apperr.Transient, "shopify: server error %d", resp.StatusCode)
	}
	var res response
	if err := json.Unmarshal(raw, &res); err != nil {
		if resp.StatusCode == http.StatusTooManyRequests {
			return response{}, resp.StatusCode, apperr.E(apperr.Transient, "shopify: throttled (429)")
		}
		return response{}, resp.StatusCode, fmt.Errorf("shopify: decode response (%d): %w", resp.StatusCode, err)
	}
	return res, resp.StatusCode, nil
}

func throttled(status int, errs []GraphQLError) bool {
	if status == http.StatusTooManyRequests {
		return true
	}
	for _, e := range errs {
		if e.Extensions.Code == "THROTTLED" || e.Message == "Throttled" {
			return true
		}
	}
	return false
}

// observe records the bucket state Shopify reported.
func (c *Client) observe(query string, cost Cost) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bucket = cost.ThrottleStatus
	c.seenAt = c.Now()
	c.costs[query] = cost.RequestedQueryCost
}

func (c *Client) expectedCost(query string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.costs[query]
}

// waitFor returns how long to wait until the bucket, refilled at its restore
// rate since it was last seen, holds cost points.
func (c *Client) waitFor(cost float64) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.bucket
	if b.RestoreRate <= 0 || cost <= 0 {
		return 0
	}
	cost = min(cost, b.MaximumAvailable)
	avail := min(b.MaximumAvailable, b.CurrentlyAvailable+b.RestoreRate*c.Now().Sub(c.seenAt).Seconds())
	if avail >= cost {
		return 0
	}
	// Capped before converting: a tiny restore rate would overflow the
	// Duration into a negative (no wait at all). Real buckets refill in
	// seconds to minutes; past the cap the request goes and THROTTLED
	// paces it.
	return time.Duration(min((cost-avail)/b.RestoreRate, maxThrottleWait.Seconds()) * float64(time.Second))
}

// maxThrottleWait bounds one wait for the cost bucket to refill.
const maxThrottleWait = time.Hour

// throttleBackoff paces retries after THROTTLED, 429 and 5xx answers.
var throttleBackoff = retry.Backoff{Base: 250 * time.Millisecond, Max: 5 * time.Second}

// Bucket returns the last throttle status seen (for logs and tests).
func (c *Client) Bucket() ThrottleStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bucket
}
