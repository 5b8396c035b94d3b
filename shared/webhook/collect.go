package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/gtm"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/logging"
)

// Collect limits: one request carries at most MaxCollectEvents events.
const (
	MaxCollectEvents = 100
	maxEventName     = 100
	maxID            = 200
	// futureSkew bounds how far ahead a browser clock may be before its
	// timestamp is replaced by the receive time.
	futureSkew = 5 * time.Minute
)

// TopicCollect is the topic of one collected event.
const TopicCollect = "collect"

// CollectRequest is the body of POST /collect.
type CollectRequest struct {
	WriteKey string         `json:"writeKey,omitempty"`
	Events   []CollectEvent `json:"events"`
}

// CollectEvent is one browser / GTM event as the contract names it. It is
// also the body of the ingest envelope, with Timestamp normalised.
type CollectEvent struct {
	Event       string          `json:"event"`
	EventID     string          `json:"eventId"`
	Timestamp   json.RawMessage `json:"timestamp"` // RFC 3339 or Unix milliseconds
	UserID      string          `json:"userId,omitempty"`
	AnonymousID string          `json:"anonymousId,omitempty"`
	Email       string          `json:"email,omitempty"`
	Phone       string          `json:"phone,omitempty"`
	Properties  map[string]any  `json:"properties,omitempty"`
}

// ParseCollect decodes and validates a /collect body. Every problem is
// apperr.Invalid naming the event index and field.
func ParseCollect(body []byte, now time.Time) (CollectRequest, []time.Time, error) {
	var req CollectRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, nil, apperr.E(apperr.Invalid, "body is not a JSON object {writeKey?, events:[…]}: %v", err)
	}
	switch n := len(req.Events); {
	case n == 0:
		return req, nil, apperr.E(apperr.Invalid, "events is empty")
	case n > MaxCollectEvents:
		return req, nil, apperr.E(apperr.Invalid, "events has %d items; at most %d per request", n, MaxCollectEvents)
	}
	times := make([]time.Time, len(req.Events))
	for i, e := range req.Events {
		fail := func(field, why string) error {
			return &apperr.Error{Kind: apperr.Invalid, Field: "events[" + strconv.Itoa(i) + "]." + field,
				Message: "events[" + strconv.Itoa(i) + "]." + field + " " + why}
		}
		switch {
		case strings.TrimSpace(e.Event) == "" || len(e.Event) > maxEventName:
			return req, nil, fail("event", "is required (at most 100 characters)")
		case strings.TrimSpace(e.EventID) == "" || len(e.EventID) > maxID:
			return req, nil, fail("eventId", "is required (at most 200 characters); it deduplicates retries")
		case e.UserID == "" && e.AnonymousID == "" && e.Email == "" && e.Phone == "":
			return req, nil, fail("anonymousId", "or userId, email or phone is required")
		case len(e.AnonymousID) > maxID || len(e.UserID) > maxID:
			return req, nil, fail("anonymousId", "and userId must be at most 200 characters")
		}
		t, err := parseTimestamp(e.Timestamp)
		if err != nil {
			return req, nil, fail("timestamp", err.Error())
		}
		if t.IsZero() || t.After(now.Add(futureSkew)) {
			t = now
		}
		times[i] = t.UTC()
	}
	return req, times, nil
}

func parseTimestamp(raw json.RawMessage) (time.Time, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return time.Time{}, nil
	}
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return time.Time{}, err
		}
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return time.Time{}, apperr.E(apperr.Invalid, "must be RFC 3339 or Unix milliseconds")
		}
		return t, nil
	}
	ms, err := strconv.ParseFloat(s, 64)
	if err != nil || ms < 0 || ms > 1e14 {
		return time.Time{}, apperr.E(apperr.Invalid, "must be RFC 3339 or Unix milliseconds")
	}
	return time.UnixMilli(int64(ms)), nil
}

