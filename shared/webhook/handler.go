package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/channel/unsubscribe"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/logging"
	"github.com/pulsehub/pulsehub/shared/metrics"
)

// MaxBody is the largest request body accepted (413 above). An envelope must
// fit in one SQS message with its headers; provider payloads are far smaller.
const MaxBody = 200 << 10

// Credentials are one tenant's webhook secrets, decrypted.
type Credentials struct {
	ShopifySecrets      []string // current first, then the previous one during a rotation window
	MetaAppSecrets      []string // Meta app secret(s); WhatsApp Cloud callbacks are signed with it too
	MetaVerifyToken     string
	WhatsAppVerifyToken string
	TwilioAuthToken     string
	SendGridPublicKey   string   // base64 DER (as shown in SendGrid's settings)
	AllowedOrigins      []string // storefront origins allowed to POST /collect from a browser; empty allows any
}

// Directory resolves tenants from verified provider identifiers and returns
// their credentials. A tenant that cannot be resolved is apperr.NotFound.
type Directory interface {
	TenantForShop(ctx context.Context, domain string) (string, error)
	TenantForWriteKey(ctx context.Context, key string) (string, error)
	TenantForMeta(ctx context.Context, objectID string) (string, error)
	TenantForWhatsApp(ctx context.Context, phoneNumberID string) (string, error)
	// TenantForVerifyToken finds the workspace whose Meta ("meta") or
	// WhatsApp ("whatsapp") settings hold this verify token; a match is
	// itself the proof that the token is right.
	TenantForVerifyToken(ctx context.Context, name, token string) (string, error)
	Credentials(ctx context.Context, tenant string) (Credentials, error)
}

// Queue sends messages to the ingest queue.
type Queue interface {
	Send(ctx context.Context, bodies [][]byte) error
}

// Handler serves the webhooks function's routes from API Gateway HTTP API
// (payload v2) events.
type Handler struct {
	log       *slog.Logger
	dir       Directory
	queue     Queue
	publicURL string // PUBLIC_BASE_URL: Twilio signs the URL it called
	now       func() time.Time
	metrics   Counter      // nil: none recorded
	unsub     Unsubscribes // nil: no unsubscribe links served

	mu            sync.Mutex
	unknownLogged map[string]bool             // topic → already logged by this instance
	sgKeys        map[string]*ecdsa.PublicKey // SendGrid verification key → parsed (nil: invalid)
}

// Counter records business metrics (metrics.Recorder).
type Counter interface {
	Count(ctx context.Context, name string, v float64, dims ...metrics.Dim)
}

// count records a metric when a Counter is set.
func (h *Handler) count(ctx context.Context, name string, v float64, dims ...metrics.Dim) {
	if h.metrics != nil {
		h.metrics.Count(ctx, name, v, dims...)
	}
}

// New returns a Handler.
func New(log *slog.Logger, dir Directory, q Queue, publicURL string, now func() time.Time) *Handler {
	return &Handler{log: log, dir: dir, queue: q, publicURL: strings.TrimRight(publicURL, "/"), now: now, unknownLogged: map[string]bool{}, sgKeys: map[string]*ecdsa.PublicKey{}}
}

// request is the part of an API Gateway event the routes read.
type request struct {
	method, path string
	header       map[string]string // lower-case names
	query        map[string]string
	rawQuery     string
	pathParams   map[string]string
	body         []byte
}

// Handle routes one HTTP request.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	ctx = logging.With(ctx, logging.RequestID(ev.RequestContext.RequestID))
	r, err := newRequest(ev)
	if err != nil {
		return h.fail(ctx, err), nil
	}
	var res events.APIGatewayV2HTTPResponse
	switch route := r.method + " " + r.path; {
	case route == "POST /webhooks/shopify":
		res, err = h.shopify(ctx, r)
	case route == "GET /webhooks/meta", route == "GET /webhooks/whatsapp":
		res, err = h.metaHandshake(ctx, r)
	case route == "POST /webhooks/meta":
		res, err = h.meta(ctx, r, ingest.SourceMeta)
	case route == "POST /webhooks/whatsapp":
		res, err = h.meta(ctx, r, ingest.SourceWhatsApp)
	case r.method == "POST" && strings.HasPrefix(r.path, "/webhooks/twilio/"):
		res, err = h.twilio(ctx, r)
	case r.method == "POST" && strings.HasPrefix(r.path, "/webhooks/sendgrid/"):
		res, err = h.sendgrid(ctx, r)
	case route == "POST /collect":
		res, err = h.collect(ctx, r)
	case route == "OPTIONS /collect":
		res, err = h.preflight(ctx, r)
	case route == "GET /pulsehub-collect.js":
		res = collectorScript(r)
	case (r.method == "GET" || r.method == "POST") && strings.HasPrefix(r.path, unsubscribe.Path):
		res, err = h.unsubscribePage(ctx, r)
	default:
		err = apperr.E(apperr.NotFound, "no route for %s %s", r.method, r.path)
	}
	if err != nil {
		res = h.fail(ctx, err)
		if r.path == "/collect" {
			// A storefront script must be able to read why it was refused;
			// the error says nothing about the workspace.
			res = withCORS(res, r.header["origin"])
		}
	}
	return res, nil
}

