package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.UnixMicro(c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(d.Microseconds()) }

func newClock() *clock {
	c := &clock{}
	c.t.Store(1_700_000_000_000_000)
	return c
}

// countingDB counts the writes that reach DynamoDB.
type countingDB struct {
	store.DynamoDB
	writes atomic.Int32
}

func (d *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	d.writes.Add(1)
	return d.DynamoDB.UpdateItem(ctx, in, o...)
}

// newTable provisions a fresh table; instances made with newInstance on it
// share its buckets like Lambda instances share the real table.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "rl")
	if err := store.Provision(context.Background(), db, catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	return db, name
}

func newInstance(db *dynamodb.Client, name string, c *clock) (*ratelimit.Limiter, *countingDB) {
	cdb := &countingDB{DynamoDB: db}
	return ratelimit.New(store.New(cdb, name, nil), c.now), cdb
}

func newLimiter(t *testing.T) (*ratelimit.Limiter, *clock) {
	db, name := newTable(t)
	c := newClock()
	l, _ := newInstance(db, name, c)
	return l, c
}

func TestMaxLease(t *testing.T) {
	for _, tc := range []struct {
		r    ratelimit.Rule
		want int
	}{
		{ratelimit.Rule{Rate: 1.0 / 60, Burst: 5}, 1}, // login throttling stays exact
		{ratelimit.Rule{Rate: 1, Burst: 60}, 1},
		{ratelimit.Rule{Rate: 20, Burst: 40}, 2},
		{ratelimit.Rule{Rate: 100, Burst: 200}, 10},
		{ratelimit.Rule{Rate: 1000, Burst: 50}, 25}, // half the burst
		{ratelimit.Rule{Rate: 1000, Burst: 1}, 1},
	} {
		if got := tc.r.MaxLease(); got != tc.want {
			t.Errorf("%+v.MaxLease() = %d, want %d", tc.r, got, tc.want)
		}
	}
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

// TestLeases: takes at one instant on one instance — how many are granted
// and how many writes reach DynamoDB. Leases start at 1 token and double
// (up to MaxLease) while they are used up; refusals after the bucket is
// empty cost no write.
func TestLeases(t *testing.T) {
	db, name := newTable(t)
	for _, tc := range []struct {
		name        string
		rule        ratelimit.Rule
		takes       int
		granted     int
		writes      int32
		firstRefuse time.Duration // wait of the first refused take
	}{
		// Leases 1+2+4+8 then 10 at a time: 100 tokens in 13 writes.
		{"api tenant rule", ratelimit.Rule{Rate: 100, Burst: 200}, 100, 100, 13, 0},
		// Leases of one: each take is one write, as without leasing.
		{"login rule", ratelimit.Rule{Rate: 1.0 / 60, Burst: 5}, 8, 5, 6, 60 * time.Second},
		// 1+2+4+8+16 = 31, then 25 asked with 19 left: refused, retried
		// with 19 (2 writes); then the empty bucket (1 write); the other 9
		// refusals are local.
		{"burst smaller than demand", ratelimit.Rule{Rate: 1000, Burst: 50}, 60, 50, 8, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l, cdb := newInstance(db, name, c)
			granted, refused := 0, time.Duration(0)
			for range tc.takes {
				w, err := l.Take(context.Background(), "s", tc.name, tc.rule)
				if err != nil {
					t.Fatal(err)
				}
				if w == 0 {
					granted++
				} else if refused == 0 {
					refused = w
				}
			}
			if granted != tc.granted || cdb.writes.Load() != tc.writes {
				t.Fatalf("granted %d with %d writes, want %d with %d", granted, cdb.writes.Load(), tc.granted, tc.writes)
			}
			if refused != tc.firstRefuse {
				t.Fatalf("first refusal waits %v, want %v", refused, tc.firstRefuse)
			}
		})
	}
}

