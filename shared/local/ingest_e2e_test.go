package local_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pulsehub/pulsehub/shared/api/apitest"
	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/shared/queue"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// platform is the whole local runtime (every deployable function, the
// catalog's queues and table) on 127.0.0.1:0, driven over HTTP like the
// web app and Shopify would.
type platform struct {
	t      testing.TB
	rt     *local.Runtime
	client *http.Client
	token  string
	tenant string
	shop   string
	secret string
}

func bootPlatform(t testing.TB) *platform {
	t.Helper()
	return bootPlatformWith(t, nil)
}

// bootPlatformWith is bootPlatform with changes to the runtime's options.
func bootPlatformWith(t testing.TB, change func(*local.Options)) *platform {
	t.Helper()
	testenv.AWSConfig(t)
	var logs io.Writer = io.Discard
	logger := slogDiscard()
	if path := os.Getenv("E2E_FUNCTION_LOGS"); path != "" { // a file to read the handlers' logs after a run
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		logs = f
		logger = slog.New(slog.NewTextHandler(f, nil))
	}
	opts := local.Options{
		Addr: "127.0.0.1:0", StateDir: t.TempDir(), Prefix: testenv.Name(t, "e2e"),
		ReuseEndpoints: true, NoSchedules: true, FunctionLogs: logs, Logger: logger,
	}
	if change != nil {
		change(&opts)
	}
	rt := local.New(opts)
	t.Cleanup(func() { rt.Close() })
	if err := rt.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Every exchange is checked against docs/api/openapi.yaml.
	return &platform{t: t, rt: rt, client: &http.Client{Timeout: 30 * time.Second, Transport: apitest.OpenAPI(t).Transport(t, nil)}}
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func (p *platform) call(method, path, token string, body []byte, header map[string]string) reply {
	p.t.Helper()
	req, err := http.NewRequest(method, p.rt.URL()+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// signup creates a workspace and connects a Shopify shop to it.
func (p *platform) signup(slug, shop, secret string) {
	p.t.Helper()
	r := p.call("POST", "/v1/auth/signup", "", []byte(fmt.Sprintf(`{"workspace":%q,"email":"owner@%s.test","password":"correct-horse-battery-1"}`, slug, slug)), nil)
	if r.status != 201 {
		p.t.Fatalf("signup: %d %s", r.status, r.raw)
	}
	p.token, p.tenant = r.body["accessToken"].(string), r.body["tenantId"].(string)
	r = p.call("PUT", "/v1/integrations/shopify", p.token, []byte(fmt.Sprintf(`{"shopDomain":%q,"webhookSecret":%q}`, shop, secret)), nil)
	if r.status != 200 {
		p.t.Fatalf("PUT /v1/integrations/shopify: %d %s", r.status, r.raw)
	}
	p.shop, p.secret = shop, secret
}

func shopifySignature(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// webhook posts a Shopify webhook signed with secret, as Shopify sends it.
func (p *platform) webhook(topic, webhookID, eventID string, body []byte, secret string) reply {
	p.t.Helper()
	return p.call("POST", "/webhooks/shopify", "", body, map[string]string{
		"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": p.shop, "X-Shopify-Webhook-Id": webhookID,
		"X-Shopify-Event-Id": eventID, "X-Shopify-Triggered-At": time.Now().UTC().Format(time.RFC3339Nano),
		"X-Shopify-Api-Version": "2025-01", "X-Shopify-Hmac-Sha256": shopifySignature(body, secret),
	})
}

// customerByEmail finds a customer through GET /v1/customers?q=.
func (p *platform) customerByEmail(email string) map[string]any {
	p.t.Helper()
	r := p.call("GET", "/v1/customers?q="+url.QueryEscape(email), p.token, nil, nil)
	if r.status != 200 {
		p.t.Fatalf("GET /v1/customers: %d %s", r.status, r.raw)
	}
	items, _ := r.body["items"].([]any)
	if len(items) == 0 {
		return nil
	}
	return items[0].(map[string]any)
}

// eventually polls cond every 50 ms for up to 30 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func customerJSON(id int64, email, first string, updated time.Time) []byte {
	return []byte(fmt.Sprintf(`{"id":%d,"email":%q,"first_name":%q,"last_name":"Tester","updated_at":%q,"email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":%q}}`,
		id, email, first, updated.Format(time.RFC3339), updated.Format(time.RFC3339)))
}

func orderJSON(id, customerID int64, email, total string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"id":%d,"name":"#%d","email":%q,"created_at":%q,"updated_at":%q,"total_price":%q,"currency":"EUR","financial_status":"paid",`+
		`"line_items":[{"id":1,"product_id":42,"title":"Mug","quantity":1,"price":%q}],"customer":{"id":%d,"email":%q}}`,
		id, id, email, at.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano), total, total, customerID, email))
}

func TestShopifyWebhookToCustomerAPI(t *testing.T) {
	p := bootPlatform(t)
	p.signup("e2e-shop", "e2e-shop.myshopify.com", "e2e-shopify-secret")
	now := time.Now().UTC().Truncate(time.Second)

	// customers/create then orders/create, correctly signed.
	if r := p.webhook("customers/create", "wh-c1", "ev-c1", customerJSON(501, "eve@example.com", "Eve", now.Add(-time.Hour)), p.secret); r.status != 200 {
		t.Fatalf("customers/create: %d %s", r.status, r.raw)
	}
	order := orderJSON(9001, 501, "eve@example.com", "59.90", now.Add(-30*time.Minute))
	if r := p.webhook("orders/create", "wh-o1", "ev-o1", order, p.secret); r.status != 200 {
		t.Fatalf("orders/create: %d %s", r.status, r.raw)
	}
	var eve map[string]any
	// The two webhooks are separate deliveries, applied in either order
	// (possibly at once): wait for both.
	eventually(t, "the order and the customer's fields on Eve's profile", func() bool {
		eve = p.customerByEmail("eve@example.com")
		return eve != nil && eve["ordersCount"] == float64(1) && eve["firstName"] != ""
	})
	if eve["totalSpent"] != 59.9 || eve["firstName"] != "Eve" || eve["lastName"] != "Tester" || eve["email"] != "eve@example.com" {
		t.Fatalf("Eve via the API: %v", eve)
	}
	r := p.call("GET", "/v1/customers/"+eve["id"].(string), p.token, nil, nil)
	if r.status != 200 || !strings.Contains(r.raw, `"orderId":"9001"`) {
		t.Fatalf("GET /v1/customers/{id}: %d %s", r.status, r.raw)
	}

	// A bad signature is 401 and nothing is queued; a duplicate delivery
	// (same webhook id) and a copy under another webhook id with the same
	// event id are accepted and change nothing.
	bad := orderJSON(9002, 501, "eve@example.com", "100.00", now)
	if r := p.webhook("orders/create", "wh-bad", "ev-bad", bad, "not-the-secret"); r.status != 401 || r.body["status"] != float64(401) {
		t.Fatalf("bad signature: %d %s", r.status, r.raw)
	}
	dup := p.webhook("orders/create", "wh-o1", "ev-o1", order, p.secret)
	if dup.status != 200 {
		t.Fatalf("duplicate delivery: %d %s", dup.status, dup.raw)
	}
	if r := p.webhook("orders/create", "wh-o1-copy", "ev-o1", order, p.secret); r.status != 200 {
		t.Fatalf("same event, new webhook id: %d %s", r.status, r.raw)
	}
	// Every accepted delivery was queued before its 200; once the ingest
	// queue is drained, each was handled (and a duplicate counted if it
	// were going to).
	q := sqs.NewFromConfig(p.rt.AWS())
	eventually(t, "the ingest queue drained", func() bool { return local.Drained(t, q, p.rt.Resources().QueueURLs["ingest"]) })
	eve = p.customerByEmail("eve@example.com")
	if eve["ordersCount"] != float64(1) || eve["totalSpent"] != 59.9 {
		t.Fatalf("after a bad signature and duplicates Eve has %v orders, %v spent", eve["ordersCount"], eve["totalSpent"])
	}

	// Malformed JSON with a valid signature: accepted for audit, then
	// dead-lettered by ingest with the reason.
	if r := p.webhook("orders/create", "wh-broken", "ev-broken", []byte(`{"id": 9003, "total_price": `), p.secret); r.status != 200 {
		t.Fatalf("malformed JSON with a valid signature: %d %s", r.status, r.raw)
	}
	dlq := p.rt.Resources().QueueURLs["ingest-dlq"]
	var reason string
	eventually(t, "the malformed webhook in the ingest DLQ", func() bool {
		out, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if strings.Contains(aws.ToString(m.Body), "wh-broken") {
				if a, ok := m.MessageAttributes[queue.AttrReason]; ok {
					reason = aws.ToString(a.StringValue)
				}
				return true
			}
		}
		return false
	})
	if !strings.Contains(reason, "not the expected JSON") {
		t.Fatalf("DLQ reason %q", reason)
	}
	if eve = p.customerByEmail("eve@example.com"); eve["ordersCount"] != float64(1) {
		t.Fatalf("the malformed order changed Eve: %v", eve)
	}
}

// TestAbandonedCheckoutOnSchedule: a checkout left open is reported
// abandoned by the ingest function on an EventBridge scheduled event,
// with no webhook traffic after it.
func TestAbandonedCheckoutOnSchedule(t *testing.T) {
	p := bootPlatform(t)
	p.signup("e2e-sweep", "e2e-sweep.myshopify.com", "e2e-sweep-secret")
	// Ingest also sweeps after a batch, at most once a minute per instance:
	// a first delivery uses that up, so only the schedule can find the checkout.
	if r := p.webhook("customers/create", "wh-first", "ev-first", customerJSON(600, "first@example.com", "First", time.Now()), p.secret); r.status != 200 {
		t.Fatalf("customers/create: %d %s", r.status, r.raw)
	}
	eventually(t, "the first customer", func() bool { return p.customerByEmail("first@example.com") != nil })
	old := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	body := []byte(fmt.Sprintf(`{"id":1,"token":"ck-e2e","email":"cart@example.com","created_at":%q,"updated_at":%q,"completed_at":null,"currency":"EUR","total_price":"18.00","line_items":[{"title":"Mug","quantity":1,"price":"18.00"}]}`,
		old.Format(time.RFC3339), old.Format(time.RFC3339)))
	if r := p.webhook("checkouts/create", "wh-ck1", "ev-ck1", body, p.secret); r.status != 200 {
		t.Fatalf("checkouts/create: %d %s", r.status, r.raw)
	}
	checkout := func() map[string]any {
		c := p.customerByEmail("cart@example.com")
		if c == nil {
			return nil
		}
		r := p.call("GET", "/v1/customers/"+c["id"].(string), p.token, nil, nil)
		for _, e := range r.body["timeline"].([]any) {
			if e := e.(map[string]any); e["kind"] == "checkout" {
				return e["data"].(map[string]any)
			}
		}
		return nil
	}
	eventually(t, "the checkout on the customer's timeline", func() bool { return checkout() != nil })
	if c := checkout(); c["abandonedAt"] != nil {
		t.Fatalf("abandoned before any sweep: %v", c)
	}
	scheduled := []byte(`{"version":"0","id":"e2e-1","detail-type":"Scheduled Event","source":"aws.events","account":"000000000000","time":"` +
		time.Now().UTC().Format(time.RFC3339) + `","region":"us-east-1","resources":["arn:aws:events:us-east-1:000000000000:rule/ingest-abandoned-checkouts"],"detail":{}}`)
	if _, err := p.rt.Invoker().Invoke(context.Background(), "ingest", scheduled); err != nil {
		t.Fatalf("ingest on a scheduled event: %v", err)
	}
	if c := checkout(); c["abandonedAt"] == nil {
		t.Fatalf("the scheduled sweep did not mark the checkout abandoned: %v", c)
	}
}
