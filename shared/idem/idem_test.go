package idem_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/idem"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

func newTable(t *testing.T) *store.Table {
	t.Helper()
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "idem")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.Provision(ctx, db, catalog.System().Table, name); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("DeleteTable %s: %v", name, err)
		}
	})
	return store.New(db, name, []byte("secret"))
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// clock is a test clock that runs with real time plus an offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func record(t *testing.T, tb *store.Table, scope, key string) (idem.Record, error) {
	var r idem.Record
	err := tb.Get(testCtx(t), idem.Key(scope, key), &r)
	return r, err
}

func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	s := idem.New(tb, time.Now)
	ctx := testCtx(t)
	var runs atomic.Int32
	fn := func(ctx context.Context) ([]byte, error) {
		n := runs.Add(1)
		time.Sleep(150 * time.Millisecond)
		return fmt.Appendf(nil, "sent by run %d", n), nil
	}
	const dups = 20
	var wg sync.WaitGroup
	results := make([]string, dups)
	replays := make([]bool, dups)
	errs := make([]error, dups)
	for i := range dups {
		wg.Go(func() {
			var res []byte
			res, replays[i], errs[i] = s.Do(ctx, "send", "camp1#cust1#email", time.Hour, fn)
			results[i] = string(res)
		})
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("fn ran %d times, want once", runs.Load())
	}
	fresh := 0
	for i := range dups {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if results[i] != "sent by run 1" {
			t.Fatalf("caller %d got %q", i, results[i])
		}
		if !replays[i] {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d callers report a fresh run, want 1", fresh)
	}
	// Later duplicates replay from the table.
	res, replayed, err := s.Do(ctx, "send", "camp1#cust1#email", time.Hour, fn)
	if err != nil || !replayed || string(res) != "sent by run 1" || runs.Load() != 1 {
		t.Fatalf("later duplicate: %q replayed=%v err=%v runs=%d", res, replayed, err, runs.Load())
	}
	// Another key is independent.
	if _, replayed, err := s.Do(ctx, "send", "camp1#cust2#email", time.Hour, fn); err != nil || replayed || runs.Load() != 2 {
		t.Fatalf("other key: replayed=%v err=%v runs=%d", replayed, err, runs.Load())
	}
}

func TestFailureLetsARetryRun(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	s := idem.New(tb, time.Now)
	ctx := testCtx(t)
	boom := apperr.E(apperr.Invalid, "template has an unknown variable")
	_, _, err := s.Do(ctx, "send", "k", time.Hour, func(context.Context) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) || apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("got %v, want the fn error with its kind", err)
	}
	if _, err := record(t, tb, "send", "k"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("record after failure: %v, want it deleted", err)
	}
	res, replayed, err := s.Do(ctx, "send", "k", time.Hour, func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	if err != nil || replayed || string(res) != "ok" {
		t.Fatalf("retry: %q %v %v", res, replayed, err)
	}
}

func TestWaitersTakeOverAfterFailure(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	s := idem.New(tb, time.Now)
	ctx := testCtx(t)
	var runs atomic.Int32
	fn := func(context.Context) ([]byte, error) {
		n := runs.Add(1)
		time.Sleep(100 * time.Millisecond)
		if n == 1 {
			return nil, apperr.E(apperr.Transient, "provider timeout")
		}
		return []byte("second try"), nil
	}
	var wg sync.WaitGroup
	var failed, ok atomic.Int32
	for range 6 {
		wg.Go(func() {
			res, _, err := s.Do(ctx, "send", "k", time.Hour, fn)
			switch {
			case err != nil && apperr.KindOf(err) == apperr.Transient:
				failed.Add(1)
			case err == nil && string(res) == "second try":
				ok.Add(1)
			default:
				t.Errorf("unexpected %q %v", res, err)
			}
		})
	}
	wg.Wait()
	if runs.Load() != 2 || failed.Load() != 1 || ok.Load() != 5 {
		t.Fatalf("runs=%d failed=%d ok=%d, want 2, 1, 5", runs.Load(), failed.Load(), ok.Load())
	}
}