func newRequest(ev events.APIGatewayV2HTTPRequest) (request, error) {
	r := request{
		method:     ev.RequestContext.HTTP.Method,
		path:       ev.RawPath,
		header:     make(map[string]string, len(ev.Headers)),
		query:      ev.QueryStringParameters,
		rawQuery:   ev.RawQueryString,
		pathParams: ev.PathParameters,
	}
	if r.path == "" {
		r.path = ev.RequestContext.HTTP.Path
	}
	for k, v := range ev.Headers {
		r.header[strings.ToLower(k)] = v
	}
	// Check the size before decoding: base64 is 4/3 of the body.
	if len(ev.Body) > MaxBody*4/3+4 {
		return r, apperr.E(apperr.TooLarge, "request body is larger than %d bytes", MaxBody)
	}
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return r, apperr.E(apperr.Invalid, "request body is not valid base64")
		}
		r.body = b
	} else {
		r.body = []byte(ev.Body)
	}
	if len(r.body) > MaxBody {
		return r, apperr.E(apperr.TooLarge, "request body is larger than %d bytes", MaxBody)
	}
	return r, nil
}

// fail turns an error into problem+json, logging internal errors only.
func (h *Handler) fail(ctx context.Context, err error) events.APIGatewayV2HTTPResponse {
	kind := apperr.KindOf(err)
	status := apperr.HTTPStatus(kind)
	switch kind {
	case apperr.Internal, apperr.Transient:
		h.log.ErrorContext(ctx, "webhook failed", "err", err)
	case apperr.Unauthorized:
		h.log.WarnContext(ctx, "webhook rejected", "err", err)
	}
	h.count(ctx, "WebhooksRejected", 1, metrics.Dim{Name: "Reason", Value: kind.String()})
	return problem(status, apperr.Message(err))
}

func problem(status int, detail string) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(map[string]any{"type": "about:blank", "title": statusTitle(status), "status": status, "detail": detail})
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/problem+json"}, Body: string(b)}
}

func statusTitle(status int) string {
	switch status {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 413:
		return "Content Too Large"
	case 503:
		return "Service Unavailable"
	}
	return "Internal Server Error"
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(v)
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}

var accepted = jsonResponse(200, map[string]string{"status": "accepted"})

// unauthorized is the one answer for every verification failure, so a
// caller cannot tell an unknown shop from a wrong signature.
var errUnauthorized = apperr.E(apperr.Unauthorized, "webhook signature is missing or does not verify")

// resolve maps a Directory lookup error: an unknown tenant is a failed
// verification, anything else is the directory's own failure.
func resolve(tenant string, err error) (string, error) {
	switch {
	case err == nil && tenant != "":
		return tenant, nil
	case err == nil, apperr.KindOf(err) == apperr.NotFound:
		return "", errUnauthorized
	}
	return "", fmt.Errorf("webhook: resolve tenant: %w", err)
}

func (h *Handler) credentials(ctx context.Context, tenant string) (Credentials, error) {
	c, err := h.dir.Credentials(ctx, tenant)
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return Credentials{}, errUnauthorized
		}
		return Credentials{}, fmt.Errorf("webhook: credentials of %s: %w", tenant, err)
	}
	return c, nil
}

