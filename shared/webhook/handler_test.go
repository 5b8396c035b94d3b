package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pulsehub/pulsehub/shared/api/apitest"
	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/gtm"
	"github.com/pulsehub/pulsehub/shared/webhook/webhooktest"
)

const (
	testTenant    = "t-demo"
	testShop      = "demo-store.myshopify.com"
	testPublicURL = "https://hooks.example.test"
)

type fakeDir struct {
	creds Credentials
}

func (d fakeDir) lookup(v, want string) (string, error) {
	if v == want {
		return testTenant, nil
	}
	return "", apperr.E(apperr.NotFound, "no tenant")
}
func (d fakeDir) TenantForShop(_ context.Context, s string) (string, error) {
	return d.lookup(s, testShop)
}
func (d fakeDir) TenantForWriteKey(_ context.Context, k string) (string, error) {
	return d.lookup(k, "demo-write-key")
}
func (d fakeDir) TenantForMeta(_ context.Context, id string) (string, error) {
	return d.lookup(id, "page-1")
}
func (d fakeDir) TenantForWhatsApp(_ context.Context, id string) (string, error) {
	return d.lookup(id, "106540352242922")
}
func (d fakeDir) TenantForVerifyToken(_ context.Context, name, token string) (string, error) {
	want := d.creds.MetaVerifyToken
	if name == "whatsapp" {
		want = d.creds.WhatsAppVerifyToken
	}
	if want == "" {
		return "", apperr.E(apperr.NotFound, "no tenant")
	}
	return d.lookup(token, want)
}

// Credentials answers like IntegrationDirectory: a workspace without
// settings (or no workspace at all: the tenant comes from the URL) has
// empty credentials, which verify nothing.
func (d fakeDir) Credentials(_ context.Context, t string) (Credentials, error) {
	if t != testTenant {
		return Credentials{}, nil
	}
	return d.creds, nil
}

var fixedNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestHandler(t testing.TB, sgKey string) (*Handler, *webhooktest.Queue) {
	q := &webhooktest.Queue{}
	dir := fakeDir{creds: Credentials{
		ShopifySecrets:      []string{"demo-shopify-secret", "old-shopify-secret"},
		MetaAppSecrets:      []string{"demo-meta-secret"},
		MetaVerifyToken:     "demo-verify-token",
		WhatsAppVerifyToken: "wa-verify-token",
		TwilioAuthToken:     "twilio-token",
		SendGridPublicKey:   sgKey,
		AllowedOrigins:      []string{"https://demo-store.example"},
	}}
	return New(slog.New(slog.NewTextHandler(io.Discard, nil)), dir, q, testPublicURL, func() time.Time { return fixedNow }), q
}

// invoke runs the event through lambda.NewHandler's JSON path, as the Lambda
// runtime and the local runtime do.
func invoke(t testing.TB, h *Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	checkContract(t, ev, res)
	return res
}

// checkContract checks the exchange against docs/api/openapi.yaml.
func checkContract(t testing.TB, ev events.APIGatewayV2HTTPRequest, res events.APIGatewayV2HTTPResponse) {
	t.Helper()
	target := ev.RawPath
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest(ev.RequestContext.HTTP.Method, target, bytes.NewReader(body))
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	hdr := http.Header{}
	for k, v := range res.Headers {
		hdr.Set(k, v)
	}
	resBody := []byte(res.Body)
	if res.IsBase64Encoded {
		resBody, _ = base64.StdEncoding.DecodeString(res.Body)
	}
	apitest.OpenAPI(t).Check(t, req, body, res.StatusCode, hdr, resBody)
}

func httpEvent(method, path, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: path, Headers: headers, Body: body}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.Path = path
	ev.RequestContext.RequestID = "req-1"
	if p, q, ok := strings.Cut(path, "?"); ok {
		ev.RawPath, ev.RequestContext.HTTP.Path, ev.RawQueryString = p, p, q
		vals, _ := url.ParseQuery(q)
		ev.QueryStringParameters = map[string]string{}
		for k, v := range vals {
			ev.QueryStringParameters[k] = v[0]
		}
	}
	return ev
}

const orderBody = `{"id":450789469,"email":"ann@example.com","created_at":"2025-02-28T10:00:00Z","updated_at":"2025-02-28T10:00:00Z","total_price":"59.90","currency":"EUR","customer":{"id":207119551,"email":"ann@example.com","first_name":"Ann"}}`

