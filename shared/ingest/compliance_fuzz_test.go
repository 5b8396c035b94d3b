package ingest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/profile"
)

// complianceTopics are the topics parseCompliance reads.
var complianceTopics = []string{"customers/data_request", "customers/redact", "shop/redact", "app/uninstalled"}

// The mandatory compliance payloads in the shapes Shopify's privacy law
// compliance guide shows, and malformed ones.
var complianceSeeds = []string{
	`{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","orders_requested":[299938,280263,220458],` +
		`"customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"data_request":{"id":9999}}`,
	`{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},` +
		`"orders_to_redact":[299938,280263,220458]}`,
	`{"shop_id":954889,"shop_domain":"{shop}.myshopify.com"}`,
	`{"id":1,"name":"Shop","domain":"shop.example","myshopify_domain":"t1-shop.myshopify.com"}`,
	`{"shop_id":954889,"customer":{},"orders_to_redact":[]}`,
	`{"customer":null,"data_request":{"id":0}}`,
	`{"customer":{"id":"191167"}}`,
	`{"customer":{"id":-1,"email":" ","phone":null},"orders_requested":null}`,
	`{"customer":{"id":9223372036854775807},"data_request":{"id":-9223372036854775808}}`,
	`[]`,
	`null`,
}

// shopifyShape writes r back as the body Shopify sends for a customer topic.
func shopifyShape(t *testing.T, r privacyRequest) []byte {
	t.Helper()
	var b shopifyPrivacy
	b.Customer = &struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
		Phone string `json:"phone"`
	}{Email: r.Customer.Email, Phone: r.Customer.Phone}
	if r.Customer.ShopifyID != "" {
		b.Customer.ID, _ = strconv.ParseInt(r.Customer.ShopifyID, 10, 64)
	}
	b.OrdersToRedact, b.OrdersRequested = r.OrdersToRedact, r.OrdersRequested
	if r.DataRequestID != "" {
		b.DataRequest = &struct {
			ID int64 `json:"id"`
		}{}
		b.DataRequest.ID, _ = strconv.ParseInt(r.DataRequestID, 10, 64)
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// canonicalID fails unless s is empty or a non-zero int64 in its canonical
// decimal form (a Shopify id, never a zero placeholder).
func canonicalID(t *testing.T, what, s string) {
	t.Helper()
	if s == "" {
		return
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 || strconv.FormatInt(n, 10) != s {
		t.Fatalf("%s %q is not a Shopify id", what, s)
	}
}

func FuzzParseCompliance(f *testing.F) {
	for i, s := range complianceSeeds {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, topicN uint8, body []byte) {
		topic := complianceTopics[int(topicN)%len(complianceTopics)]
		req, err := parseCompliance(fuzzEnv(SourceShopify, topic, body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted %s body that is not JSON: %q", topic, body)
		}
		// The topics share one body shape: the customer topics only add
		// the customer object, so what they accept the others accept too.
		shopWide := func(topic string) bool { return topic == "shop/redact" || topic == "app/uninstalled" }
		for _, other := range complianceTopics {
			if _, err := parseCompliance(fuzzEnv(SourceShopify, other, body)); err != nil && (!shopWide(topic) || shopWide(other)) {
				t.Fatalf("%s accepted, %s refused %q: %v", topic, other, body, err)
			}
		}
		if shopWide(topic) {
			// Shop-wide: nothing about a customer may reach the processor.
			if req.Customer != (profile.Identity{}) || req.OrdersToRedact != nil || req.OrdersRequested != nil || req.DataRequestID != "" {
				t.Fatalf("%s read customer data %+v", topic, req)
			}
			return
		}
		if req.Customer.AnonymousID != "" || req.Customer.UserID != "" {
			t.Fatalf("identity %+v holds ids Shopify never sends", req.Customer)
		}
		canonicalID(t, "customer id", req.Customer.ShopifyID)
		canonicalID(t, "data request id", req.DataRequestID)
		// What was read, written back in Shopify's shape, reads the same.
		again, err := parseCompliance(fuzzEnv(SourceShopify, topic, shopifyShape(t, req)))
		if err != nil || again.Customer != req.Customer || again.DataRequestID != req.DataRequestID ||
			!slices.Equal(again.OrdersToRedact, req.OrdersToRedact) || !slices.Equal(again.OrdersRequested, req.OrdersRequested) {
			t.Fatalf("re-read %+v as %+v, %v", req, again, err)
		}
	})
}

// A customer topic without a customer object is refused, naming it.
func TestParseComplianceNeedsCustomer(t *testing.T) {
	for _, topic := range []string{"customers/redact", "customers/data_request"} {
		_, err := parseCompliance(fuzzEnv(SourceShopify, topic, []byte(`{"shop_id":954889,"shop_domain":"t1-shop.myshopify.com"}`)))
		mustInvalid(t, err)
		if got := err.Error(); !strings.Contains(got, "no customer object") {
			t.Errorf("%s: error %q does not name the missing customer", topic, got)
		}
	}
	req, err := parseCompliance(fuzzEnv(SourceShopify, "customers/data_request", []byte(complianceSeeds[0])))
	if err != nil || req.Customer != (profile.Identity{ShopifyID: "191167", Email: "john@example.com", Phone: "555-625-1199"}) ||
		req.DataRequestID != "9999" || !slices.Equal(req.OrdersRequested, []int64{299938, 280263, 220458}) {
		t.Fatalf("Shopify's sample data request read as %+v, %v", req, err)
	}
}