func TestPanicReleasesTheClaim(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	s := idem.New(tb, time.Now)
	ctx := testCtx(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic was swallowed")
			}
		}()
		s.Do(ctx, "ingest", "evt1", time.Hour, func(context.Context) ([]byte, error) { panic("bug") })
	}()
	if _, err := record(t, tb, "ingest", "evt1"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("record after panic: %v", err)
	}
}

func TestLeaseTakeover(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	ctx := testCtx(t)
	c := &clock{}
	s := idem.New(tb, c.now, idem.WithLease(time.Minute), idem.WithPoll(5*time.Millisecond, 20*time.Millisecond))

	// A worker claims the key and crashes (its fn never returns).
	crashed := make(chan struct{})
	hung, cancelHung := context.WithCancel(ctx)
	go s.Do(hung, "send", "k", time.Hour, func(ctx context.Context) ([]byte, error) {
		close(crashed)
		<-ctx.Done()
		select {} // never returns: a dead worker
	})
	<-crashed
	cancelHung() // stops its heartbeat, as a dead process would

	// While its lease runs, a duplicate waits and gives up with a transient error.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, _, err := s.Do(short, "send", "k", time.Hour, func(context.Context) ([]byte, error) {
		t.Error("ran while another worker holds a live lease")
		return nil, nil
	})
	if apperr.KindOf(err) != apperr.Transient {
		t.Fatalf("duplicate during live lease: %v, want transient", err)
	}

	// After the lease expires, the next duplicate takes over.
	c.advance(2 * time.Minute)
	res, replayed, err := s.Do(ctx, "send", "k", time.Hour, func(context.Context) ([]byte, error) { return []byte("taken over"), nil })
	if err != nil || replayed || string(res) != "taken over" {
		t.Fatalf("takeover: %q %v %v", res, replayed, err)
	}
}

func TestHeartbeatKeepsALongRun(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	ctx := testCtx(t)
	s := idem.New(tb, time.Now, idem.WithLease(300*time.Millisecond), idem.WithPoll(10*time.Millisecond, 50*time.Millisecond))
	var runs atomic.Int32
	fn := func(context.Context) ([]byte, error) {
		runs.Add(1)
		time.Sleep(time.Second) // three leases long
		return []byte("done"), nil
	}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 200 * time.Millisecond)
			if res, _, err := s.Do(ctx, "sync", "shop1", time.Hour, fn); err != nil || string(res) != "done" {
				t.Errorf("caller %d: %q %v", i, res, err)
			}
		})
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("fn ran %d times; the lease was not renewed", runs.Load())
	}
}

func TestTTL(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	ctx := testCtx(t)
	c := &clock{}
	s := idem.New(tb, c.now)
	before := c.now()
	if _, _, err := s.Do(ctx, "webhook", "shopify#e1", 24*time.Hour, func(context.Context) ([]byte, error) { return []byte("r"), nil }); err != nil {
		t.Fatal(err)
	}
	r, err := record(t, tb, "webhook", "shopify#e1")
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := before.Add(24*time.Hour).Unix(), c.now().Add(24*time.Hour).Unix()
	if r.TTL < lo || r.TTL > hi || r.Status != idem.Completed || r.Owner != "" || r.LeaseUntil != 0 {
		t.Fatalf("record %+v: want COMPLETED with ttl in [%d, %d]", r, lo, hi)
	}
	// Expired but not yet removed by DynamoDB (which lags): treated as absent.
	c.advance(25 * time.Hour)
	res, replayed, err := s.Do(ctx, "webhook", "shopify#e1", 24*time.Hour, func(context.Context) ([]byte, error) { return []byte("again"), nil })
	if err != nil || replayed || string(res) != "again" {
		t.Fatalf("after expiry: %q %v %v", res, replayed, err)
	}
}