// enqueue encodes and sends envelopes. A queue failure is transient, so the
// provider retries and ingest's dedupe absorbs any copy that did get through.
func (h *Handler) enqueue(ctx context.Context, envs ...ingest.Envelope) error {
	bodies := make([][]byte, 0, len(envs))
	for _, e := range envs {
		b, err := ingest.Encode(e)
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
	}
	if err := h.queue.Send(ctx, bodies); err != nil {
		if !apperr.Retryable(apperr.KindOf(err)) {
			// Too large for SQS once enveloped (a payload near MaxBody that
			// escapes badly): a retry cannot succeed, so say so (413).
			return err
		}
		return apperr.Wrap(apperr.Transient, err, "could not queue the webhook; retry later")
	}
	if len(envs) > 0 {
		h.count(ctx, "WebhooksAccepted", float64(len(envs)), metrics.Dim{Name: "Source", Value: envs[0].Source})
	}
	return nil
}

// rawBody keeps the body as the envelope's JSON: as is when it is valid JSON,
// as a JSON string otherwise, so a malformed payload with a valid signature is
// still queued (for audit) and ingest dead-letters it with the reason.
func rawBody(b []byte) json.RawMessage {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	q, _ := json.Marshal(string(b))
	return q
}

func bodyID(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// logUnknownOnce logs an unknown topic the first time this instance sees it.
func (h *Handler) logUnknownOnce(ctx context.Context, source, topic, tenant string) {
	key := source + "/" + topic
	h.mu.Lock()
	first := !h.unknownLogged[key]
	h.unknownLogged[key] = true
	h.mu.Unlock()
	if first {
		h.log.WarnContext(ctx, "webhook topic ignored", "source", source, "topic", topic, "tenant", tenant)
	}
}

// ShopifyTopics are the Shopify webhook topics PulseHub subscribes to and
// ingests; any other topic is answered 200 and dropped.
var shopifyTopics = map[string]bool{
	"orders/create": true, "orders/updated": true, "orders/paid": true, "orders/cancelled": true,
	"orders/fulfilled": true, "refunds/create": true, "customers/create": true, "customers/update": true,
	"customers/marketing_consent_update": true, "customers/email_marketing_consent_update": true,
	"checkouts/create": true, "checkouts/update": true, "app/uninstalled": true,
	"customers/data_request": true, "customers/redact": true, "shop/redact": true,
}

// ShopifyTopic reports whether topic is one PulseHub ingests.
func ShopifyTopic(topic string) bool { return shopifyTopics[topic] }

func (h *Handler) shopify(ctx context.Context, r request) (events.APIGatewayV2HTTPResponse, error) {
	shop := strings.ToLower(strings.TrimSpace(r.header["x-shopify-shop-domain"]))
	sig := r.header["x-shopify-hmac-sha256"]
	if shop == "" || sig == "" {
		return events.APIGatewayV2HTTPResponse{}, errUnauthorized
	}
	tenant, err := resolve(h.dir.TenantForShop(ctx, shop))
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	creds, err := h.credentials(ctx, tenant)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !VerifyShopify(r.body, sig, creds.ShopifySecrets) {
		return events.APIGatewayV2HTTPResponse{}, errUnauthorized
	}
	ctx = logging.With(ctx, logging.Tenant(tenant))
	topic := r.header["x-shopify-topic"]
	if !shopifyTopics[topic] {
		h.logUnknownOnce(ctx, ingest.SourceShopify, topic, tenant)
		return jsonResponse(200, map[string]string{"status": "ignored"}), nil
	}
	id := r.header["x-shopify-webhook-id"]
	if id == "" {
		id = bodyID(r.body)
	}
	now := h.now().UTC()
	triggered := now
	if t, err := time.Parse(time.RFC3339Nano, r.header["x-shopify-triggered-at"]); err == nil {
		triggered = t.UTC()
	}
	env := ingest.Envelope{
		V: ingest.Version, Source: ingest.SourceShopify, Tenant: tenant, Topic: topic, ID: id,
		TriggeredAt: triggered, ReceivedAt: now,
		Headers: pick(r.header, "x-shopify-shop-domain", "x-shopify-webhook-id", "x-shopify-event-id",
			"x-shopify-triggered-at", "x-shopify-api-version"),
		Body: rawBody(r.body),
	}
	if err := h.enqueue(ctx, env); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return accepted, nil
}

func pick(header map[string]string, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		if v := header[n]; v != "" {
			out[n] = v
		}
	}
	return out
}

