package ingest

import (
	"encoding/json"
	"strings"
	"testing"
)

// The collect envelope bodies the webhooks function writes (one
// webhook.CollectEvent each), and malformed ones.
var collectSeeds = []string{
	`{"event":"page_view","eventId":"e1","timestamp":"2025-02-01T10:00:00Z","anonymousId":"a1","properties":{"url":"https://shop.example/"}}`,
	`{"event":"add_to_cart","eventId":"e2","userId":"u9","email":"ann@example.com","properties":{"ecommerce":{"currency":"EUR","value":19.95}}}`,
	`{"event":"lead","eventId":"e3","phone":"+15551230000"}`,
	`{"event":"page_view","eventId":"e4","anonymousId":" \t"}`,
	`{"event":"page_view","eventId":"","anonymousId":"a1"}`,
	`{"eventId":"e5","anonymousId":"a1"}`,
	`{"event":"page_view","eventId":"e6","anonymousId":"a1","timestamp":1738404000000}`,
	`{"event":1,"eventId":"e7"}`,
	`[]`,
	`null`,
}

func FuzzParseCollect(f *testing.F) {
	for _, s := range collectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := parseCollect(fuzzEnv(SourceCollect, "collect", body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if e.EventID == "" || e.Event == "" {
			t.Fatalf("accepted an event without name or id: %+v", e)
		}
		// profile.Resolve needs at least one identity field that is not blank.
		id := e.identity()
		if strings.TrimSpace(id.AnonymousID) == "" && strings.TrimSpace(id.UserID) == "" && strings.TrimSpace(id.Email) == "" && strings.TrimSpace(id.Phone) == "" {
			t.Fatalf("accepted an event that names nobody: %+v", e)
		}
		if id.ShopifyID != "" {
			t.Fatalf("a storefront event claimed Shopify id %q", id.ShopifyID)
		}
		// Accepted events are queued and stored again as JSON.
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("accepted event does not encode: %v", err)
		}
		again, err := parseCollect(fuzzEnv(SourceCollect, "collect", b))
		if err != nil || again.EventID != e.EventID || again.Event != e.Event || again.identity() != id || !again.Timestamp.Equal(e.Timestamp) {
			t.Fatalf("re-read %+v as %+v, %v", e, again, err)
		}
	})
}
