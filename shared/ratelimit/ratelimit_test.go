package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.UnixMilli(c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(d.Milliseconds()) }

func newLimiter(t *testing.T) (*ratelimit.Limiter, *clock) {
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "rl")
	if err := store.Provision(context.Background(), db, catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	c.t.Store(1_700_000_000_000)
	return ratelimit.New(store.New(db, name, nil), c.now), c
}

func TestTokenBucket(t *testing.T) {
	ctx := context.Background()
	l, c := newLimiter(t)
	rule := ratelimit.Rule{Rate: 1, Burst: 3}
	for i := range 3 {
		if wait, err := l.Take(ctx, "s", "k", rule); err != nil || wait != 0 {
			t.Fatalf("take %d: wait %v err %v", i, wait, err)
		}
	}
	wait, err := l.Take(ctx, "s", "k", rule)
	if err != nil || wait <= 0 || wait > time.Second {
		t.Fatalf("4th take: wait %v err %v, want (0,1s]", wait, err)
	}
	if w, _ := l.Take(ctx, "s", "other", rule); w != 0 {
		t.Fatal("buckets are not independent")
	}
	c.advance(time.Second)
	if w, _ := l.Take(ctx, "s", "k", rule); w != 0 {
		t.Fatal("no refill after 1s")
	}
	if w, _ := l.Take(ctx, "s", "k", rule); w == 0 {
		t.Fatal("refilled more than one token in 1s")
	}
	c.advance(time.Hour)
	for i := range 3 {
		if w, _ := l.Take(ctx, "s", "k", rule); w != 0 {
			t.Fatalf("after idle, take %d limited", i)
		}
	}
}

func TestHighRates(t *testing.T) {
	l, _ := newLimiter(t)
	for i := range 50 {
		if w, err := l.Take(context.Background(), "s", "fast", ratelimit.Rule{Rate: 1e6, Burst: 1e6}); w != 0 || err != nil {
			t.Fatalf("take %d at a million per second: %v %v", i, w, err)
		}
	}
}

func TestConcurrentTakesNeverExceedBurst(t *testing.T) {
	l, _ := newLimiter(t)
	var granted atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := l.Take(context.Background(), "s", "hot", ratelimit.Rule{Rate: 0.001, Burst: 5})
			if err == nil && w == 0 {
				granted.Add(1)
			}
		}()
	}
	wg.Wait()
	if g := granted.Load(); g != 5 {
		t.Fatalf("granted %d of burst 5", g)
	}
}
