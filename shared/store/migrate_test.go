package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// counting returns a migration that counts its runs and takes d to run.
func counting(id int, name string, runs *atomic.Int32, d time.Duration) Migration {
	return Migration{ID: id, Name: name, Apply: func(ctx context.Context, t *Table, _ string, _ func(string) error) error {
		runs.Add(1)
		return retry.Sleep(ctx, d)
	}}
}

func record(t *testing.T, tb *Table, id int) MigrationRecord {
	t.Helper()
	var r MigrationRecord
	if err := tb.Get(testCtx(t), MigrationKey(id), &r); err != nil {
		t.Fatalf("migration record %d: %v", id, err)
	}
	return r
}

func TestMigrateProductionList(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	applied, err := Migrate(ctx, tb, Migrations(), testLog(t))
	if err != nil || !slices.Equal(applied, []int{1}) {
		t.Fatalf("Migrate = %v, %v", applied, err)
	}
	var v SchemaVersion
	if err := tb.Get(ctx, SchemaKey, &v); err != nil {
		t.Fatal(err)
	}
	if v.Version != 1 || v.CreatedAt == "" || v.UpdatedAt == "" {
		t.Fatalf("schema item %+v", v)
	}
	r := record(t, tb, 1)
	if r.Status != MigrationDone || r.Name != "baseline" || r.StartedAt == "" || r.DoneAt == "" || r.LeaseOwner != "" {
		t.Fatalf("record %+v", r)
	}
	applied, err = Migrate(ctx, tb, Migrations(), testLog(t))
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate = %v, %v", applied, err)
	}
}

func TestMigrateOnceInOrder(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	var order []int
	mk := func(id int) Migration {
		return Migration{ID: id, Name: "m" + strconv.Itoa(id), Apply: func(context.Context, *Table, string, func(string) error) error {
			order = append(order, id)
			return nil
		}}
	}
	ms := []Migration{mk(1), mk(2), mk(3)}
	applied, err := Migrate(ctx, tb, ms[:2], testLog(t))
	if err != nil || !slices.Equal(applied, []int{1, 2}) {
		t.Fatalf("first Migrate = %v, %v", applied, err)
	}
	applied, err = Migrate(ctx, tb, ms, testLog(t))
	if err != nil || !slices.Equal(applied, []int{3}) {
		t.Fatalf("second Migrate = %v, %v", applied, err)
	}
	if _, err := Migrate(ctx, tb, ms, testLog(t)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []int{1, 2, 3}) {
		t.Fatalf("ran %v, want each once in order", order)
	}
	var v SchemaVersion
	if err := tb.Get(ctx, SchemaKey, &v); err != nil || v.Version != 3 {
		t.Fatalf("schema version %d, %v", v.Version, err)
	}
}

// work is a migration that processes items 0..n-1, saving each as its
// checkpoint, failing once at item failAt.
type work struct {
	mu     sync.Mutex
	done   map[int]int // item → times processed
	failAt int
	starts []string // checkpoints Apply started from
}

func (w *work) apply(ctx context.Context, _ *Table, cp string, save func(string) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.starts = append(w.starts, cp)
	next := 0
	if cp != "" {
		n, err := strconv.Atoi(cp)
		if err != nil {
			return err
		}
		next = n + 1
	}
	for i := next; i < 10; i++ {
		if i == w.failAt {
			w.failAt = -1
			return apperr.E(apperr.Transient, "crash at item %d", i)
		}
		w.done[i]++
		if err := save(strconv.Itoa(i)); err != nil {
			return err
		}
	}
	return nil
}

func TestMigrateResumesFromCheckpoint(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	w := &work{done: map[int]int{}, failAt: 5}
	ms := []Migration{{ID: 1, Name: "backfill", Apply: w.apply}}

	applied, err := Migrate(ctx, tb, ms, testLog(t))
	if err == nil || !strings.Contains(err.Error(), "crash at item 5") || len(applied) != 0 {
		t.Fatalf("first Migrate = %v, %v; want the crash", applied, err)
	}
	r := record(t, tb, 1)
	if r.Status != MigrationRunning || r.Checkpoint != "4" || r.LeaseOwner != "" || !strings.Contains(r.LastError, "crash") {
		t.Fatalf("record after failure %+v", r)
	}
	applied, err = Migrate(ctx, tb, ms, testLog(t))
	if err != nil || !slices.Equal(applied, []int{1}) {
		t.Fatalf("second Migrate = %v, %v", applied, err)
	}
	if !slices.Equal(w.starts, []string{"", "4"}) {
		t.Fatalf("started from %q, want from scratch then from 4", w.starts)
	}
	for i := range 10 {
		if w.done[i] != 1 {
			t.Fatalf("item %d processed %d times", i, w.done[i])
		}
	}
	if r := record(t, tb, 1); r.Status != MigrationDone || r.LastError != "" || r.Checkpoint != "9" {
		t.Fatalf("record after resume %+v", r)
	}
}

