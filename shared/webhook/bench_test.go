package webhook

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkShopify measures the handler's CPU per accepted webhook, with the
// directory and queue as in-memory fakes (no I/O).
func BenchmarkShopify(b *testing.B) {
	h, q := newTestHandler(b, "")
	ev := shopifyEvent("orders/create", orderBody, "demo-shopify-secret")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, _ := h.Handle(ctx, ev)
		if res.StatusCode != 200 {
			b.Fatal(res.StatusCode)
		}
		q.Reset()
	}
}

func BenchmarkCollect(b *testing.B) {
	h, q := newTestHandler(b, "")
	ev := httpEvent("POST", "/collect", `{"writeKey":"demo-write-key","events":[{"event":"page_view","eventId":"e1","timestamp":"2025-03-01T11:59:00Z","anonymousId":"a1","properties":{"path":"/"}}]}`, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, _ := h.Handle(ctx, ev)
		if res.StatusCode != 202 {
			b.Fatal(res.StatusCode)
		}
		q.Reset()
	}
}

func BenchmarkSendGrid(b *testing.B) {
	key, pub := newSendGridKey(b)
	h, q := newTestHandler(b, pub)
	body := `[{"email":"ann@example.com","event":"open","sg_event_id":"e1","sg_message_id":"m1","timestamp":1740830400}]`
	// Signed at the handler's fixed clock, so the request stays fresh.
	ts := strconv.FormatInt(fixedNow.Unix(), 10)
	ev := httpEvent("POST", "/webhooks/sendgrid/"+testTenant, body, map[string]string{
		"X-Twilio-Email-Event-Webhook-Signature": signSendGrid(b, key, []byte(body), ts), "X-Twilio-Email-Event-Webhook-Timestamp": ts})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, _ := h.Handle(ctx, ev)
		if res.StatusCode != 200 {
			b.Fatal(res.StatusCode)
		}
		q.Reset()
	}
}