func shopifyEvent(topic, body, secret string) events.APIGatewayV2HTTPRequest {
	return httpEvent("POST", "/webhooks/shopify", body, map[string]string{
		"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": testShop,
		"X-Shopify-Hmac-Sha256": shopifySig(secret, []byte(body)), "X-Shopify-Webhook-Id": "wh-1",
		"X-Shopify-Event-Id": "ev-1", "X-Shopify-Triggered-At": "2025-02-28T10:00:01.5Z",
	})
}

func TestShopify(t *testing.T) {
	tests := []struct {
		name       string
		ev         events.APIGatewayV2HTTPRequest
		wantStatus int
		wantQueued int
	}{
		{"valid order", shopifyEvent("orders/create", orderBody, "demo-shopify-secret"), 200, 1},
		{"rotated secret still accepted", shopifyEvent("orders/create", orderBody, "old-shopify-secret"), 200, 1},
		{"bad signature", shopifyEvent("orders/create", orderBody, "wrong"), 401, 0},
		{"unknown shop", func() events.APIGatewayV2HTTPRequest {
			e := shopifyEvent("orders/create", orderBody, "demo-shopify-secret")
			e.Headers["X-Shopify-Shop-Domain"] = "other.myshopify.com"
			return e
		}(), 401, 0},
		{"malformed JSON with valid signature is queued", shopifyEvent("orders/create", `{"id":`, "demo-shopify-secret"), 200, 1},
		{"unknown topic is ignored", shopifyEvent("products/create", `{}`, "demo-shopify-secret"), 200, 0},
		{"compliance topic", shopifyEvent("customers/redact", `{"shop_domain":"demo-store.myshopify.com","customer":{"id":1}}`, "demo-shopify-secret"), 200, 1},
		{"oversized", shopifyEvent("orders/create", `{"x":"`+strings.Repeat("a", MaxBody)+`"}`, "demo-shopify-secret"), 413, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, "")
			res := invoke(t, h, tt.ev)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, res.Body, tt.wantStatus)
			}
			envs := q.Envelopes(t)
			if len(envs) != tt.wantQueued {
				t.Fatalf("queued %d, want %d", len(envs), tt.wantQueued)
			}
			if res.StatusCode >= 400 && res.Headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("error without problem+json: %v", res.Headers)
			}
		})
	}
}

func TestShopifyEnvelope(t *testing.T) {
	h, q := newTestHandler(t, "")
	invoke(t, h, shopifyEvent("orders/create", orderBody, "demo-shopify-secret"))
	e := q.Envelopes(t)[0]
	if e.Tenant != testTenant || e.Source != "shopify" || e.Topic != "orders/create" || e.ID != "wh-1" {
		t.Fatalf("envelope %+v", e)
	}
	if want := time.Date(2025, 2, 28, 10, 0, 1, 5e8, time.UTC); !e.TriggeredAt.Equal(want) {
		t.Fatalf("triggeredAt %s, want %s", e.TriggeredAt, want)
	}
	if string(e.Body) != orderBody || e.Headers["x-shopify-event-id"] != "ev-1" {
		t.Fatalf("body/headers not kept: %s %v", e.Body, e.Headers)
	}
	// A malformed body travels as a JSON string so ingest can reject it.
	h, q = newTestHandler(t, "")
	invoke(t, h, shopifyEvent("orders/create", `{"id":`, "demo-shopify-secret"))
	if got := string(q.Envelopes(t)[0].Body); got != `"{\"id\":"` {
		t.Fatalf("malformed body = %s", got)
	}
}

func TestQueueFailureIs503(t *testing.T) {
	h, q := newTestHandler(t, "")
	q.Fail(io.ErrUnexpectedEOF)
	res := invoke(t, h, shopifyEvent("orders/create", orderBody, "demo-shopify-secret"))
	if res.StatusCode != 503 {
		t.Fatalf("status %d, want 503 so the provider retries", res.StatusCode)
	}
}