func (h *Handler) collect(ctx context.Context, r request) (events.APIGatewayV2HTTPResponse, error) {
	now := h.now().UTC()
	req, times, err := ParseCollect(r.body, now)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	key := r.header["x-pulsehub-key"]
	if key == "" {
		key = req.WriteKey
	}
	if key == "" {
		return events.APIGatewayV2HTTPResponse{}, apperr.E(apperr.Unauthorized, "write key missing: send writeKey in the body or the X-PulseHub-Key header")
	}
	tenant, err := h.dir.TenantForWriteKey(ctx, key)
	if err != nil || tenant == "" {
		if err == nil || apperr.KindOf(err) == apperr.NotFound {
			return events.APIGatewayV2HTTPResponse{}, apperr.E(apperr.Unauthorized, "write key is not valid")
		}
		return events.APIGatewayV2HTTPResponse{}, err
	}
	ctx = logging.With(ctx, logging.Tenant(tenant))
	origin := r.header["origin"]
	if origin != "" {
		creds, err := h.credentials(ctx, tenant)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if !originAllowed(origin, creds.AllowedOrigins) {
			return withCORS(problem(403, "origin "+origin+" is not an allowed storefront origin of this workspace"), ""), nil
		}
	}
	envs := make([]ingest.Envelope, len(req.Events))
	for i, e := range req.Events {
		e.Timestamp = json.RawMessage(strconv.Quote(times[i].Format(time.RFC3339Nano)))
		body, err := json.Marshal(e)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, apperr.Wrap(apperr.Invalid, err, "events[%d] cannot be encoded", i)
		}
		envs[i] = ingest.Envelope{
			V: ingest.Version, Source: ingest.SourceCollect, Tenant: tenant, Topic: TopicCollect, ID: e.EventID,
			TriggeredAt: times[i], ReceivedAt: now, Body: body,
			// The browser's user agent goes with the event: the Conversions
			// API copy of a website event needs it.
			Headers: pick(r.header, "user-agent"),
		}
	}
	if err := h.enqueue(ctx, envs...); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return withCORS(jsonResponse(202, map[string]any{"status": "queued", "accepted": len(envs)}), origin), nil
}

// originAllowed: an empty list allows any origin (the write key is public
// by nature; the list narrows which storefronts may use it).
func originAllowed(origin string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	return slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(strings.TrimRight(a, "/"), origin) })
}

func withCORS(res events.APIGatewayV2HTTPResponse, origin string) events.APIGatewayV2HTTPResponse {
	if origin == "" {
		return res
	}
	res.Headers["Access-Control-Allow-Origin"] = origin
	res.Headers["Vary"] = "Origin"
	return res
}

// preflight answers the browser's CORS check. It cannot know the tenant (a
// preflight carries no write key), so it allows the method and headers;
// the POST itself enforces the tenant's origins.
func (h *Handler) preflight(_ context.Context, r request) (events.APIGatewayV2HTTPResponse, error) {
	origin := r.header["origin"]
	res := events.APIGatewayV2HTTPResponse{StatusCode: 204, Headers: map[string]string{
		"Access-Control-Allow-Methods": "POST, OPTIONS",
		"Access-Control-Allow-Headers": "Content-Type, X-PulseHub-Key",
		"Access-Control-Max-Age":       "86400",
	}}
	return withCORS(res, origin), nil
}

// collectorETag identifies the embedded collector script's content.
var collectorETag = func() string {
	sum := sha256.Sum256(gtm.CollectorJS)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

// collectorScript serves gtm.CollectorJS, the script the PulseHub Collect
// GTM tag injects, so merchants need not host it. It is public and the
// same for every workspace: any origin may load it, browsers and CDNs keep
// it an hour (a changed script reaches every storefront within that), and
// a matching If-None-Match gets 304.
func collectorScript(r request) events.APIGatewayV2HTTPResponse {
	h := map[string]string{
		"Content-Type":                 "application/javascript; charset=utf-8",
		"Cache-Control":                "public, max-age=3600, stale-while-revalidate=86400",
		"ETag":                         collectorETag,
		"Access-Control-Allow-Origin":  "*",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"X-Content-Type-Options":       "nosniff",
	}
	for _, tag := range strings.Split(r.header["if-none-match"], ",") {
		if t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tag), "W/")); t == collectorETag || t == "*" {
			return events.APIGatewayV2HTTPResponse{StatusCode: 304, Headers: h}
		}
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: h, Body: string(gtm.CollectorJS)}
}