func TestMigrateTakesOverExpiredLease(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	// A runner crashed mid-way: its lease expired a second ago.
	crashed := MigrationRecord{PK: migrationPK, SK: "0001", ID: 1, Name: "backfill", Status: MigrationRunning,
		StartedAt: "2025-01-01T00:00:00Z", Checkpoint: "6", LeaseOwner: "dead", LeaseUntil: time.Now().Add(-time.Second).UnixMilli()}
	if err := tb.Put(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	w := &work{done: map[int]int{}, failAt: -1}
	applied, err := Migrate(ctx, tb, []Migration{{ID: 1, Name: "backfill", Apply: w.apply}}, testLog(t))
	if err != nil || !slices.Equal(applied, []int{1}) {
		t.Fatalf("Migrate = %v, %v", applied, err)
	}
	if !slices.Equal(w.starts, []string{"6"}) || w.done[6] != 0 || w.done[7] != 1 {
		t.Fatalf("started from %q, processed %v", w.starts, w.done)
	}
	if r := record(t, tb, 1); r.StartedAt != "2025-01-01T00:00:00Z" || r.Status != MigrationDone {
		t.Fatalf("record %+v (startedAt must be kept)", r)
	}
}

func TestMigrateWaitsForLiveLease(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	live := MigrationRecord{PK: migrationPK, SK: "0001", ID: 1, Name: "m1", Status: MigrationRunning,
		LeaseOwner: "other", LeaseUntil: time.Now().Add(time.Hour).UnixMilli()}
	if err := tb.Put(ctx, live); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	short, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel()
	m := migrator{t: tb, log: testLog(t), now: time.Now, lease: time.Minute, poll: 50 * time.Millisecond}
	_, err := m.run(short, []Migration{counting(1, "m1", &runs, 0)})
	wantKind(t, err, apperr.Transient)
	if runs.Load() != 0 {
		t.Fatal("applied a migration another runner holds")
	}
}

func TestMigrateConcurrentRunners(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	var r1, r2 atomic.Int32
	ms := []Migration{counting(1, "slow", &r1, 400*time.Millisecond), counting(2, "fast", &r2, 0)}
	const runners = 4
	var wg sync.WaitGroup
	results := make([][]int, runners)
	errs := make([]error, runners)
	for i := range runners {
		wg.Go(func() {
			m := migrator{t: tb, log: testLog(t), now: time.Now, lease: time.Minute, poll: 20 * time.Millisecond}
			results[i], errs[i] = m.run(ctx, ms)
		})
	}
	wg.Wait()
	var all []int
	for i := range runners {
		if errs[i] != nil {
			t.Fatalf("runner %d: %v", i, errs[i])
		}
		all = append(all, results[i]...)
	}
	slices.Sort(all)
	if !slices.Equal(all, []int{1, 2}) {
		t.Fatalf("applied across runners %v, want each of 1, 2 exactly once", all)
	}
	if r1.Load() != 1 || r2.Load() != 1 {
		t.Fatalf("runs: %d, %d", r1.Load(), r2.Load())
	}
}

func TestMigrateHeartbeatAndLostLease(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	m := migrator{t: tb, log: testLog(t), now: time.Now, lease: 300 * time.Millisecond, poll: 20 * time.Millisecond}

	// A migration that outlives its lease several times without saving keeps
	// it: the heartbeat renews it.
	var runs atomic.Int32
	if _, err := m.run(ctx, []Migration{counting(1, "long", &runs, time.Second)}); err != nil {
		t.Fatalf("long migration: %v", err)
	}

	// Someone steals the lease (an operator, a runner with a skewed clock):
	// the runner notices, cancels Apply and reports it.
	steal := Migration{ID: 2, Name: "stolen", Apply: func(ctx context.Context, tb *Table, _ string, _ func(string) error) error {
		upd := expression.Set(expression.Name("leaseOwner"), expression.Value("thief"))
		if err := tb.Update(ctx, MigrationKey(2), upd, nil); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}}
	_, err := m.run(ctx, []Migration{counting(1, "long", &runs, 0), steal})
	if !errors.Is(err, errLeaseLost) {
		t.Fatalf("got %v, want lease lost", err)
	}
	if r := record(t, tb, 2); r.Status != MigrationRunning || r.LeaseOwner != "thief" {
		t.Fatalf("record %+v: the loser must not touch the thief's lease", r)
	}
}

func TestMigrateRefusesBadLists(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	var runs atomic.Int32
	ok := func(id int, name string) Migration { return counting(id, name, &runs, 0) }
	if _, err := Migrate(ctx, tb, []Migration{ok(1, "a"), ok(2, "b")}, testLog(t)); err != nil {
		t.Fatal(err)
	}
	runs.Store(0)
	for name, tc := range map[string]struct {
		ms   []Migration
		want string
	}{
		"gap":            {[]Migration{ok(1, "a"), ok(2, "b"), ok(4, "d")}, "has ID 4, want 3"},
		"reordered":      {[]Migration{ok(2, "b"), ok(1, "a")}, "has ID 2, want 1"},
		"renamed":        {[]Migration{ok(1, "a"), ok(2, "c")}, `"b" in the table but "c" in code`},
		"table is ahead": {[]Migration{ok(1, "a")}, "does not know"},
		"no apply":       {[]Migration{ok(1, "a"), ok(2, "b"), {ID: 3, Name: "x"}}, "needs a name and an Apply"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Migrate(ctx, tb, tc.ms, testLog(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if runs.Load() != 0 {
		t.Fatalf("%d migrations ran despite a bad list", runs.Load())
	}
}

func ExampleMigration() {
	_ = Migration{ID: 2, Name: "backfill-customer-shards", Apply: func(ctx context.Context, t *Table, cp string, save func(string) error) error {
		// Walk a partition page by page; the checkpoint is the page cursor.
		q := Query{Index: "GSI1", PK: "T#demo#CUSTOMERS#00", Cursor: cp}
		for {
			p, err := QueryPage[map[string]any](ctx, t, q)
			if err != nil {
				return err
			}
			// … rewrite p.Items …
			if p.Next == "" {
				return nil
			}
			if err := save(p.Next); err != nil {
				return err
			}
			q.Cursor = p.Next
		}
	}}
	fmt.Println("ok")
	// Output: ok
}
