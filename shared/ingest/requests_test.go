package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/idem"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// counter counts DynamoDB requests by operation (the X-Amz-Target header).
// With loseTx set, the next TransactWriteItems is carried out but its
// response is lost, as on a dropped connection.
type counter struct {
	mu     sync.Mutex
	ops    map[string]int
	loseTx bool
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	c.mu.Lock()
	c.ops[op]++
	lose := c.loseTx && op == "TransactWriteItems"
	if lose {
		c.loseTx = false
	}
	c.mu.Unlock()
	res, err := http.DefaultTransport.RoundTrip(r)
	if lose && err == nil {
		res.Body.Close()
		return nil, errors.New("connection reset (test)")
	}
	return res, err
}

func (c *counter) take() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, names := 0, []string{}
	for op, k := range c.ops {
		n += k
		names = append(names, fmt.Sprintf("%s×%d", op, k))
	}
	sort.Strings(names)
	clear(c.ops)
	return n, strings.Join(names, " ")
}

// TestOrderRequests counts the DynamoDB requests ingest makes for an
// orders/create of a known customer (the steady state of the load run)
// and for its redelivery, so a change that adds requests per order shows.
func TestOrderRequests(t *testing.T) {
	ctx := context.Background()
	cnt := &counter{ops: map[string]int{}}
	db := dynamodb.NewFromConfig(testenv.AWSConfig(t), func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = true
		o.HTTPClient = &http.Client{Transport: cnt}
	})
	name := testenv.Name(t, "ingest-count")
	if err := store.Provision(ctx, db, catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	tbl := store.New(db, name, []byte("c"))
	c, err := pii.New(ctx, "file:"+t.TempDir(), tbl, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ps := profile.NewStore(tbl, c, time.Now)
	p := ingest.NewProcessor(slog.New(slog.NewTextHandler(io.Discard, nil)), ps, idem.New(tbl, time.Now), rec, ingest.Compliance{}, nil)
	order := func(id int) string {
		return fmt.Sprintf(`{"id":%d,"email":"cnt@example.com","created_at":"2025-02-01T10:00:%02dZ","updated_at":"2025-02-01T10:00:%02dZ","total_price":"10.00","currency":"EUR","customer":{"id":501,"email":"cnt@example.com"}}`, id, id, id)
	}
	// The first order creates the customer (and warms the cipher's keys).
	if err := p.Process(ctx, env("orders/create", "c1", order(1), nil)); err != nil {
		t.Fatal(err)
	}
	n, ops := cnt.take()
	t.Logf("first order of a new customer: %d requests (%s)", n, ops)
	for _, tc := range []struct {
		name string
		msg  []byte
		max  int // DynamoDB requests allowed
	}{
		{"order of a known customer", env("orders/create", "c2", order(2), nil), 3},
		{"the same delivery again", env("orders/create", "c2", order(2), nil), 1},
	} {
		if err := p.Process(ctx, tc.msg); err != nil {
			t.Fatal(err)
		}
		n, ops := cnt.take()
		t.Logf("%s: %d requests (%s)", tc.name, n, ops)
		if n > tc.max {
			t.Errorf("%s: %d DynamoDB requests, want at most %d (%s)", tc.name, n, tc.max, ops)
		}
	}

	// A transaction that commits but whose response is lost: the SDK
	// retries it with the same client request token, which DynamoDB
	// answers as committed; the order counts once and is followed up.
	cnt.mu.Lock()
	cnt.loseTx = true
	cnt.mu.Unlock()
	if err := p.Process(ctx, env("orders/create", "c3", order(3), nil)); err != nil {
		t.Fatalf("order whose transaction response was lost: %v", err)
	}
	n, ops = cnt.take()
	t.Logf("order with a lost transaction response: %d requests (%s)", n, ops)
	r, err := ps.Resolve(ctx, "t1", profile.Identity{Email: "cnt@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := ps.Profile(ctx, "t1", r.CustomerID)
	if err != nil || pr.OrdersCount != 3 || pr.TotalSpentCents != 3000 {
		t.Fatalf("after 3 orders: %d orders, %d cents (%v)", pr.OrdersCount, pr.TotalSpentCents, err)
	}
	created := 0
	for _, e := range rec.events {
		if e.DetailType == catalog.EventOrderCreated {
			created++
		}
	}
	if created != 3 {
		t.Fatalf("order.created published %d times for 3 orders", created)
	}

	// A queue batch (InBatch, as the function runs it): each order costs
	// its read and its transaction, and the batch's claims are completed
	// together in one write at the end.
	// (One order first: the order after the lost response resolves the
	// customer again, as any instance's first order of a customer does.)
	const batchOrders = 10
	if err := p.Process(ctx, env("orders/create", "c4", order(4), nil)); err != nil {
		t.Fatal(err)
	}
	cnt.take()
	b := &ingest.Batch{}
	bp := p.InBatch(b)
	for i := range batchOrders {
		if err := bp.Process(ctx, env("orders/create", fmt.Sprintf("b%d", i), order(10+i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	p.Complete(ctx, b)
	n, ops = cnt.take()
	t.Logf("a batch of %d orders: %d requests (%s)", batchOrders, n, ops)
	if want := 2*batchOrders + 1; n > want {
		t.Errorf("a batch of %d orders: %d DynamoDB requests, want at most %d (%s)", batchOrders, n, want, ops)
	}
	// Completed: every redelivery is recognised by its read alone and
	// nothing is published again.
	before := len(rec.events)
	for i := range batchOrders {
		if err := p.Process(ctx, env("orders/create", fmt.Sprintf("b%d", i), order(10+i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n, ops := cnt.take(); n != batchOrders {
		t.Errorf("redelivering the batch: %d requests, want %d reads (%s)", n, batchOrders, ops)
	}
	if len(rec.events) != before {
		t.Errorf("redelivering a completed batch published %d events", len(rec.events)-before)
	}
	if pr, err := ps.Profile(ctx, "t1", r.CustomerID); err != nil || pr.OrdersCount != 4+batchOrders {
		t.Fatalf("after the batch: %d orders (%v), want %d", pr.OrdersCount, err, 4+batchOrders)
	}
}