// TestLeaseLifetime: leased tokens not spent within LeaseLifetime are
// dropped, never spent late, while another instance sees only what is left
// in the shared bucket.
func TestLeaseLifetime(t *testing.T) {
	db, name := newTable(t)
	c := newClock()
	l, cdb := newInstance(db, name, c)
	other, _ := newInstance(db, name, c)
	rule := ratelimit.Rule{Rate: 100, Burst: 8} // MaxLease 4
	ctx := context.Background()
	take := func(l *ratelimit.Limiter) bool {
		w, err := l.Take(ctx, "s", "k", rule)
		if err != nil {
			t.Fatal(err)
		}
		return w == 0
	}
	// Leases of 1, 2 and 4: 7 tokens in 3 writes; 5 takes leave 2 here.
	for i := range 5 {
		if !take(l) {
			t.Fatalf("take %d refused", i)
		}
	}
	if n := cdb.writes.Load(); n != 3 {
		t.Fatalf("%d writes for 5 takes, want 3", n)
	}
	// The other instance gets the one token the bucket still holds (8 - 7).
	if !take(other) {
		t.Fatal("other instance refused the last token")
	}
	if take(other) {
		t.Fatal("other instance granted beyond the bucket")
	}
	// Within the lifetime a leased token is spent without a write.
	if !take(l) || cdb.writes.Load() != 3 {
		t.Fatalf("leased token: %d writes, want 3", cdb.writes.Load())
	}
	c.advance(ratelimit.LeaseLifetime + time.Millisecond)
	// The last leased token expired: the next take leases again.
	if !take(l) || cdb.writes.Load() != 4 {
		t.Fatalf("after the lease lifetime: %d writes, want 4 (a new lease)", cdb.writes.Load())
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

func TestBadRule(t *testing.T) {
	l, _ := newLimiter(t)
	for _, r := range []ratelimit.Rule{{}, {Rate: 1}, {Burst: 1}, {Rate: -1, Burst: 1}} {
		if _, err := l.Take(context.Background(), "s", "k", r); err == nil {
			t.Errorf("rule %+v accepted", r)
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

// TestInstancesShareGlobalLimit: two instances (Limiters) on one DynamoDB
// bucket, each hammered by concurrent callers while the clock moves in
// steps. Together they never grant more than the bucket allows — Burst
// plus Rate × elapsed — and, as every leased token gets spent, not
// noticeably less.
func TestInstancesShareGlobalLimit(t *testing.T) {
	db, name := newTable(t)
	c := newClock()
	a, wa := newInstance(db, name, c)
	b, wb := newInstance(db, name, c)
	rule := ratelimit.Rule{Rate: 200, Burst: 100} // MaxLease 20
	const steps, callers, perCaller = 10, 8, 10
	step := 50 * time.Millisecond
	var granted [2]atomic.Int32
	for s := range steps {
		if s > 0 {
			c.advance(step)
		}
		var wg sync.WaitGroup
		for i, l := range []*ratelimit.Limiter{a, b} {
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range perCaller {
						w, err := l.Take(context.Background(), "tenant", "shared", rule)
						if err != nil {
							t.Error(err)
							return
						}
						if w == 0 {
							granted[i].Add(1)
						}
					}
				}()
			}
		}
		wg.Wait()
	}
	elapsed := time.Duration(steps-1) * step
	allowed := rule.Burst + int(rule.Rate*elapsed.Seconds())
	total := int(granted[0].Load() + granted[1].Load())
	if total > allowed {
		t.Fatalf("granted %d (%d + %d), above the global allowance %d", total, granted[0].Load(), granted[1].Load(), allowed)
	}
	if slack := 2 * rule.MaxLease(); total < allowed-slack {
		t.Fatalf("granted %d, far below the allowance %d", total, allowed)
	}
	if granted[0].Load() == 0 || granted[1].Load() == 0 {
		t.Fatalf("one instance got nothing: %d / %d", granted[0].Load(), granted[1].Load())
	}
	demand := 2 * steps * callers * perCaller
	t.Logf("%d takes, %d granted (allowance %d), %d writes", demand, total, allowed, wa.writes.Load()+wb.writes.Load())
	if w := int(wa.writes.Load() + wb.writes.Load()); w*4 > demand {
		t.Fatalf("%d writes for %d takes: leasing is not saving writes", w, demand)
	}
}

func ExampleRule_MaxLease() {
	fmt.Println(ratelimit.Rule{Rate: 100, Burst: 200}.MaxLease())
	// Output: 10
}