func TestMeta(t *testing.T) {
	h, q := newTestHandler(t, "")
	res := invoke(t, h, httpEvent("GET", "/webhooks/meta?tenant="+testTenant+"&hub.mode=subscribe&hub.verify_token=demo-verify-token&hub.challenge=1158201444", "", nil))
	if res.StatusCode != 200 || res.Body != "1158201444" {
		t.Fatalf("handshake: %d %q", res.StatusCode, res.Body)
	}
	res = invoke(t, h, httpEvent("GET", "/webhooks/meta?tenant="+testTenant+"&hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", "", nil))
	if res.StatusCode != 403 {
		t.Fatalf("bad token: %d", res.StatusCode)
	}
	body := `{"object":"page","entry":[{"id":"page-1","time":1740830400,"changes":[{"field":"leadgen","value":{"leadgen_id":"444"}}]}]}`
	res = invoke(t, h, httpEvent("POST", "/webhooks/meta", body, map[string]string{"X-Hub-Signature-256": metaSig("demo-meta-secret", []byte(body))}))
	if res.StatusCode != 200 {
		t.Fatalf("post: %d %s", res.StatusCode, res.Body)
	}
	res = invoke(t, h, httpEvent("POST", "/webhooks/meta", body, map[string]string{"X-Hub-Signature-256": metaSig("other", []byte(body))}))
	if res.StatusCode != 401 {
		t.Fatalf("bad signature: %d", res.StatusCode)
	}
	envs := q.Envelopes(t)
	if len(envs) != 1 || envs[0].Topic != "meta/leadgen" || envs[0].TriggeredAt.Unix() != 1740830400 {
		t.Fatalf("envelopes %+v", envs)
	}
}