func TestSeen(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	ctx := testCtx(t)
	c := &clock{}
	s := idem.New(tb, c.now)
	for i, want := range []bool{true, false, false} {
		first, err := s.Seen(ctx, "shopify", "webhook-1", time.Hour)
		if err != nil || first != want {
			t.Fatalf("call %d: first=%v err=%v, want %v", i, first, err, want)
		}
	}
	if first, err := s.Seen(ctx, "shopify", "webhook-2", time.Hour); err != nil || !first {
		t.Fatalf("another key: %v %v", first, err)
	}
	r, err := record(t, tb, "shopify", "webhook-1")
	if err != nil || r.TTL < c.now().Add(59*time.Minute).Unix() {
		t.Fatalf("record %+v %v", r, err)
	}
	c.advance(2 * time.Hour)
	if first, err := s.Seen(ctx, "shopify", "webhook-1", time.Hour); err != nil || !first {
		t.Fatalf("after expiry: %v %v", first, err)
	}
}

func TestBadInput(t *testing.T) {
	s := idem.New(nil, time.Now) // never reaches the table
	ctx := context.Background()
	fn := func(context.Context) ([]byte, error) { t.Fatal("fn ran"); return nil, nil }
	for name, tc := range map[string]struct {
		scope, key string
		ttl        time.Duration
	}{
		"no scope":   {"", "k", time.Hour},
		"no key":     {"s", "", time.Hour},
		"zero ttl":   {"s", "k", 0},
		"long scope": {strings.Repeat("s", 101), "k", time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := s.Do(ctx, tc.scope, tc.key, tc.ttl, fn); apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("Do: %v", err)
			}
			if _, err := s.Seen(ctx, tc.scope, tc.key, tc.ttl); apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("Seen: %v", err)
			}
		})
	}
}

func TestLongKeysAreHashed(t *testing.T) {
	k := idem.Key("s", strings.Repeat("x", 5000))
	if len(k.PK) > 1100 || !strings.HasPrefix(k.PK, "IDEM#s#sha256:") {
		t.Fatalf("PK %q", k.PK)
	}
	if k2 := idem.Key("s", "abc"); k2.PK != "IDEM#s#abc" || k2.SK != "IDEM" {
		t.Fatalf("key %+v", k2)
	}
}

// TestCompleteAll: held claims (written, as their holders would, with
// their effect) are completed together, including more than one batch
// write's worth, and read back as Done with their results kept.
func TestCompleteAll(t *testing.T) {
	t.Parallel()
	tb := newTable(t)
	ctx := testCtx(t)
	s := idem.New(tb, time.Now)
	if err := s.CompleteAll(ctx, nil, time.Hour); err != nil {
		t.Fatalf("no claims: %v", err)
	}
	var holds []idem.Hold
	for i := range 30 {
		h, err := s.Hold("ingest", fmt.Sprintf("k%d", i), time.Minute, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.Put(ctx, h.Record, h.Free); err != nil {
			t.Fatal(err)
		}
		if got := s.State(h.Record); got != idem.Busy {
			t.Fatalf("a fresh hold reads as %v, want Busy", got)
		}
		holds = append(holds, h)
	}
	done := time.Now()
	if err := s.CompleteAll(ctx, holds, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		r, err := record(t, tb, "ingest", fmt.Sprintf("k%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if s.State(r) != idem.Done || string(r.Result) != fmt.Sprint(i) || r.Owner != "" {
			t.Errorf("claim %d after CompleteAll: state %v, result %q, owner %q", i, s.State(r), r.Result, r.Owner)
		}
		// Kept for the completion's ttl, not the hold's (a minute).
		if want := done.Add(2 * time.Hour).Unix(); r.TTL < want-60 || r.TTL > want+60 {
			t.Errorf("claim %d expires at %d, want about %d", i, r.TTL, want)
		}
	}
}
