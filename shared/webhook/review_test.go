package webhook

import (
	"testing"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// A delivery that cannot be queued however often it is retried (too large
// for SQS once enveloped) is answered 413, not 503.
func TestQueueRejectingForGoodIs413(t *testing.T) {
	h, q := newTestHandler(t, "")
	q.Fail(apperr.E(apperr.TooLarge, "message of 270000 bytes exceeds SQS's 262144"))
	res := invoke(t, h, shopifyEvent("orders/create", orderBody, "demo-shopify-secret"))
	if res.StatusCode != 413 {
		t.Fatalf("status %d, want 413", res.StatusCode)
	}
}

// Meta and WhatsApp deliveries that name no workspace cannot be verified:
// 401 like any bad signature, and nothing is queued.
func TestMetaWithoutWorkspaceIs401(t *testing.T) {
	for _, path := range []string{"/webhooks/meta", "/webhooks/whatsapp"} {
		h, q := newTestHandler(t, "")
		for _, body := range []string{`{"object":"page"}`, `not json`} {
			res := invoke(t, h, httpEvent("POST", path, body, map[string]string{"X-Hub-Signature-256": metaSig("demo-meta-secret", []byte(body))}))
			if res.StatusCode != 401 {
				t.Errorf("%s %q: status %d, want 401", path, body, res.StatusCode)
			}
		}
		if n := len(q.Envelopes(t)); n != 0 {
			t.Errorf("%s: queued %d", path, n)
		}
	}
}

// A storefront script can read why /collect refused it.
func TestCollectErrorsCarryCORS(t *testing.T) {
	h, _ := newTestHandler(t, "")
	res := invoke(t, h, httpEvent("POST", "/collect", `{"events":[]}`, map[string]string{"Origin": "https://demo-store.example", "Content-Type": "application/json"}))
	if res.StatusCode < 400 {
		t.Fatalf("status %d, want an error", res.StatusCode)
	}
	if got := res.Headers["Access-Control-Allow-Origin"]; got != "https://demo-store.example" {
		t.Fatalf("Access-Control-Allow-Origin = %q", got)
	}
}
