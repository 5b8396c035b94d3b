package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/bus"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/idem"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// syncRecorder is a recorder safe for concurrent Process calls.
type syncRecorder struct {
	mu sync.Mutex
	recorder
}

func (r *syncRecorder) created() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.DetailType == catalog.EventOrderCreated {
			n++
		}
	}
	return n
}

// TestOrderRedeliveryExactlyOnce: an order's delivery is claimed in the
// order's own transaction. Concurrent and repeated redeliveries count it
// once and publish order.created once; a delivery whose holder died after
// the transaction (claim left open) is followed up by the redelivery —
// order.created published — without counting the order again.
func TestOrderRedeliveryExactlyOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var offset atomic.Int64 // the idempotency clock, moved past leases
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ids := idem.New(h.tbl, clock)
	rec := &syncRecorder{}
	p := ingest.NewProcessor(slog.New(slog.NewTextHandler(io.Discard, nil)), h.ps, ids, lockedPublisher{rec}, ingest.Compliance{}, nil)

	// Ten copies of one delivery at once, each retried like SQS would
	// while another copy holds it.
	msg := env("orders/create", "w1", order1, map[string]string{"x-shopify-event-id": "e1"})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for {
				err := p.Process(ctx, msg)
				if err == nil {
					return
				}
				if !apperr.Retryable(apperr.KindOf(err)) {
					t.Errorf("redelivery: %v", err)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	// The same event under another webhook id, and the delivery once more.
	for _, m := range [][]byte{env("orders/create", "w9", order1, map[string]string{"x-shopify-event-id": "e1"}), msg} {
		if err := p.Process(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	r, err := h.ps.Resolve(ctx, "t1", profile.Identity{Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, orders int, cents int64, created int) {
		t.Helper()
		pr, err := h.ps.Profile(ctx, "t1", r.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		if pr.OrdersCount != orders || pr.TotalSpentCents != cents || rec.created() != created {
			t.Fatalf("%s: %d orders, %d cents, order.created ×%d; want %d, %d, ×%d", when, pr.OrdersCount, pr.TotalSpentCents, rec.created(), orders, cents, created)
		}
	}
	check("after 12 deliveries of one order", 1, 4000, 1)

	// A holder that dies after its transaction: the order is in, its claim
	// open, order.created not yet published.
	const order2 = `{"id":1002,"email":"ann@example.com","created_at":"2025-02-02T10:00:00Z","updated_at":"2025-02-02T10:00:00Z","total_price":"25.00","currency":"EUR","customer":{"id":77}}`
	msg2 := env("orders/create", "w2", order2, nil)
	res, err := h.ps.ApplyOrder(ctx, "t1", r.CustomerID, profile.OrderState{OrderID: "1002", Currency: "EUR", TotalCents: 2500,
		PlacedAt: time.Date(2025, 2, 2, 10, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 2, 2, 10, 0, 0, 0, time.UTC),
		Once: &profile.Once{Claims: ids, Scope: "ingest", Key: "t1#" + ingest.DedupeKey(mustDecode(t, msg2)), TTL: time.Hour}})
	if err != nil || !res.Created || res.Hold == nil {
		t.Fatalf("held apply: %+v, %v", res, err)
	}
	check("after the held apply", 2, 6500, 1)
	// While its lease runs, a redelivery is told to come back later.
	if err := p.Process(ctx, msg2); apperr.KindOf(err) != apperr.Transient {
		t.Fatalf("redelivery during the lease: %v, want a transient error", err)
	}
	offset.Store(int64(time.Minute)) // the lease has run out
	for range 2 {
		if err := p.Process(ctx, msg2); err != nil {
			t.Fatal(err)
		}
	}
	check("after the dead holder's delivery came back twice", 2, 6500, 2)
}

type lockedPublisher struct{ r *syncRecorder }

func (l lockedPublisher) Publish(ctx context.Context, evs ...bus.Event) error {
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	return l.r.recorder.Publish(ctx, evs...)
}

func mustDecode(t *testing.T, b []byte) ingest.Envelope {
	t.Helper()
	e, err := ingest.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
