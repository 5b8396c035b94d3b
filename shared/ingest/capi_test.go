package ingest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/meta"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/shopify"
	"github.com/pulsehub/pulsehub/shared/syncfn"
)

func TestCAPIEventName(t *testing.T) {
	for in, want := range map[string]string{
		"view_item": meta.EventViewContent, "product_viewed": meta.EventViewContent,
		"add_to_cart": meta.EventAddToCart, "product_added_to_cart": meta.EventAddToCart,
		"begin_checkout": meta.EventInitiateCheckout, "checkout_started": meta.EventInitiateCheckout, " Begin_Checkout ": meta.EventInitiateCheckout,
		"purchase": "", "checkout_completed": "", "page_view": "", "": "",
	} {
		if got := ingest.CAPIEventName(in); got != want {
			t.Errorf("CAPIEventName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPurchaseEventID(t *testing.T) {
	if got := ingest.PurchaseEventID(shopify.Order{ID: 5, CheckoutToken: "ck-5"}); got != "ck-5" {
		t.Errorf("with a checkout token: %q", got)
	}
	if got := ingest.PurchaseEventID(shopify.Order{ID: 5}); got != "5" {
		t.Errorf("without: %q", got)
	}
}

// Orders and collected events of a tenant with a Meta pixel reach the
// Conversions API outbox with the Pixel's event ids and hashed user data;
// nothing older than 7 days, nothing twice; the sync function drains the
// outbox to the sandbox Graph API.
func TestConversionsReachMetaThroughSync(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	outbox := meta.NewOutbox(h.tbl)
	capi := ingest.NewConversions(outbox, h.integ, 0, nil)
	p := ingest.NewProcessor(slog.New(slog.DiscardHandler), h.ps, nil, h.rec, ingest.Compliance{}, capi)
	apply := func(e ingest.Envelope) {
		t.Helper()
		if err := p.Apply(ctx, e); err != nil {
			t.Fatalf("%s %s: %v", e.Topic, e.ID, err)
		}
	}
	orderEnv := func(id int64, placed time.Time, extra string) ingest.Envelope {
		body := `{"id":` + strconv.FormatInt(id, 10) + `,"email":"Ann@Example.com","phone":"+1 415 555 0100","created_at":"` + placed.Format(time.RFC3339) +
			`","processed_at":"` + placed.Format(time.RFC3339) + `","updated_at":"` + placed.Format(time.RFC3339) +
			`","total_price":"59.90","currency":"EUR","customer":{"id":77,"first_name":"Ann","last_name":"Lee"},` +
			`"line_items":[{"id":1,"product_id":9001,"title":"CD","quantity":2,"price":"29.95"}]` + extra + `}`
		return ingest.Envelope{V: 1, Source: "shopify", Tenant: "t1", Topic: "orders/create", ID: "w" + strconv.FormatInt(id, 10), TriggeredAt: placed, ReceivedAt: now, Body: json.RawMessage(body)}
	}
	collect := func(name, id string, at time.Time, who string) ingest.Envelope {
		body := `{"event":"` + name + `","eventId":"` + id + `","timestamp":"` + at.Format(time.RFC3339) + `",` + who +
			`,"properties":{"url":"https://shop.example/p/cd","fbp":"fb.1.1596403881668.1116446470","ecommerce":{"currency":"eur","value":29.95,"items":[{"item_id":"9001","price":29.95,"quantity":1}]}}}`
		return ingest.Envelope{V: 1, Source: "collect", Tenant: "t1", Topic: "collect", ID: id, TriggeredAt: at, ReceivedAt: now,
			Headers: map[string]string{"user-agent": "Mozilla/5.0 (test)"}, Body: json.RawMessage(body)}
	}

	// No Meta pixel yet: nothing is queued.
	apply(orderEnv(1, now.Add(-time.Hour), `,"checkout_token":"ck-1"`))
	if pending, err := outbox.Next(ctx, "t1", 10); err != nil || len(pending) != 0 {
		t.Fatalf("queued %d events without a pixel (%v)", len(pending), err)
	}
	if err := h.integ.Put(ctx, "t1", "meta", map[string]string{"pixelId": "4242"}, map[string]string{"accessToken": "EAAB-test", "appSecret": "as"}); err != nil {
		t.Fatal(err)
	}
	apply(orderEnv(2, now.Add(-time.Hour), `,"checkout_token":"ck-2","client_details":{"browser_ip":"203.0.113.9","user_agent":"Mozilla/5.0 (checkout)"},"billing_address":{"city":"San Francisco","province_code":"CA","zip":"94107-1234","country_code":"US"}`))
	apply(orderEnv(3, now.Add(-2*time.Hour), ``))                                             // no checkout token: event id = order id
	apply(orderEnv(4, now.Add(-8*24*time.Hour), `,"checkout_token":"ck-old"`))                // too old for Meta
	apply(orderEnv(5, now.Add(-time.Hour), `,"cancelled_at":"`+now.Format(time.RFC3339)+`"`)) // cancelled on first sight
	// The same order again (redelivery, a paid update): still one Purchase.
	paid := orderEnv(2, now.Add(-time.Hour), `,"checkout_token":"ck-2","financial_status":"paid"`)
	paid.Body = json.RawMessage(`{"id":2,"email":"ann@example.com","created_at":"` + now.Add(-time.Hour).Format(time.RFC3339) + `","updated_at":"` + now.Format(time.RFC3339) + `","total_price":"59.90","currency":"EUR","checkout_token":"ck-2","customer":{"id":77}}`)
	apply(paid)

	apply(collect("view_item", "ev-view-1", now.Add(-time.Minute), `"anonymousId":"anon-1"`))
	apply(collect("add_to_cart", "ev-cart-1", now.Add(-time.Minute), `"email":"bo@example.com"`))
	apply(collect("begin_checkout", "ev-co-1", now.Add(-time.Minute), `"userId":"u-9","anonymousId":"anon-1"`))
	apply(collect("checkout_started", "ev-co-2", now.Add(-30*time.Second), `"anonymousId":"anon-2"`))
	apply(collect("page_view", "ev-page-1", now.Add(-time.Minute), `"anonymousId":"anon-1"`))
	apply(collect("purchase", "ck-2", now.Add(-time.Minute), `"anonymousId":"anon-1"`))
	apply(collect("view_item", "ev-view-old", now.Add(-8*24*time.Hour), `"anonymousId":"anon-1"`))
	apply(collect("add_to_cart", "ev-cart-1", now.Add(-time.Minute), `"email":"bo@example.com"`)) // redelivered

	pending, err := outbox.Next(ctx, "t1", 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]meta.Event{}
	for _, pe := range pending {
		got[pe.Event.EventName+"/"+pe.Event.EventID] = pe.Event
	}
	want := []string{"Purchase/ck-2", "Purchase/3", "ViewContent/ev-view-1", "AddToCart/ev-cart-1", "InitiateCheckout/ev-co-1", "InitiateCheckout/ev-co-2"}
	if len(pending) != len(want) {
		t.Fatalf("outbox holds %d events %v, want %v", len(pending), keys(got), want)
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Fatalf("outbox lacks %s: %v", k, keys(got))
		}
	}
	ann, err := h.ps.Resolve(ctx, "t1", profile.Identity{ShopifyID: "77"})
	if err != nil {
		t.Fatal(err)
	}
	buy := got["Purchase/ck-2"]
	ud := buy.UserData
	if ud.Em[0] != meta.Hash("ann@example.com") || ud.Ph[0] != meta.Hash("14155550100") || ud.Fn[0] != meta.Hash("ann") ||
		ud.Ct[0] != meta.Hash("sanfrancisco") || ud.St[0] != meta.Hash("ca") || ud.Zp[0] != meta.Hash("94107") || ud.Country[0] != meta.Hash("us") ||
		ud.ExternalID[0] != meta.Hash(ann.CustomerID) || ud.ClientUserAgent != "Mozilla/5.0 (checkout)" || ud.ClientIPAddress != "" {
		t.Fatalf("purchase user data %+v", ud)
	}
	if buy.ActionSource != "website" || buy.EventTime != now.Add(-time.Hour).Unix() || buy.CustomData.Value != 59.9 || buy.CustomData.Currency != "EUR" ||
		buy.CustomData.OrderID != "2" || buy.CustomData.NumItems != 2 || buy.CustomData.ContentIDs[0] != "9001" {
		t.Fatalf("purchase %+v custom %+v", buy, buy.CustomData)
	}
	if got["Purchase/3"].ActionSource != "other" {
		t.Fatalf("order without browser context: action_source %q", got["Purchase/3"].ActionSource)
	}
	view := got["ViewContent/ev-view-1"]
	if view.ActionSource != "website" || view.EventSourceURL != "https://shop.example/p/cd" || view.UserData.ClientUserAgent != "Mozilla/5.0 (test)" ||
		view.UserData.Fbp != "fb.1.1596403881668.1116446470" || len(view.UserData.Em) != 0 || len(view.UserData.ExternalID) != 1 ||
		view.CustomData == nil || view.CustomData.Currency != "EUR" || view.CustomData.Value != 29.95 || view.CustomData.ContentIDs[0] != "9001" {
		t.Fatalf("view content %+v custom %+v", view, view.CustomData)
	}
	if em := got["AddToCart/ev-cart-1"].UserData.Em; len(em) != 1 || em[0] != meta.Hash("bo@example.com") {
		t.Fatalf("add to cart em %v", em)
	}

	// The sync function forwards the outbox to the (sandbox) Graph API.
	graph := sandbox.NewMetaGraph(nil)
	sb, err := sandbox.New(sandbox.Options{BaseURL: "http://unused"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Register(graph); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	s := syncfn.New(h.tbl, h.integ, nil, "", map[string]string{"meta": srv.URL + "/sandbox/meta"}, nil, slog.New(slog.DiscardHandler))
	res, err := s.ForwardMeta(ctx, "t1")
	if err != nil || res.Received != len(want) || res.Batches != 1 {
		t.Fatalf("ForwardMeta = %+v, %v", res, err)
	}
	received, _ := graph.Received("4242") // the events; the second result counts requests
	sent := map[string]bool{}
	for _, raw := range received {
		var e meta.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		sent[e.EventName+"/"+e.EventID] = true
	}
	for _, k := range want {
		if !sent[k] {
			t.Fatalf("Meta did not receive %s: %v", k, sent)
		}
	}
	// Sent events stay sent: the order's next update queues nothing new.
	apply(paid)
	if pending, err := outbox.Next(ctx, "t1", 10); err != nil || len(pending) != 0 {
		t.Fatalf("after forwarding, %d events queued again (%v)", len(pending), err)
	}
}

func keys(m map[string]meta.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
