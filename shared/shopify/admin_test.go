package shopify_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

// fakeClock is shared by the sandbox's bucket and the client's pacing, so
// throttling is tested without real waiting.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.t = c.t.Add(d)
		c.slept += d
	}
	return nil
}

const token = "shpat_test"

func newShop(t *testing.T, clock *fakeClock, orders, customers int) (*sandbox.ShopifyAdmin, string) {
	t.Helper()
	sb := sandbox.NewShopifyAdmin(clock.Now)
	sb.AddShop("test.myshopify.com", token)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var cs []shopify.Customer
	var os []shopify.Order
	for i := 1; i <= customers; i++ {
		at := base.Add(time.Duration(i) * time.Hour)
		cs = append(cs, shopify.Customer{ID: int64(1000 + i), Email: fmt.Sprintf("c%d@example.com", i), FirstName: "C", LastName: strconv.Itoa(i),
			CreatedAt: &at, UpdatedAt: &at, OrdersCount: 1, TotalSpent: "10.00", State: "enabled",
			EmailMarketingConsent: &shopify.MarketingConsent{State: "subscribed", OptInLevel: "single_opt_in", ConsentUpdatedAt: &at}})
	}
	for i := 1; i <= orders; i++ {
		at := base.Add(time.Duration(i) * time.Minute)
		os = append(os, shopify.Order{ID: int64(5000 + i), Name: "#" + strconv.Itoa(1000+i), Email: "c1@example.com", CreatedAt: at, UpdatedAt: at,
			Currency: "USD", TotalPrice: "29.98", SubtotalPrice: "29.98", TotalTax: "0.00", TotalDiscounts: "0.00", FinancialStatus: "paid",
			Customer:  &shopify.Customer{ID: 1001, Email: "c1@example.com"},
			LineItems: []shopify.LineItem{{ID: int64(9000 + i), ProductID: 7, VariantID: 8, Title: "Kind of Blue", SKU: "CD-7", Quantity: 2, Price: "14.99"}}})
	}
	if err := sb.Put(token, cs, os); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler(sandbox.Env{}))
	t.Cleanup(srv.Close)
	return sb, shopify.Endpoint(srv.URL, "test.myshopify.com", "")
}

func newClient(endpoint string, clock *fakeClock) *shopify.Client {
	c := shopify.NewClient(nil, endpoint, token)
	c.Sleep, c.Now = clock.Sleep, clock.Now
	return c
}