// The handshake finds the workspace by the verify token itself; ?tenant=
// remains an accepted alternative.
func TestMetaHandshakeRoute(t *testing.T) {
	h, _ := newTestHandler(t, "")
	for _, c := range []struct {
		name, url string
		status    int
		body      string
	}{
		{"meta by token", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=demo-verify-token&hub.challenge=42", 200, "42"},
		{"whatsapp by token", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wa-verify-token&hub.challenge=43", 200, "43"},
		{"meta with tenant", "/webhooks/meta?tenant=" + testTenant + "&hub.mode=subscribe&hub.verify_token=demo-verify-token&hub.challenge=44", 200, "44"},
		{"whatsapp with tenant", "/webhooks/whatsapp?tenant=" + testTenant + "&hub.mode=subscribe&hub.verify_token=wa-verify-token&hub.challenge=45", 200, "45"},
		{"unknown token", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1", 403, ""},
		{"whatsapp token on the meta path", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=wa-verify-token&hub.challenge=1", 403, ""},
		{"meta token on the whatsapp path", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=demo-verify-token&hub.challenge=1", 403, ""},
		{"empty token", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=&hub.challenge=1", 403, ""},
		{"tenant with a wrong token", "/webhooks/meta?tenant=" + testTenant + "&hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1", 403, ""},
		{"unknown tenant", "/webhooks/meta?tenant=nobody&hub.mode=subscribe&hub.verify_token=demo-verify-token&hub.challenge=1", 403, ""},
		{"no challenge", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=demo-verify-token", 400, ""},
		{"wrong mode", "/webhooks/meta?hub.mode=unsubscribe&hub.verify_token=demo-verify-token&hub.challenge=1", 400, ""},
	} {
		res := invoke(t, h, httpEvent("GET", c.url, "", nil))
		if res.StatusCode != c.status || (c.status == 200 && (res.Body != c.body || res.Headers["Content-Type"] != "text/plain")) {
			t.Errorf("%s: %d %q", c.name, res.StatusCode, res.Body)
		}
	}
}

const waInbound = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}`

func TestWhatsApp(t *testing.T) {
	h, q := newTestHandler(t, "")
	res := invoke(t, h, httpEvent("POST", "/webhooks/whatsapp", waInbound, map[string]string{"X-Hub-Signature-256": metaSig("demo-meta-secret", []byte(waInbound))}))
	if res.StatusCode != 200 {
		t.Fatalf("status %d %s", res.StatusCode, res.Body)
	}
	envs := q.Envelopes(t)
	if len(envs) != 1 || envs[0].Source != "whatsapp" || envs[0].Topic != "whatsapp/messages" || envs[0].Tenant != testTenant {
		t.Fatalf("envelopes %+v", envs)
	}
	// Malformed body and no ?tenant=: no workspace, so no secret can verify it.
	bad := `{"entry":`
	res = invoke(t, h, httpEvent("POST", "/webhooks/whatsapp", bad, map[string]string{"X-Hub-Signature-256": metaSig("demo-meta-secret", []byte(bad))}))
	if res.StatusCode != 401 {
		t.Fatalf("malformed without tenant: %d", res.StatusCode)
	}
	// With ?tenant= it is verified and queued for ingest to dead-letter.
	res = invoke(t, h, httpEvent("POST", "/webhooks/whatsapp?tenant="+testTenant, bad, map[string]string{"X-Hub-Signature-256": metaSig("demo-meta-secret", []byte(bad))}))
	if res.StatusCode != 200 || len(q.Envelopes(t)) != 2 {
		t.Fatalf("malformed with tenant: %d", res.StatusCode)
	}
}

func twilioEvent(t *testing.T, form url.Values, token string) events.APIGatewayV2HTTPRequest {
	path := "/webhooks/twilio/" + testTenant
	params := map[string]string{}
	for k, v := range form {
		params[k] = v[0]
	}
	sig := twilioSign(token, testPublicURL+path, params)
	ev := httpEvent("POST", path, form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig})
	ev.PathParameters = map[string]string{"tenantId": testTenant}
	return ev
}

func TestTwilio(t *testing.T) {
	h, q := newTestHandler(t, "")
	inbound := url.Values{"MessageSid": {"SM1"}, "From": {"+15551230000"}, "To": {"+15559870000"}, "Body": {"STOP"}, "SmsStatus": {"received"}}
	if res := invoke(t, h, twilioEvent(t, inbound, "twilio-token")); res.StatusCode != 200 || res.Headers["Content-Type"] != "text/xml" {
		t.Fatalf("inbound: %d %v", res.StatusCode, res.Headers)
	}
	status := url.Values{"MessageSid": {"SM2"}, "MessageStatus": {"delivered"}, "To": {"+15551230000"}}
	if res := invoke(t, h, twilioEvent(t, status, "twilio-token")); res.StatusCode != 200 {
		t.Fatalf("status: %d", res.StatusCode)
	}
	if res := invoke(t, h, twilioEvent(t, status, "other-token")); res.StatusCode != 401 {
		t.Fatalf("bad signature: %d", res.StatusCode)
	}
	envs := q.Envelopes(t)
	if len(envs) != 2 || envs[0].Topic != TopicTwilioInbound || envs[1].Topic != TopicTwilioStatus || envs[1].ID != "SM2#delivered" {
		t.Fatalf("envelopes %+v", envs)
	}
	var fields map[string]string
	if err := json.Unmarshal(envs[0].Body, &fields); err != nil || fields["Body"] != "STOP" {
		t.Fatalf("body %s: %v", envs[0].Body, err)
	}
}

func TestSendGrid(t *testing.T) {
	key, pub := newSendGridKey(t)
	body := `[{"email":"ann@example.com","event":"open","sg_event_id":"e1","sg_message_id":"m1","timestamp":1740830400}]`
	unix := func(d time.Duration) string { return strconv.FormatInt(fixedNow.Add(d).Unix(), 10) }
	fresh := unix(time.Second)
	tests := []struct {
		name       string
		ts         string // header value
		signedTS   string // timestamp the signature covers ("": ts)
		wantStatus int
		wantDetail string // part of the problem detail
	}{
		{"fresh", fresh, "", 200, ""},
		{"signed for another timestamp", fresh, unix(2 * time.Second), 401, "signature is missing or does not verify"},
		{"just inside the age limit", unix(-SendGridMaxAge), "", 200, ""},
		{"stale", unix(-SendGridMaxAge - time.Second), "", 401, "25h0m1s old; a signed SendGrid request older than 25h0m0s is refused as a possible replay"},
		{"two days old", unix(-48 * time.Hour), "", 401, "48h0m0s old"},
		{"a day old (a late retry)", unix(-24 * time.Hour), "", 200, ""},
		{"just inside the skew limit", unix(SendGridMaxSkew), "", 200, ""},
		{"future", unix(SendGridMaxSkew + time.Second), "", 401, "5m1s ahead of this server's clock"},
		{"milliseconds", strconv.FormatInt(fixedNow.UnixMilli(), 10), "", 401, "ahead of this server's clock"},
		{"malformed", "yesterday", "", 401, `"yesterday" is not a Unix time in seconds`},
		{"signed minus", "-" + fresh, "", 401, "is not a Unix time in seconds"},
		{"decimal", fresh + ".5", "", 401, "is not a Unix time in seconds"},
		{"too long", strings.Repeat("9", 40), "", 401, "is not a Unix time in seconds"},
		{"missing", "", "", 401, "signature is missing or does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, pub)
			signed := tt.signedTS
			if signed == "" {
				signed = tt.ts
			}
			ev := httpEvent("POST", "/webhooks/sendgrid/"+testTenant, body, map[string]string{
				"X-Twilio-Email-Event-Webhook-Signature": signSendGrid(t, key, []byte(body), signed), "X-Twilio-Email-Event-Webhook-Timestamp": tt.ts})
			ev.PathParameters = map[string]string{"tenantId": testTenant}
			res := invoke(t, h, ev)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.wantStatus, res.Body)
			}
			envs := q.Envelopes(t)
			if tt.wantStatus != 200 {
				if len(envs) != 0 {
					t.Fatalf("refused request enqueued %d envelopes", len(envs))
				}
				var p struct {
					Status int    `json:"status"`
					Detail string `json:"detail"`
				}
				if err := json.Unmarshal([]byte(res.Body), &p); err != nil || res.Headers["Content-Type"] != "application/problem+json" || p.Status != tt.wantStatus {
					t.Fatalf("problem %v %s: %v", res.Headers, res.Body, err)
				}
				if !strings.Contains(p.Detail, tt.wantDetail) {
					t.Fatalf("detail %q, want it to contain %q", p.Detail, tt.wantDetail)
				}
				return
			}
			sec, _ := strconv.ParseInt(tt.ts, 10, 64)
			if len(envs) != 1 || envs[0].Topic != TopicSendGrid || !envs[0].TriggeredAt.Equal(time.Unix(sec, 0)) || !envs[0].ReceivedAt.Equal(fixedNow) {
				t.Fatalf("envelopes %+v", envs)
			}
		})
	}
}

// A stale timestamp is refused before the tenant is looked up, with the
// same answer for any tenant path.
func TestSendGridStaleUnknownTenant(t *testing.T) {
	key, pub := newSendGridKey(t)
	h, _ := newTestHandler(t, pub)
	ts := strconv.FormatInt(fixedNow.Add(-30*time.Hour).Unix(), 10)
	for _, tenant := range []string{testTenant, "t-unknown"} {
		ev := httpEvent("POST", "/webhooks/sendgrid/"+tenant, "[]", map[string]string{
			"X-Twilio-Email-Event-Webhook-Signature": signSendGrid(t, key, []byte("[]"), ts), "X-Twilio-Email-Event-Webhook-Timestamp": ts})
		if res := invoke(t, h, ev); res.StatusCode != 401 || !strings.Contains(res.Body, "30h0m0s old") {
			t.Fatalf("%s: %d %s", tenant, res.StatusCode, res.Body)
		}
	}
}

// collectEvent is a POST /collect as the collector script sends it (JSON).
func collectEvent(body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	return httpEvent("POST", "/collect", body, h)
}

func TestCollect(t *testing.T) {
	good := `{"writeKey":"demo-write-key","events":[{"event":"page_view","eventId":"e1","timestamp":"2025-03-01T11:59:00Z","anonymousId":"a1","properties":{"path":"/"}},{"event":"add_to_cart","eventId":"e2","timestamp":1740830340000,"anonymousId":"a1"}]}`
	tests := []struct {
		name       string
		body       string
		headers    map[string]string
		wantStatus int
		wantQueued int
	}{
		{"batch", good, nil, 202, 2},
		{"key in header", strings.Replace(good, `"writeKey":"demo-write-key",`, "", 1), map[string]string{"X-PulseHub-Key": "demo-write-key"}, 202, 2},
		{"allowed origin", good, map[string]string{"Origin": "https://demo-store.example", "User-Agent": "Mozilla/5.0 (test)"}, 202, 2},
		{"foreign origin", good, map[string]string{"Origin": "https://evil.example"}, 403, 0},
		{"bad key", strings.Replace(good, "demo-write-key", "nope", 1), nil, 401, 0},
		{"no key", strings.Replace(good, `"writeKey":"demo-write-key",`, "", 1), nil, 401, 0},
		{"malformed", `{"events":[`, nil, 400, 0},
		{"missing eventId", `{"writeKey":"demo-write-key","events":[{"event":"x","anonymousId":"a"}]}`, nil, 400, 0},
		{"no identity", `{"writeKey":"demo-write-key","events":[{"event":"x","eventId":"1"}]}`, nil, 400, 0},
		{"bad timestamp", `{"writeKey":"demo-write-key","events":[{"event":"x","eventId":"1","anonymousId":"a","timestamp":"yesterday"}]}`, nil, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, "")
			res := invoke(t, h, collectEvent(tt.body, tt.headers))
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, res.Body, tt.wantStatus)
			}
			if got := len(q.Envelopes(t)); got != tt.wantQueued {
				t.Fatalf("queued %d, want %d", got, tt.wantQueued)
			}
			if o := tt.headers["Origin"]; o != "" && res.StatusCode == 202 && res.Headers["Access-Control-Allow-Origin"] != o {
				t.Fatalf("CORS header %q", res.Headers["Access-Control-Allow-Origin"])
			}
			for _, e := range q.Envelopes(t) {
				if e.Headers["user-agent"] != tt.headers["User-Agent"] {
					t.Fatalf("user agent %q in the envelope, sent %q", e.Headers["user-agent"], tt.headers["User-Agent"])
				}
			}
		})
	}
	h, q := newTestHandler(t, "")
	invoke(t, h, collectEvent(good, nil))
	envs := q.Envelopes(t)
	if envs[1].ID != "e2" || !envs[1].TriggeredAt.Equal(time.UnixMilli(1740830340000)) {
		t.Fatalf("envelope %+v", envs[1])
	}
	res := invoke(t, h, httpEvent("OPTIONS", "/collect", "", map[string]string{"Origin": "https://demo-store.example"}))
	if res.StatusCode != 204 || !strings.Contains(res.Headers["Access-Control-Allow-Headers"], "X-PulseHub-Key") {
		t.Fatalf("preflight %d %v", res.StatusCode, res.Headers)
	}
}

func TestUnknownRoute(t *testing.T) {
	h, _ := newTestHandler(t, "")
	if res := invoke(t, h, httpEvent("POST", "/webhooks/nope", "{}", nil)); res.StatusCode != 404 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func FuzzParseCollect(f *testing.F) {
	f.Add([]byte(`{"events":[{"event":"x","eventId":"1","anonymousId":"a","timestamp":1}]}`))
	f.Add([]byte(`{"events":[{"event":"x","eventId":"1","email":"a@b","timestamp":"2025-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, times, err := ParseCollect(body, fixedNow)
		if err != nil {
			if apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("non-Invalid error %v", err)
			}
			return
		}
		if len(times) != len(req.Events) || len(req.Events) == 0 || len(req.Events) > MaxCollectEvents {
			t.Fatalf("%d events, %d times", len(req.Events), len(times))
		}
		for i, e := range req.Events {
			if e.EventID == "" || times[i].After(fixedNow.Add(futureSkew)) {
				t.Fatalf("event %d accepted: %+v at %s", i, e, times[i])
			}
		}
	})
}

func FuzzHandle(f *testing.F) {
	f.Add("POST", "/webhooks/shopify", orderBody, "orders/create", false)
	f.Add("POST", "/collect", `{"events":[]}`, "", false)
	f.Add("POST", "/webhooks/whatsapp", waInbound, "", true)
	f.Fuzz(func(t *testing.T, method, path, body, topic string, b64 bool) {
		h, q := newTestHandler(t, "")
		ev := httpEvent(method, path, body, map[string]string{"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": testShop,
			"X-Shopify-Hmac-Sha256": "bad", "X-Hub-Signature-256": "sha256=00"})
		ev.IsBase64Encoded = b64
		res, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		// Nothing signed can be forged here, so only /collect may enqueue.
		if n := q.Len(); n > 0 && path != "/collect" {
			t.Fatalf("enqueued %d from %s %s (status %d)", n, method, path, res.StatusCode)
		}
		if res.StatusCode < 200 || res.StatusCode > 599 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}

func TestCollectorScript(t *testing.T) {
	h, q := newTestHandler(t, "")
	res := invoke(t, h, httpEvent("GET", "/pulsehub-collect.js", "", map[string]string{"Origin": "https://demo-store.example"}))
	if res.StatusCode != 200 || res.Body != string(gtm.CollectorJS) || res.IsBase64Encoded {
		t.Fatalf("GET: %d, %d bytes", res.StatusCode, len(res.Body))
	}
	for k, want := range map[string]string{
		"Content-Type":                "application/javascript; charset=utf-8",
		"Access-Control-Allow-Origin": "*",
		"Cache-Control":               "public, max-age=3600, stale-while-revalidate=86400",
		"X-Content-Type-Options":      "nosniff",
	} {
		if res.Headers[k] != want {
			t.Errorf("%s = %q, want %q", k, res.Headers[k], want)
		}
	}
	etag := res.Headers["ETag"]
	if len(etag) < 4 || etag[0] != '"' {
		t.Fatalf("ETag %q", etag)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
		if res := invoke(t, h, httpEvent("GET", "/pulsehub-collect.js", "", map[string]string{"If-None-Match": inm})); res.StatusCode != 304 || res.Body != "" {
			t.Errorf("If-None-Match %s: %d", inm, res.StatusCode)
		}
	}
	if res := invoke(t, h, httpEvent("GET", "/pulsehub-collect.js", "", map[string]string{"If-None-Match": `"stale"`})); res.StatusCode != 200 {
		t.Errorf("stale ETag: %d", res.StatusCode)
	}
	if res := invoke(t, h, httpEvent("POST", "/pulsehub-collect.js", "", nil)); res.StatusCode != 404 {
		t.Errorf("POST: %d", res.StatusCode)
	}
	if q.Len() != 0 {
		t.Fatal("serving the script queued something")
	}
}

// TestUnknownTenantIsUnauthorized: a delivery for a workspace PulseHub does
// not know (or one without that provider's settings) is refused, also when
// it is signed with the empty secret such a workspace "has".
func TestUnknownTenantIsUnauthorized(t *testing.T) {
	sgKey, _ := newSendGridKey(t)
	h, q := newTestHandler(t, "")
	const unknown = "t-unknown"
	metaBody := `{"object":"page","entry":[{"id":"page-9","time":1740830400,"changes":[]}]}`
	twilioParams := map[string]string{"MessageSid": "SM9", "MessageStatus": "delivered"}
	twilioForm := url.Values{"MessageSid": {"SM9"}, "MessageStatus": {"delivered"}}
	ts := strconv.FormatInt(fixedNow.Unix(), 10)
	for name, ev := range map[string]events.APIGatewayV2HTTPRequest{
		"shopify, unknown shop": httpEvent("POST", "/webhooks/shopify", orderBody, map[string]string{
			"Content-Type": "application/json", "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "unknown.myshopify.com",
			"X-Shopify-Hmac-Sha256": shopifySig("", []byte(orderBody))}),
		"meta": httpEvent("POST", "/webhooks/meta?tenant="+unknown, metaBody, map[string]string{
			"Content-Type": "application/json", "X-Hub-Signature-256": metaSig("", []byte(metaBody))}),
		"whatsapp": httpEvent("POST", "/webhooks/whatsapp?tenant="+unknown, metaBody, map[string]string{
			"Content-Type": "application/json", "X-Hub-Signature-256": metaSig("", []byte(metaBody))}),
		"twilio": httpEvent("POST", "/webhooks/twilio/"+unknown, twilioForm.Encode(), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": twilioSign("", testPublicURL+"/webhooks/twilio/"+unknown, twilioParams)}),
		"sendgrid": httpEvent("POST", "/webhooks/sendgrid/"+unknown, "[]", map[string]string{
			"Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Timestamp": ts,
			"X-Twilio-Email-Event-Webhook-Signature": signSendGrid(t, sgKey, []byte("[]"), ts)}),
		"collect, unknown write key": collectEvent(`{"writeKey":"unknown-key","events":[{"event":"x","eventId":"1","anonymousId":"a"}]}`, nil),
	} {
		if res := invoke(t, h, ev); res.StatusCode != 401 {
			t.Errorf("%s: %d %s, want 401", name, res.StatusCode, res.Body)
		}
	}
	if envs := q.Envelopes(t); len(envs) != 0 {
		t.Fatalf("refused deliveries queued %d envelopes", len(envs))
	}
}
