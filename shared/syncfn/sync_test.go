package syncfn

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/meta"
	"github.com/pulsehub/pulsehub/shared/queue"
	"github.com/pulsehub/pulsehub/shared/shopify"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

type fakeSettings map[string]integration.Settings // tenant/name

func (f fakeSettings) Get(_ context.Context, tenant, name string) (integration.Settings, error) {
	s, ok := f[tenant+"/"+name]
	if !ok {
		return integration.Settings{}, apperr.E(apperr.NotFound, "not found")
	}
	return s, nil
}

// captureQueue records envelopes; failAfter > 0 fails the call after that many batches.
type captureQueue struct {
	mu        sync.Mutex
	envs      []ingest.Envelope
	calls     int
	failAfter int
}

func (q *captureQueue) SendBatch(_ context.Context, _ string, msgs []queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.failAfter > 0 && q.calls > q.failAfter {
		return apperr.E(apperr.Transient, "queue down")
	}
	for _, m := range msgs {
		e, err := ingest.Decode(m.Body)
		if err != nil {
			return err
		}
		q.envs = append(q.envs, e)
	}
	return nil
}

func (q *captureQueue) ids(kind string) map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]int{}
	for _, e := range q.envs {
		if e.Topic == kind {
			out[e.ID]++
		}
	}
	return out
}

type env struct {
	s     *Syncer
	q     *captureQueue
	shop  *sandbox.ShopifyAdmin
	graph *sandbox.MetaGraph
	tm    *sandbox.TagManager
	table *store.Table
}

var base = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func order(i int, updated time.Time) shopify.Order {
	return shopify.Order{ID: int64(i), Name: "#" + strconv.Itoa(i), CreatedAt: base, UpdatedAt: updated, Currency: "USD", TotalPrice: "10.00",
		FinancialStatus: "paid", Customer: &shopify.Customer{ID: 1}, LineItems: []shopify.LineItem{{ID: int64(i), Title: "CD", Quantity: 1, Price: "10.00"}}}
}

func customer(i int, updated time.Time) shopify.Customer {
	return shopify.Customer{ID: int64(i), Email: "c" + strconv.Itoa(i) + "@example.com", CreatedAt: &base, UpdatedAt: &updated}
}

