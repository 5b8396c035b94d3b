package shopify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Fuzz tests of the GraphQL → REST conversion the sync uses: its output is
// marshalled into an ingest envelope and read back with the REST types.

// restStable fails unless v's REST JSON reads back into the same JSON.
func restStable[T any](t *testing.T, v T) {
	t.Helper()
	b1, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("converted value does not marshal: %v", err)
	}
	var back T
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatalf("REST JSON %s does not read back: %v", b1, err)
	}
	b2, _ := json.Marshal(back)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("REST JSON changed on re-read:\n%s\n%s", b1, b2)
	}
}

func FuzzCustomerNode(f *testing.F) {
	f.Add([]byte(`{"id":"gid://shopify/Customer/207119551","legacyResourceId":"207119551","email":"bob.norman@mail.example.com","phone":"+16136120707",` +
		`"firstName":"Bob","lastName":"Norman","createdAt":"2024-01-02T08:59:11-05:00","updatedAt":"2024-08-26T12:52:49-04:00","state":"ENABLED",` +
		`"tags":["vip","Léon"],"verifiedEmail":true,"numberOfOrders":"3","amountSpent":{"amount":"375.30","currencyCode":"USD"},` +
		`"emailMarketingConsent":{"marketingState":"SUBSCRIBED","marketingOptInLevel":"SINGLE_OPT_IN","consentUpdatedAt":"2024-08-26T12:52:49-04:00"},` +
		`"smsMarketingConsent":{"marketingState":"NOT_SUBSCRIBED","marketingOptInLevel":"SINGLE_OPT_IN","consentUpdatedAt":null,"consentCollectedFrom":"OTHER"},` +
		`"defaultAddress":{"address1":"Chestnut Street 92","city":"Louisville","province":"Kentucky","provinceCode":"KY","zip":"40202","country":"United States","countryCodeV2":"US"}}`))
	f.Add([]byte(`{"legacyResourceId":"x","numberOfOrders":"18446744073709551615","emailMarketingConsent":{"marketingState":"REDACTED"},"smsMarketingConsent":null}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, node []byte) {
		var n gqlCustomer
		if json.Unmarshal(node, &n) != nil {
			return
		}
		c := n.rest()
		if c.ID != atoi(n.LegacyResourceID) || c.State != strings.ToLower(n.State) {
			t.Fatalf("id/state %d %q from %q %q", c.ID, c.State, n.LegacyResourceID, n.State)
		}
		for _, p := range []struct {
			g *gqlConsent
			r *MarketingConsent
		}{{n.EmailMarketingConsent, c.EmailMarketingConsent}, {n.SMSMarketingConsent, c.SMSMarketingConsent}} {
			if (p.g == nil) != (p.r == nil) {
				t.Fatalf("consent %+v became %+v", p.g, p.r)
			}
			// REST states are the GraphQL enum in lower case, which ingest maps.
			if p.g != nil && p.r.State != strings.ToLower(p.g.MarketingState) {
				t.Fatalf("consent state %q became %q", p.g.MarketingState, p.r.State)
			}
		}
		restStable(t, c)
	})
}

func FuzzOrderNode(f *testing.F) {
	f.Add([]byte(`{"id":"gid://shopify/Order/450789469","legacyResourceId":"450789469","name":"#1001","email":"bob.norman@mail.example.com",` +
		`"createdAt":"2024-01-02T08:59:11-05:00","updatedAt":"2024-01-02T09:00:00-05:00","processedAt":null,"cancelledAt":null,"currencyCode":"USD",` +
		`"displayFinancialStatus":"PAID","displayFulfillmentStatus":"UNFULFILLED","tags":[],"totalPriceSet":{"shopMoney":{"amount":"598.94","currencyCode":"USD"}},` +
		`"customer":{"id":"gid://shopify/Customer/207119551","legacyResourceId":"207119551","email":"bob.norman@mail.example.com"},` +
		`"lineItems":{"nodes":[{"id":"gid://shopify/LineItem/466157049","title":"IPod Nano - 8gb","quantity":1,"sku":"IPOD2008GREEN",` +
		`"originalUnitPriceSet":{"shopMoney":{"amount":"199.00"}},"product":{"legacyResourceId":"632910392"},"variant":null}]}}`))
	f.Add([]byte(`{"name":"#x","displayFulfillmentStatus":"FULFILLED","lineItems":{"nodes":[{"id":"LineItem"}]}}`))
	f.Fuzz(func(t *testing.T, node []byte) {
		var n gqlOrder
		if json.Unmarshal(node, &n) != nil {
			return
		}
		o := n.rest()
		if o.ID != atoi(n.LegacyResourceID) || len(o.LineItems) != len(n.LineItems.Nodes) || o.LineItems == nil || o.Refunds == nil {
			t.Fatalf("order %+v from %+v", o, n)
		}
		// REST reports an unfulfilled order as null, never "unfulfilled".
		if o.FulfillmentStatus != nil && (*o.FulfillmentStatus == "" || *o.FulfillmentStatus == "unfulfilled") {
			t.Fatalf("fulfillment_status %q", *o.FulfillmentStatus)
		}
		if (n.Customer == nil) != (o.Customer == nil) {
			t.Fatalf("customer %+v became %+v", n.Customer, o.Customer)
		}
		restStable(t, o)
	})
}