// metaHandshake answers GET /webhooks/meta and /webhooks/whatsapp. The GET
// carries nothing but the verify token, so the token itself finds the
// workspace (a lookup by its SHA-256 that the integration settings keep).
// A callback URL with ?tenant=<id> (how they were configured before the
// lookup existed) is still honoured: the token is then compared with that
// workspace's.
func (h *Handler) metaHandshake(ctx context.Context, r request) (events.APIGatewayV2HTTPResponse, error) {
	name := ingest.SourceMeta
	if strings.HasSuffix(r.path, "/whatsapp") {
		name = ingest.SourceWhatsApp
	}
	denied := problem(403, "verify token does not match the one saved in PulseHub's "+name+" settings")
	if r.query["hub.mode"] != "subscribe" || r.query["hub.challenge"] == "" {
		return events.APIGatewayV2HTTPResponse{}, apperr.E(apperr.Invalid, "a verification request needs hub.mode=subscribe, hub.verify_token and hub.challenge")
	}
	token := r.query["hub.verify_token"]
	if tenant := r.query["tenant"]; tenant != "" {
		creds, err := h.credentials(ctx, tenant)
		if err != nil {
			if apperr.KindOf(err) == apperr.Unauthorized {
				return denied, nil
			}
			return events.APIGatewayV2HTTPResponse{}, err
		}
		want := creds.MetaVerifyToken
		if name == ingest.SourceWhatsApp {
			want = creds.WhatsAppVerifyToken
		}
		challenge, ok := MetaHandshake(r.query, want)
		if !ok {
			return denied, nil
		}
		return handshakeOK(challenge), nil
	}
	tenant, err := h.dir.TenantForVerifyToken(ctx, name, token)
	switch {
	case apperr.KindOf(err) == apperr.NotFound || (err == nil && tenant == ""):
		return denied, nil
	case err != nil:
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("webhook: %s handshake: %w", name, err)
	}
	h.log.InfoContext(logging.With(ctx, logging.Tenant(tenant)), "webhook subscription verified", "source", name)
	return handshakeOK(r.query["hub.challenge"]), nil
}

func handshakeOK(challenge string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: challenge}
}