func TestOrdersPaginateInUpdateOrder(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	_, ep := newShop(t, clock, 25, 0)
	c := newClient(ep, clock)
	var ids []int64
	after := ""
	pages := 0
	for {
		p, err := c.Orders(context.Background(), time.Time{}, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range p.Orders {
			ids = append(ids, o.ID)
		}
		if !p.PageInfo.HasNextPage {
			break
		}
		after = p.PageInfo.EndCursor
	}
	if pages != 3 || len(ids) != 25 {
		t.Fatalf("got %d orders in %d pages, want 25 in 3", len(ids), pages)
	}
	for i, id := range ids {
		if id != int64(5001+i) {
			t.Fatalf("order %d is %d, want %d (oldest update first)", i, id, 5001+i)
		}
	}
	// Every REST field the normaliser reads survives the GraphQL round trip.
	p, err := c.Orders(context.Background(), time.Date(2025, 1, 1, 0, 25, 0, 0, time.UTC), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Orders) != 1 {
		t.Fatalf("updated-since filter returned %d orders, want 1", len(p.Orders))
	}
	o := p.Orders[0]
	if o.ID != 5025 || o.Name != "#1025" || o.OrderNumber != 1025 || o.TotalPrice != "29.98" || o.Currency != "USD" ||
		o.FinancialStatus != "paid" || o.FulfillmentStatus != nil || o.Customer == nil || o.Customer.ID != 1001 ||
		len(o.LineItems) != 1 || o.LineItems[0].Price != "14.99" || o.LineItems[0].Quantity != 2 || o.LineItems[0].ProductID != 7 ||
		o.AdminGraphQLAPIID != "gid://shopify/Order/5025" {
		t.Fatalf("converted order = %+v", o)
	}
}

func TestCustomersConvertToRESTShape(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	_, ep := newShop(t, clock, 0, 3)
	p, err := newClient(ep, clock).Customers(context.Background(), time.Time{}, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Customers) != 3 || p.PageInfo.HasNextPage {
		t.Fatalf("got %d customers (next %v), want 3", len(p.Customers), p.PageInfo.HasNextPage)
	}
	c := p.Customers[0]
	if c.ID != 1001 || c.Email != "c1@example.com" || c.OrdersCount != 1 || c.TotalSpent != "10.00" || c.State != "enabled" ||
		c.EmailMarketingConsent == nil || c.EmailMarketingConsent.State != "subscribed" || c.EmailMarketingConsent.OptInLevel != "single_opt_in" {
		t.Fatalf("converted customer = %+v", c)
	}
}

// The client paces itself from throttleStatus: with a bucket too small for
// back-to-back pages it waits (on the fake clock) instead of failing, and the
// wait matches the restore rate.
func TestThrottlingBacksOffFromThrottleStatus(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	sb, ep := newShop(t, clock, 40, 0)
	c := newClient(ep, clock)
	// One page of 10 orders costs requestedQueryCost points; let the bucket
	// hold 1.5 pages and restore 10 points a second.
	p, err := c.Orders(context.Background(), time.Time{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	cost := sb.MaxAvailable - c.Bucket().CurrentlyAvailable
	if cost <= 0 {
		t.Fatalf("no cost reported (bucket %+v)", c.Bucket())
	}
	sb.MaxAvailable, sb.RestoreRate = cost*1.5, 10
	after := p.PageInfo.EndCursor
	n := len(p.Orders)
	for p.PageInfo.HasNextPage {
		p, err = c.Orders(context.Background(), time.Time{}, after, 10)
		if err != nil {
			t.Fatalf("after %d orders: %v", n, err)
		}
		n += len(p.Orders)
		after = p.PageInfo.EndCursor
	}
	if n != 40 {
		t.Fatalf("read %d orders, want 40", n)
	}
	// Three more pages at `cost` each, restored at 10/s: at least
	// (3*cost - what the bucket held) / 10 seconds of waiting.
	if min := time.Duration((3*cost - sb.MaxAvailable) / 10 * float64(time.Second)); clock.slept < min {
		t.Fatalf("slept %s, want at least %s", clock.slept, min)
	}
}

// A client that has no estimate yet is throttled once, then waits for the
// bucket as the throttleStatus in the THROTTLED answer says, and succeeds.
func TestThrottledResponseIsRetried(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	sb, ep := newShop(t, clock, 5, 0)
	// Drain the bucket with another client (no refill on the fake clock).
	other := newClient(ep, clock)
	for range 3 {
		if _, err := other.Orders(context.Background(), time.Time{}, "", 10); err != nil {
			t.Fatal(err)
		}
	}
	left := other.Bucket().CurrentlyAvailable
	cost := (sb.MaxAvailable - left) / 3
	if left >= cost {
		t.Fatalf("bucket not drained: %v left, page costs %v", left, cost)
	}
	sb.RestoreRate = 1
	p, err := newClient(ep, clock).Orders(context.Background(), time.Time{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Duration((cost - left) * float64(time.Second))
	if len(p.Orders) != 5 || clock.slept < want {
		t.Fatalf("got %d orders after sleeping %s; want 5 after at least %s", len(p.Orders), clock.slept, want)
	}
}

func TestBadTokenIsUnauthorized(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	_, ep := newShop(t, clock, 1, 0)
	c := shopify.NewClient(nil, ep, "wrong")
	if _, err := c.Orders(context.Background(), time.Time{}, "", 10); err == nil {
		t.Fatal("wrong token accepted")
	}
}

// A saved cursor resumes a read in a new client (a new invocation).
func TestCursorResumes(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	_, ep := newShop(t, clock, 15, 0)
	p1, err := newClient(ep, clock).Orders(context.Background(), time.Time{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := newClient(ep, clock).Orders(context.Background(), time.Time{}, p1.PageInfo.EndCursor, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Orders) != 5 || p2.Orders[0].ID != 5011 || p2.PageInfo.HasNextPage {
		t.Fatalf("resumed page has %d orders starting at %d", len(p2.Orders), p2.Orders[0].ID)
	}
}