func setup(t *testing.T) env {
	t.Helper()
	table := storetest.Table(t, "sync")
	shop := sandbox.NewShopifyAdmin(nil)
	shop.RestoreRate = 1e6 // pacing is tested in shared/shopify
	shop.AddShop("t.myshopify.com", "tok")
	graph := sandbox.NewMetaGraph(nil)
	tm := sandbox.NewTagManager()
	sb, err := sandbox.New(sandbox.Options{BaseURL: "http://unused"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []sandbox.Provider{shop, graph, tm} {
		if err := sb.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	settings := fakeSettings{
		"t1/shopify": {Config: map[string]string{"shopDomain": "t.myshopify.com"}, Secrets: map[string]string{"accessToken": "tok"}},
		"t1/meta":    {Config: map[string]string{"pixelId": "42"}, Secrets: map[string]string{"accessToken": "mt", "appSecret": "as"}},
		"t1/gtm":     {Config: map[string]string{"accountId": "1", "containerId": "2"}, Secrets: map[string]string{"apiToken": "g", "writeKey": "wk"}},
	}
	q := &captureQueue{}
	urls := map[string]string{"shopify": srv.URL + "/sandbox/shopify", "meta": srv.URL + "/sandbox/meta", "gtm": srv.URL + "/sandbox/gtm"}
	s := New(table, settings, q, "queue-url", urls, nil, slog.New(slog.DiscardHandler))
	return env{s: s, q: q, shop: shop, graph: graph, tm: tm, table: table}
}

func TestBackfillThenReconcileOnlyChanges(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var orders []shopify.Order
	var customers []shopify.Customer
	for i := 1; i <= 25; i++ {
		orders = append(orders, order(i, base.Add(time.Duration(i)*time.Minute)))
	}
	for i := 1; i <= 130; i++ {
		customers = append(customers, customer(i, base.Add(time.Duration(i)*time.Second)))
	}
	if err := e.shop.Put("tok", customers, orders); err != nil {
		t.Fatal(err)
	}
	c, err := e.s.ReconcileShopify(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Customers != 130 || c.Orders != 25 || !c.Done {
		t.Fatalf("backfill counts %+v", c)
	}
	ids := e.q.ids(shopify.TopicOrdersUpdated)
	if len(ids) != 25 || ids["sync:order:7:"+base.Add(7*time.Minute).Format(time.RFC3339Nano)] != 1 {
		t.Fatalf("order envelopes %v", ids)
	}
	var body shopify.Order
	if err := json.Unmarshal(e.q.envs[len(e.q.envs)-1].Body, &body); err != nil || body.ID != 25 || body.TotalPrice != "10.00" {
		t.Fatalf("last envelope body %+v (%v)", body, err)
	}

	// Two orders change; the next run reads them (and the boundary record
	// again, under the same dedupe id).
	if err := e.shop.Put("tok", nil, []shopify.Order{order(3, base.Add(time.Hour)), order(4, base.Add(2*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	before := len(e.q.envs)
	c, err = e.s.ReconcileShopify(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Orders != 3 || c.Customers != 1 {
		t.Fatalf("reconcile counts %+v, want the 2 changed orders plus the boundary order and customer", c)
	}
	got := map[string]bool{}
	for _, env := range e.q.envs[before:] {
		got[env.ID] = true
	}
	for _, want := range []string{"sync:order:3:" + base.Add(time.Hour).Format(time.RFC3339Nano), "sync:order:4:" + base.Add(2*time.Hour).Format(time.RFC3339Nano)} {
		if !got[want] {
			t.Errorf("missing %s in %v", want, got)
		}
	}
}

// A run that fails mid-way keeps its page cursor; the next run resumes at
// the next page instead of starting over.
func TestReconcileResumesFromSavedCursor(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var orders []shopify.Order
	for i := 1; i <= 35; i++ {
		orders = append(orders, order(i, base.Add(time.Duration(i)*time.Minute)))
	}
	if err := e.shop.Put("tok", nil, orders); err != nil {
		t.Fatal(err)
	}
	e.q.failAfter = 2 // customers page (empty: no call), then order pages 1 and 2 pass, page 3 fails
	if _, err := e.s.ReconcileShopify(ctx, "t1"); err == nil {
		t.Fatal("want the queue failure")
	}
	cur, err := e.s.loadCursor(ctx, "t1", "orders")
	if err != nil || cur.After == "" || cur.Enqueued != 20 {
		t.Fatalf("cursor after failure %+v (%v)", cur, err)
	}
	e.q.failAfter = 0
	c, err := e.s.ReconcileShopify(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Orders != 15 {
		t.Fatalf("resumed run enqueued %d orders, want the remaining 15", c.Orders)
	}
	if ids := e.q.ids(shopify.TopicOrdersUpdated); len(ids) != 35 {
		t.Fatalf("%d distinct orders enqueued, want 35", len(ids))
	}
}

func TestForwardMetaDrainsOutboxWithoutStaleEvents(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ob := meta.NewOutbox(e.table)
	now := time.Now()
	for i := range 1203 {
		at := now.Add(-time.Duration(i) * time.Minute)
		if i >= 1200 {
			at = now.Add(-8 * 24 * time.Hour).Add(time.Duration(i) * time.Second)
		}
		ev := meta.Event{EventName: meta.EventPurchase, EventTime: at.Unix(), EventID: "e" + strconv.Itoa(i), ActionSource: "website",
			UserData: meta.UserDataOf(meta.Person{Email: "x@example.com"})}
		if _, err := ob.Add(ctx, "t1", ev); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.s.ForwardMeta(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	got, requests := e.graph.Received("42")
	if res.Received != 1200 || res.Stale != 3 || len(got) != 1200 || requests != 2 {
		t.Fatalf("result %+v; sandbox %d events in %d requests", res, len(got), requests)
	}
	left, err := ob.Next(ctx, "t1", 10)
	if err != nil || len(left) != 0 {
		t.Fatalf("outbox still holds %d (%v)", len(left), err)
	}
}

func TestCheckGTMRecordsStatus(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.s.CheckGTM(ctx, "t1")
	if err != nil || st.Published {
		t.Fatalf("before publishing: %+v %v", st, err)
	}
	e.tm.PublishPulseHubTag("1", "2", "wk", "https://x/collect")
	if st, err = e.s.CheckGTM(ctx, "t1"); err != nil || !st.Published {
		t.Fatalf("after publishing: %+v %v", st, err)
	}
	var saved GTMStatus
	if err := e.table.Get(ctx, GTMStatusKey("t1"), &saved); err != nil || !saved.Published {
		t.Fatalf("saved status %+v (%v)", saved, err)
	}
}

func TestHandleConnectedEventBackfillsAndRegisters(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if err := e.shop.Put("tok", []shopify.Customer{customer(1, base)}, []shopify.Order{order(1, base)}); err != nil {
		t.Fatal(err)
	}
	ev := events.EventBridgeEvent{DetailType: catalog.EventIntegrationConnected, Detail: json.RawMessage(`{"tenant":"t1","integration":"shopify"}`)}
	if err := e.s.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if len(e.q.envs) != 2 {
		t.Fatalf("enqueued %d envelopes, want 2", len(e.q.envs))
	}
	ts, err := e.s.tenants(ctx)
	if err != nil || len(ts) != 1 || ts[0] != "t1" {
		t.Fatalf("registered tenants %v (%v)", ts, err)
	}
	// The schedule visits registered tenants; nothing changed, so only the
	// boundary records are read again.
	if err := e.s.Handle(ctx, events.EventBridgeEvent{DetailType: "Scheduled Event", Detail: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	bad := events.EventBridgeEvent{DetailType: catalog.EventIntegrationConnected, Detail: json.RawMessage(`{"tenant":""}`)}
	if err := e.s.Handle(ctx, bad); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("bad detail: %v", err)
	}
}

// logLines records log records.
type logLines struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

// lines lists "LEVEL message integration=… missing=…" per record.
func (l *logLines) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		line := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "integration" || a.Key == "missing" {
				line += " " + a.Key + "=" + a.Value.String()
			}
			return true
		})
		out = append(out, line)
	}
	return out
}

// An integration saved without what sync needs is a clean skip with one
// info line, on integration.connected and on the schedule alike — never an
// error that EventBridge would retry and drop.
func TestIncompleteIntegrationIsSkipped(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	settings := fakeSettings{
		"t2/shopify": {Config: map[string]string{"shopDomain": "t.myshopify.com"}, Secrets: map[string]string{"webhookSecret": "w"}},
		"t2/meta":    {Config: map[string]string{"appId": "7"}, Secrets: map[string]string{"accessToken": "mt"}},
		"t2/gtm":     {Config: map[string]string{"accountId": "1"}, Secrets: map[string]string{"writeKey": "wk"}},
	}
	logs := &logLines{}
	s := New(e.table, settings, e.q, "queue-url", nil, nil, slog.New(logs))
	want := map[string]string{
		"shopify": "INFO sync skipped: integration not configured for sync integration=shopify missing=accessToken",
		"meta":    "INFO sync skipped: integration not configured for sync integration=meta missing=pixelId",
		"gtm":     "INFO sync skipped: integration not configured for sync integration=gtm missing=containerId,apiToken",
	}
	for _, name := range []string{"shopify", "meta", "gtm"} {
		logs.recs = nil
		ev := events.EventBridgeEvent{DetailType: catalog.EventIntegrationConnected, Detail: json.RawMessage(`{"tenant":"t2","integration":"` + name + `"}`)}
		if err := s.Handle(ctx, ev); err != nil {
			t.Fatalf("%s connected: %v, want a clean skip", name, err)
		}
		if got := logs.lines(); len(got) != 1 || got[0] != want[name] {
			t.Fatalf("%s connected logged %q, want [%q]", name, got, want[name])
		}
	}
	if len(e.q.envs) != 0 {
		t.Fatalf("enqueued %d envelopes for a shop without an access token", len(e.q.envs))
	}
	// The schedule: t2 (incomplete) logs its three skips; t3 (registered,
	// nothing saved) stays quiet.
	if err := s.Register(ctx, "t3", "shopify"); err != nil {
		t.Fatal(err)
	}
	logs.recs = nil
	if err := s.Handle(ctx, events.EventBridgeEvent{DetailType: "Scheduled Event", Detail: json.RawMessage(`{}`)}); err != nil {
		t.Fatalf("scheduled run: %v", err)
	}
	if got := logs.lines(); len(got) != 3 || got[0] != want["shopify"] || got[1] != want["meta"] || got[2] != want["gtm"] {
		t.Fatalf("scheduled run logged %q", got)
	}
	// Callers can tell the skip from a failure.
	_, err := s.ReconcileShopify(ctx, "t2")
	var nc *NotConfiguredError
	if !errors.As(err, &nc) || apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("ReconcileShopify = %v, want a NotConfiguredError", err)
	}
}