// metaPayload is the routing part of a Meta / WhatsApp Cloud callback.
type metaPayload struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Time    int64  `json:"time"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

func (h *Handler) meta(ctx context.Context, r request, source string) (events.APIGatewayV2HTTPResponse, error) {
	sig := r.header["x-hub-signature-256"]
	if sig == "" {
		return events.APIGatewayV2HTTPResponse{}, errUnauthorized
	}
	var p metaPayload
	parsed := json.Unmarshal(r.body, &p) == nil
	tenant := r.query["tenant"]
	if tenant == "" {
		// Without ?tenant= the workspace comes from the object the callback
		// is about; it is trusted only once the signature verifies.
		var err error
		switch {
		case !parsed || len(p.Entry) == 0:
			// Nothing names a workspace whose secret could verify the
			// signature, so this is an unverifiable delivery: 401.
			return events.APIGatewayV2HTTPResponse{}, errUnauthorized
		case source == ingest.SourceWhatsApp:
			id := ""
			if len(p.Entry[0].Changes) > 0 {
				id = p.Entry[0].Changes[0].Value.Metadata.PhoneNumberID
			}
			tenant, err = resolve(h.dir.TenantForWhatsApp(ctx, id))
		default:
			tenant, err = resolve(h.dir.TenantForMeta(ctx, p.Entry[0].ID))
		}
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	creds, err := h.credentials(ctx, tenant)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !VerifyMeta(r.body, sig, creds.MetaAppSecrets) {
		return events.APIGatewayV2HTTPResponse{}, errUnauthorized
	}
	now := h.now().UTC()
	topic := source + "/" + p.Object
	if parsed && len(p.Entry) > 0 && len(p.Entry[0].Changes) > 0 {
		topic = source + "/" + p.Entry[0].Changes[0].Field
	}
	triggered := now
	if parsed && len(p.Entry) > 0 && p.Entry[0].Time > 0 {
		triggered = unixAny(p.Entry[0].Time)
	}
	env := ingest.Envelope{
		V: ingest.Version, Source: source, Tenant: tenant, Topic: topic, ID: bodyID(r.body),
		TriggeredAt: triggered, ReceivedAt: now, Body: rawBody(r.body),
	}
	if err := h.enqueue(logging.With(ctx, logging.Tenant(tenant)), env); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return accepted, nil
}

// unixAny reads a Unix time in seconds or milliseconds.
func unixAny(v int64) time.Time {
	if v > 1e12 {
		return time.UnixMilli(v).UTC()
	}
	return time.Unix(v, 0).UTC()
}

func tenantFromPath(r request, prefix string) string {
	if t := r.pathParams["tenantId"]; t != "" {
		return t
	}
	t, _, _ := strings.Cut(strings.TrimPrefix(r.path, prefix), "/")
	return t
}

// Twilio topics.
const (
	TopicTwilioStatus  = "twilio/status"
	TopicTwilioInbound = "twilio/inbound"
)

func (h *Handler) twilio(ctx context.Context, r request) (events.APIGatewayV2HTTPResponse, error) {
	tenant := tenantFromPath(r, "/webhooks/twilio/")
	sig := r.header["x-twilio-signature"]
	if tenant == "" || sig == "" {
		return events.APIGatewayV2HTTPResponse{}, errUnauthorized
	}
	form, err := url.ParseQuery(string(r.body))
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, apperr.E(apperr.Invalid, "body is not form-encoded: %v", err)
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		params[k] = v[0]
	}
	creds, err := h.credentials(ctx, tenant)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	u := h.publicURL + r.path
	if r.rawQuery != "" {
		u += "?" + r.rawQuery
	}
	if !VerifyTwilio(creds.TwilioAuthToken, u, params, sig) {
		return events.APIGatewayV2HTTPResponse{}, errUnauthorized
	}
	sid := params["MessageSid"]
	if sid == "" {
		sid = params["SmsSid"]
	}
	topic, id := TopicTwilioInbound, sid
	if status := params["MessageStatus"]; status != "" && status != "received" {
		topic, id = TopicTwilioStatus, sid+"#"+status
	}
	if sid == "" {
		id = bodyID(r.body)
	}
	body, _ := json.Marshal(params)
	now := h.now().UTC()
	env := ingest.Envelope{
		V: ingest.Version, Source: ingest.SourceTwilio, Tenant: tenant, Topic: topic, ID: id,
		TriggeredAt: now, ReceivedAt: now, Body: body,
	}
	if err := h.enqueue(logging.With(ctx, logging.Tenant(tenant)), env); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	// An empty TwiML response: no automatic reply; opt-out replies are the
	// carrier's / Twilio Advanced Opt-Out's.
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/xml"}, Body: "<Response></Response>"}, nil
}

// TopicSendGrid is the topic of SendGrid event webhook batches.
const TopicSendGrid = "sendgrid/events"

func (h *Handler) sendgrid(ctx context.Context, r request) (events.APIGatewayV2HTTPResponse, error) {
	tenant := tenantFromPath(r, "/webhooks/sendgrid/")
	sig := r.header["x-twilio-email-event-webhook-signature"]
	ts := r.header["x-twilio-email-event-webhook-timestamp"]
	if tenant == "" || sig == "" || ts == "" {
		return events.APIGatewayV2HTTPResponse{}, errUnauthorized
	}
	// Freshness first: it is signed, so a replay cannot refresh it, and a
	// stale request costs no directory read or ECDSA verification. The
	// answer is the same for every tenant path, so it reveals nothing.
	now := h.now().UTC()
	triggered, err := CheckSendGridTimestamp(ts, now)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	creds, err := h.credentials(ctx, tenant)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !VerifySendGridKey(h.sendgridKey(creds.SendGridPublicKey), r.body, sig, ts) {
		return events.APIGatewayV2HTTPResponse{}, errUnauthorized
	}
	// One envelope per POST: SendGrid retries the same batch, so the body
	// hash dedupes retries; ingest keys each event by its sg_event_id.
	env := ingest.Envelope{
		V: ingest.Version, Source: ingest.SourceSendGrid, Tenant: tenant, Topic: TopicSendGrid, ID: bodyID(r.body),
		TriggeredAt: triggered, ReceivedAt: now, Body: rawBody(r.body),
	}
	if err := h.enqueue(logging.With(ctx, logging.Tenant(tenant)), env); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return accepted, nil
}

// sendgridKey parses a tenant's SendGrid key once per instance; parsing
// costs as much as the signature check itself.
func (h *Handler) sendgridKey(pub string) *ecdsa.PublicKey {
	h.mu.Lock()
	k, ok := h.sgKeys[pub]
	h.mu.Unlock()
	if ok {
		return k
	}
	k, _ = ParseSendGridKey(pub) // nil when invalid: every signature fails
	h.mu.Lock()
	if len(h.sgKeys) >= 1000 {
		clear(h.sgKeys) // bound memory; keys are re-parsed on demand
	}
	h.sgKeys[pub] = k
	h.mu.Unlock()
	return k
}

func parseInt(s string) (int64, error) {
	var n int64
	if s == "" || len(s) > 18 {
		return 0, errors.New("not a number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}
