package ingest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

// syncEnv is an envelope as the sync function writes it: a REST-shaped
// order read through the Admin GraphQL API, topic orders/updated, source
// "sync", dedupe id sync:order:<id>:<updated_at>.
func syncEnv(t *testing.T, o shopify.Order) []byte {
	t.Helper()
	body, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return envelope(ingest.Envelope{V: 1, Source: ingest.SourceSync, Tenant: "t1", Topic: shopify.TopicOrdersUpdated,
		ID: "sync:order:" + o.Name + ":" + o.UpdatedAt.Format(time.RFC3339Nano), TriggeredAt: o.UpdatedAt, ReceivedAt: time.Now(), Body: body})
}

// A backfilled order that ingest has never seen arrives as orders/updated
// from sync and lands as a create (an upsert); the webhooks for the same
// order, before or after, neither count it twice nor publish it twice.
func TestSyncOrderUpdatedIsAnUpsert(t *testing.T) {
	p, ps, rec := setup(t)
	ctx := context.Background()
	placed := time.Date(2025, 2, 3, 10, 0, 0, 0, time.UTC)
	paidAt := placed.Add(5 * time.Minute)
	backfilled := shopify.Order{ID: 2002, AdminGraphQLAPIID: "gid://shopify/Order/2002", Name: "#2002", Email: "bo@example.com",
		CreatedAt: placed, UpdatedAt: paidAt, ProcessedAt: &placed, Currency: "EUR", TotalPrice: "25.00", FinancialStatus: "paid",
		Customer:  &shopify.Customer{ID: 88, Email: "bo@example.com", FirstName: "Bo"},
		LineItems: []shopify.LineItem{{ID: 1, Title: "CD", Quantity: 1, Price: "25.00"}}, Refunds: []shopify.Refund{}}
	if err := p.Process(ctx, syncEnv(t, backfilled)); err != nil {
		t.Fatalf("sync orders/updated for an unseen order: %v", err)
	}
	r, err := ps.Resolve(ctx, "t1", profile.Identity{ShopifyID: "88"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, orders int, cents int64, created int) {
		t.Helper()
		pr, err := ps.Profile(ctx, "t1", r.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range rec.events {
			if e.DetailType == catalog.EventOrderCreated {
				n++
			}
		}
		if pr.OrdersCount != orders || pr.TotalSpentCents != cents || n != created {
			t.Fatalf("%s: %d orders, %d cents, order.created %d times; want %d, %d, %d", step, pr.OrdersCount, pr.TotalSpentCents, n, orders, cents, created)
		}
	}
	check("backfilled", 1, 2500, 1)
	if d := rec.events[len(rec.events)-1].Detail.(map[string]any); d["source"] != ingest.SourceSync || d["orderId"] != "2002" {
		t.Fatalf("order.created detail %v", d)
	}

	// The same page read again by the next run (same dedupe id), and the
	// boundary record under the same updated_at: nothing changes.
	for range 2 {
		if err := p.Process(ctx, syncEnv(t, backfilled)); err != nil {
			t.Fatal(err)
		}
	}
	check("sync read again", 1, 2500, 1)

	// Shopify's own webhooks for that order arrive late: the create (older
	// state) is ignored, a newer cancellation applies on top.
	create := `{"id":2002,"name":"#2002","email":"bo@example.com","created_at":"2025-02-03T10:00:00Z","processed_at":"2025-02-03T10:00:00Z","updated_at":"2025-02-03T10:00:00Z","total_price":"25.00","currency":"EUR","checkout_token":"ck-2002","customer":{"id":88}}`
	if err := p.Process(ctx, env("orders/create", "w-2002-c", create, nil)); err != nil {
		t.Fatal(err)
	}
	check("late orders/create", 1, 2500, 1)
	cancel := `{"id":2002,"name":"#2002","email":"bo@example.com","created_at":"2025-02-03T10:00:00Z","processed_at":"2025-02-03T10:00:00Z","updated_at":"2025-02-04T09:00:00Z","cancelled_at":"2025-02-04T09:00:00Z","total_price":"25.00","currency":"EUR","customer":{"id":88}}`
	if err := p.Process(ctx, env("orders/cancelled", "w-2002-x", cancel, nil)); err != nil {
		t.Fatal(err)
	}
	check("cancelled", 0, 0, 1)
	// A sync read of an older state after that changes nothing.
	if err := p.Process(ctx, syncEnv(t, backfilled)); err != nil {
		t.Fatal(err)
	}
	check("stale sync after cancel", 0, 0, 1)

	// The other way round: the webhook first, then sync with the same state.
	viaWebhook := `{"id":3003,"name":"#3003","email":"bo@example.com","created_at":"2025-02-05T10:00:00Z","processed_at":"2025-02-05T10:00:00Z","updated_at":"2025-02-05T10:00:00Z","total_price":"10.00","currency":"EUR","customer":{"id":88}}`
	if err := p.Process(ctx, env("orders/create", "w-3003", viaWebhook, nil)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 2, 5, 10, 0, 0, 0, time.UTC)
	same := shopify.Order{ID: 3003, Name: "#3003", Email: "bo@example.com", CreatedAt: at, UpdatedAt: at, ProcessedAt: &at, Currency: "EUR",
		TotalPrice: "10.00", Customer: &shopify.Customer{ID: 88}, LineItems: []shopify.LineItem{}, Refunds: []shopify.Refund{}}
	if err := p.Process(ctx, syncEnv(t, same)); err != nil {
		t.Fatal(err)
	}
	check("webhook then sync", 1, 1000, 2)
}
