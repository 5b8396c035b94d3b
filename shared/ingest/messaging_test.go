package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// envOf builds a queue message for any source.
func envOf(t *testing.T, source, topic, id string, at time.Time, body any) []byte {
	t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	b, err := ingest.Encode(ingest.Envelope{V: 1, Source: source, Tenant: "t1", Topic: topic, ID: id, TriggeredAt: at, ReceivedAt: at, Body: raw})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func count(rec *recorder, detailType string) int {
	n := 0
	for _, e := range rec.events {
		if e.DetailType == detailType {
			n++
		}
	}
	return n
}

func process(t *testing.T, p *ingest.Processor, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		if err := p.Process(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

func customerOf(t *testing.T, ps *profile.Store, id profile.Identity) profile.Profile {
	t.Helper()
	ctx := context.Background()
	r, err := ps.Resolve(ctx, "t1", id)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := ps.Profile(ctx, "t1", r.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func eventTypes(t *testing.T, ps *profile.Store, cid string) map[string]int {
	t.Helper()
	tl, err := ps.Timeline(context.Background(), "t1", cid, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range tl {
		if e.Kind == "event" {
			out[fmt.Sprint(e.Data["type"])]++
		}
	}
	return out
}

type sgEvent struct {
	Email     string `json:"email"`
	Event     string `json:"event"`
	EventID   string `json:"sg_event_id"`
	MessageID string `json:"sg_message_id"`
	Timestamp int64  `json:"timestamp"`
	URL       string `json:"url,omitempty"`
	GroupID   int64  `json:"asm_group_id,omitempty"`
}

func TestSendGridEvents(t *testing.T) {
	p, ps, rec := setup(t)
	t0 := time.Date(2025, 4, 1, 8, 0, 0, 0, time.UTC)
	types := []string{"processed", "deferred", "delivered", "open", "click", "bounce", "dropped",
		"spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe"}
	var batch []sgEvent
	for i, typ := range types {
		batch = append(batch, sgEvent{Email: "Ann@Example.com", Event: typ, EventID: "sg-" + typ, MessageID: "msg1.filter0001",
			Timestamp: t0.Add(time.Duration(i) * time.Minute).Unix(), GroupID: 42})
	}
	process(t, p, envOf(t, "sendgrid", "sendgrid/events", "batch-1", t0, batch))

	ann := customerOf(t, ps, profile.Identity{Email: "ann@example.com"})
	got := eventTypes(t, ps, ann.ID)
	for _, typ := range types {
		if got["email."+typ] != 1 {
			t.Errorf("email.%s recorded %d times, want 1 (all: %v)", typ, got["email."+typ], got)
		}
	}
	// delivered, bounce, dropped are delivery outcomes; open and click engagement.
	if d, e := count(rec, catalog.EventMessageDelivered), count(rec, catalog.EventMessageEngaged); d != 3 || e != 2 {
		t.Fatalf("published %d message.delivered and %d message.engaged, want 3 and 2", d, e)
	}
	// spamreport → unsubscribed (changed), unsubscribe and group_unsubscribe
	// (same state), group_resubscribe → subscribed (changed).
	if n := count(rec, catalog.EventConsentChanged); n != 2 {
		t.Fatalf("consent.changed %d times, want 2", n)
	}
	cs, err := ps.Consents(context.Background(), "t1", ann.ID)
	if err != nil || len(cs) != 1 || cs[0].Channel != "email" || cs[0].State != profile.Subscribed || cs[0].Detail != "group_resubscribe" {
		t.Fatalf("email consent %+v", cs)
	}
	clickAt := t0.Add(4 * time.Minute).Format(time.RFC3339Nano)
	if ann.LastEngagement["email"] != clickAt {
		t.Fatalf("last email engagement %q, want the click at %s", ann.LastEngagement["email"], clickAt)
	}

	// SendGrid retries: the same POST (same envelope id) changes nothing; a
	// new batch repeating sg_event_ids only adds the new event.
	before := len(rec.events)
	process(t, p, envOf(t, "sendgrid", "sendgrid/events", "batch-1", t0, batch))
	if len(rec.events) != before {
		t.Fatalf("the same batch published %d more events", len(rec.events)-before)
	}
	again := []sgEvent{batch[2], batch[3], {Email: "ann@example.com", Event: "click", EventID: "sg-click-2", MessageID: "msg1.filter0001",
		Timestamp: t0.Add(time.Hour).Unix()}}
	process(t, p, envOf(t, "sendgrid", "sendgrid/events", "batch-2", t0, again))
	if d, e := count(rec, catalog.EventMessageDelivered), count(rec, catalog.EventMessageEngaged); d != 3 || e != 3 {
		t.Fatalf("after a retried batch: %d delivered, %d engaged, want 3 and 3", d, e)
	}
	if got := eventTypes(t, ps, ann.ID); got["email.delivered"] != 1 || got["email.open"] != 1 || got["email.click"] != 2 {
		t.Fatalf("after a retried batch: %v", got)
	}
	for _, e := range rec.events {
		if e.DetailType == catalog.EventMessageEngaged {
			if d := e.Detail.(map[string]any); d["providerMessageId"] != "msg1" || d["channel"] != "email" {
				t.Fatalf("engagement detail %v: the message id is sg_message_id before the first dot", d)
			}
		}
	}

	// Not a JSON array: poison.
	if err := p.Process(context.Background(), envOf(t, "sendgrid", "sendgrid/events", "batch-3", t0, []byte(`{"event":"open"}`))); err == nil {
		t.Fatal("a SendGrid body that is not an array was accepted")
	}
}

func waMessage(from, id string, at time.Time, text string) map[string]any {
	return map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{"id": "WABA1", "changes": []any{map[string]any{
		"field": "messages", "value": map[string]any{"messaging_product": "whatsapp", "metadata": map[string]any{"phone_number_id": "1099"},
			"messages": []any{map[string]any{"from": from, "id": id, "timestamp": fmt.Sprint(at.Unix()), "type": "text", "text": map[string]any{"body": text}}}}}}}}}
}

func waStatus(to, id, status string, at time.Time) map[string]any {
	return map[string]any{"object": "whatsapp_business_account", "entry": []any{map[string]any{"id": "WABA1", "changes": []any{map[string]any{
		"field": "messages", "value": map[string]any{"messaging_product": "whatsapp", "metadata": map[string]any{"phone_number_id": "1099"},
			"statuses": []any{map[string]any{"id": id, "status": status, "timestamp": fmt.Sprint(at.Unix()), "recipient_id": to}}}}}}}}
}

func TestWhatsAppStatusesAndServiceWindow(t *testing.T) {
	p, ps, rec := setup(t)
	t0 := time.Date(2025, 5, 2, 14, 0, 0, 0, time.UTC)

	// Statuses of a message we sent never open the window.
	process(t, p,
		envOf(t, "whatsapp", "whatsapp/messages", "s1", t0, waStatus("15550001111", "wamid.OUT1", "sent", t0)),
		envOf(t, "whatsapp", "whatsapp/messages", "s2", t0, waStatus("15550001111", "wamid.OUT1", "delivered", t0.Add(time.Second))),
		envOf(t, "whatsapp", "whatsapp/messages", "s3", t0, waStatus("15550001111", "wamid.OUT1", "read", t0.Add(time.Minute))),
		// Meta redelivers the read status under a new body (another envelope id).
		envOf(t, "whatsapp", "whatsapp/messages", "s3-retry", t0, waStatus("+15550001111", "wamid.OUT1", "read", t0.Add(time.Minute))),
	)
	bob := customerOf(t, ps, profile.Identity{Phone: "+15550001111"})
	if bob.WhatsAppWindowOpen(t0.Add(2 * time.Minute)) {
		t.Fatal("delivery statuses opened the customer-service window")
	}
	if n := count(rec, catalog.EventMessageDelivered); n != 3 {
		t.Fatalf("message.delivered %d times, want 3 (sent, delivered, read; the retry deduplicated)", n)
	}
	if got := eventTypes(t, ps, bob.ID); got["whatsapp.read"] != 1 || got["whatsapp.sent"] != 1 {
		t.Fatalf("status events %v", got)
	}

	// An inbound message opens the 24-hour window from its timestamp.
	in := t0.Add(time.Hour)
	process(t, p, envOf(t, "whatsapp", "whatsapp/messages", "m1", in, waMessage("15550001111", "wamid.IN1", in, "Is my order on its way?")))
	bob = customerOf(t, ps, profile.Identity{Phone: "+15550001111"})
	for _, c := range []struct {
		at   time.Time
		open bool
	}{{in, true}, {in.Add(23*time.Hour + 59*time.Minute), true}, {in.Add(24 * time.Hour), false}, {in.Add(-time.Minute), false}} {
		if got := bob.WhatsAppWindowOpen(c.at); got != c.open {
			t.Errorf("window open at inbound%+v = %v, want %v", c.at.Sub(in), got, c.open)
		}
	}
	if got := eventTypes(t, ps, bob.ID); got["whatsapp.inbound"] != 1 {
		t.Fatalf("inbound events %v", got)
	}

	// STOP over WhatsApp unsubscribes that channel only.
	process(t, p, envOf(t, "whatsapp", "whatsapp/messages", "m2", in, waMessage("15550001111", "wamid.IN2", in.Add(time.Minute), "stop")))
	cs, err := ps.Consents(context.Background(), "t1", bob.ID)
	if err != nil || len(cs) != 1 || cs[0].Channel != "whatsapp" || cs[0].State != profile.Unsubscribed {
		t.Fatalf("consent after STOP: %+v", cs)
	}
}

func collectEnv(t *testing.T, e map[string]any) []byte {
	t.Helper()
	at, err := time.Parse(time.RFC3339, e["timestamp"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return envOf(t, "collect", "collect", e["eventId"].(string), at, e)
}

func TestCollectAnonymousThenIdentified(t *testing.T) {
	p, ps, _ := setup(t)
	ctx := context.Background()
	process(t, p, env("customers/create", "c1", `{"id":77,"email":"ann@example.com","first_name":"Ann","updated_at":"2025-02-01T10:00:00Z"}`, nil))
	ann := customerOf(t, ps, profile.Identity{ShopifyID: "77"})

	view := map[string]any{"event": "page_view", "eventId": "ev-1", "timestamp": "2025-02-03T19:00:00Z", "anonymousId": "anon-9", "properties": map[string]any{"path": "/products/mug"}}
	cart := map[string]any{"event": "add_to_cart", "eventId": "ev-2", "timestamp": "2025-02-03T19:01:00Z", "anonymousId": "anon-9", "properties": map[string]any{"productId": "mug"}}
	process(t, p, collectEnv(t, view), collectEnv(t, cart), collectEnv(t, view)) // the beacon retried ev-1
	visitor := customerOf(t, ps, profile.Identity{AnonymousID: "anon-9"})
	if visitor.ID == ann.ID || !visitor.Anonymous {
		t.Fatalf("an unknown visitor should get an anonymous profile of its own: %+v", visitor)
	}
	if got := eventTypes(t, ps, visitor.ID); got["page_view"] != 1 || got["add_to_cart"] != 1 {
		t.Fatalf("visitor events %v", got)
	}

	// The visitor signs in: anonymous id and email in one event merge the two.
	login := map[string]any{"event": "login", "eventId": "ev-3", "timestamp": "2025-02-03T19:05:00Z", "anonymousId": "anon-9", "email": "ANN@example.com"}
	process(t, p, collectEnv(t, login))
	merged, err := ps.Profile(ctx, "t1", visitor.ID)
	if err != nil || merged.ID != ann.ID {
		t.Fatalf("the visitor should now lead to Ann (%s): %s %v", ann.ID, merged.ID, err)
	}
	if got := eventTypes(t, ps, ann.ID); got["page_view"] != 1 || got["add_to_cart"] != 1 || got["login"] != 1 {
		t.Fatalf("Ann's events after the merge %v", got)
	}
	if merged.Hours[19] != 3 || merged.LastEngagement["web"] != "2025-02-03T19:05:00Z" {
		t.Fatalf("aggregates after the merge: hours[19]=%d web=%q", merged.Hours[19], merged.LastEngagement["web"])
	}
	ms, err := ps.Merges(ctx, "t1", ann.ID)
	if err != nil || len(ms) != 1 || ms[0].MergedID != visitor.ID {
		t.Fatalf("merge records %+v", ms)
	}
	// Later events with only the anonymous id land on Ann directly.
	process(t, p, collectEnv(t, map[string]any{"event": "page_view", "eventId": "ev-4", "timestamp": "2025-02-04T08:00:00Z", "anonymousId": "anon-9"}))
	if got := eventTypes(t, ps, ann.ID); got["page_view"] != 2 {
		t.Fatalf("after the merge an anonymous event went elsewhere: %v", got)
	}
	// A collect body without an event id is poison.
	if err := p.Process(ctx, envOf(t, "collect", "collect", "x", time.Now(), map[string]any{"event": "page_view", "anonymousId": "a"})); err == nil {
		t.Fatal("collect event without eventId accepted")
	}
}

func checkout(token, email string, updated time.Time) string {
	return fmt.Sprintf(`{"id":1,"token":%q,"email":%q,"created_at":%q,"updated_at":%q,"completed_at":null,"currency":"EUR","total_price":"25.50",
		"abandoned_checkout_url":"https://shop.example/checkouts/%s/recover","line_items":[{"title":"Mug","quantity":1,"price":"25.50","product_id":9}]}`,
		token, email, updated.Format(time.RFC3339), updated.Format(time.RFC3339), token)
}

func TestCheckoutAbandonedSweep(t *testing.T) {
	p, _, rec := setup(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	old := now.Add(-2 * time.Hour)
	order := fmt.Sprintf(`{"id":5001,"email":"bob@example.com","created_at":%q,"updated_at":%q,"total_price":"25.50","currency":"EUR","checkout_token":"ck-bought"}`,
		old.Add(10*time.Minute).Format(time.RFC3339), old.Add(10*time.Minute).Format(time.RFC3339))
	process(t, p,
		env("checkouts/create", "k1", checkout("ck-left", "bob@example.com", old), nil),
		env("checkouts/create", "k2", checkout("ck-bought", "bob@example.com", old), nil),
		env("orders/create", "k3", order, nil),
		env("checkouts/create", "k4", checkout("ck-fresh", "cid@example.com", now.Add(-10*time.Minute)), nil),
		env("checkouts/create", "k5", `{"id":2,"token":"ck-anon","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","total_price":"1.00"}`, nil),
	)
	abandoned := func() []string {
		var out []string
		for _, e := range rec.events {
			if e.DetailType == catalog.EventCheckoutAbandoned {
				out = append(out, e.Detail.(map[string]any)["token"].(string))
			}
		}
		return out
	}
	if err := p.SweepAll(ctx, now); err != nil {
		t.Fatal(err)
	}
	if got := abandoned(); len(got) != 1 || got[0] != "ck-left" {
		t.Fatalf("abandoned after the first sweep: %v, want [ck-left]", got)
	}
	d := rec.events[len(rec.events)-1].Detail.(map[string]any)
	if d["total"] != 25.5 || !strings.HasSuffix(d["url"].(string), "/ck-left/recover") || d["customerId"] == "" {
		t.Fatalf("checkout.abandoned detail %v", d)
	}
	// A second sweep (or a concurrent one) reports nothing twice.
	if err := p.SweepAll(ctx, now); err != nil {
		t.Fatal(err)
	}
	if got := abandoned(); len(got) != 1 {
		t.Fatalf("abandoned after a second sweep: %v", got)
	}
	// An update of an abandoned checkout does not reopen it.
	process(t, p, env("checkouts/update", "k6", checkout("ck-left", "bob@example.com", old.Add(time.Minute)), nil))
	// The fresh checkout is due AbandonAfter after its last update.
	if err := p.SweepAll(ctx, now.Add(profile.AbandonAfter)); err != nil {
		t.Fatal(err)
	}
	if got := abandoned(); len(got) != 2 || got[1] != "ck-fresh" {
		t.Fatalf("abandoned after the later sweep: %v, want [ck-left ck-fresh]", got)
	}
}

func TestSweepDrainsMoreThanAPage(t *testing.T) {
	p, _, rec := setup(t)
	old := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	for i := range 130 {
		process(t, p, env("checkouts/create", fmt.Sprintf("d%d", i), checkout(fmt.Sprintf("ck-%03d", i), fmt.Sprintf("p%d@example.com", i), old), nil))
	}
	if err := p.SweepAll(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := count(rec, catalog.EventCheckoutAbandoned); n != 130 {
		t.Fatalf("one scheduled sweep reported %d of 130 due checkouts", n)
	}
}

func TestIsScheduledEvent(t *testing.T) {
	for in, want := range map[string]bool{
		`{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`: true,
		`{"detail-type":"Scheduled Event","source":"pulsehub"}`:                                      false,
		`{"Records":[{"messageId":"1","body":"{}"}]}`:                                                false,
		`not json`: false,
	} {
		if got := ingest.IsScheduledEvent([]byte(in)); got != want {
			t.Errorf("IsScheduledEvent(%s) = %v, want %v", in, got, want)
		}
	}
}
