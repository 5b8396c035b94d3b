package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// item is a test item using the table's real key and index attributes.
type item struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	GSI1PK  string `dynamodbav:"GSI1PK,omitempty"`
	GSI1SK  string `dynamodbav:"GSI1SK,omitempty"`
	Name    string `dynamodbav:"name"`
	Version int    `dynamodbav:"version"`
	TTL     int64  `dynamodbav:"ttl,omitempty"`
}

// newTable provisions a fresh table from the catalog and deletes it after the test.
func newTable(t *testing.T) (*Table, *dynamodb.Client) {
	t.Helper()
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "store")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Provision(ctx, db, catalog.System().Table, name); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("DeleteTable %s: %v", name, err)
		}
	})
	return New(db, name, []byte("test-cursor-secret")), db
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func wantKind(t *testing.T, err error, want apperr.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	if got := apperr.KindOf(err); got != want {
		t.Fatalf("got kind %s (%v), want %s", got, err, want)
	}
}

func TestGetPutUpdateDelete(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	key := Key{PK: "T#t1#CUST#c1", SK: "PROFILE"}

	wantKind(t, tb.Get(ctx, key, &item{}), apperr.NotFound)
	if err := tb.Put(ctx, item{PK: key.PK, SK: key.SK, Name: "Ada", Version: 1}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	var got item
	if err := tb.Get(ctx, key, &got); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Name != "Ada" || got.Version != 1 {
		t.Fatalf("Get = %+v", got)
	}
	var after item
	upd := expression.Set(expression.Name("name"), expression.Value("Grace")).Add(expression.Name("version"), expression.Value(1))
	if err := tb.Update(ctx, key, upd, &after); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if after.Name != "Grace" || after.Version != 2 {
		t.Fatalf("Update returned %+v", after)
	}
	if err := tb.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantKind(t, tb.Get(ctx, key, &item{}), apperr.NotFound)
	if err := tb.Delete(ctx, key); err != nil {
		t.Fatalf("Delete of a missing item: %v", err)
	}
}

func TestConditionalWrites(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	key := Key{PK: "SLUG#demo", SK: "SLUG"}
	it := item{PK: key.PK, SK: key.SK, Name: "first", Version: 1}

	// IfExists on a missing item.
	wantKind(t, tb.Put(ctx, it, IfExists()), apperr.Conflict)
	wantKind(t, tb.Update(ctx, key, expression.Set(expression.Name("name"), expression.Value("x")), nil, IfExists()), apperr.Conflict)
	wantKind(t, tb.Delete(ctx, key, IfExists()), apperr.Conflict)
	wantKind(t, tb.Get(ctx, key, &item{}), apperr.NotFound) // the Update did not create it

	// IfAbsent: the first put wins, the second is a conflict and changes nothing.
	if err := tb.Put(ctx, it, IfAbsent()); err != nil {
		t.Fatalf("first IfAbsent put: %v", err)
	}
	wantKind(t, tb.Put(ctx, item{PK: key.PK, SK: key.SK, Name: "second"}, IfAbsent()), apperr.Conflict)

	// A custom optimistic-concurrency condition.
	isVersion := func(v int) Cond { return If(expression.Name("version").Equal(expression.Value(v))) }
	upd := expression.Set(expression.Name("name"), expression.Value("third")).Set(expression.Name("version"), expression.Value(2))
	wantKind(t, tb.Update(ctx, key, upd, nil, isVersion(7)), apperr.Conflict)
	if err := tb.Update(ctx, key, upd, nil, IfExists(), isVersion(1)); err != nil {
		t.Fatalf("Update with matching version: %v", err)
	}
	var got item
	if err := tb.Get(ctx, key, &got); err != nil || got.Name != "third" || got.Version != 2 {
		t.Fatalf("after conditional writes: %+v, %v", got, err)
	}
	wantKind(t, tb.Delete(ctx, key, isVersion(1)), apperr.Conflict)
	if err := tb.Delete(ctx, key, isVersion(2)); err != nil {
		t.Fatalf("Delete with matching version: %v", err)
	}
}

func TestTransact(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	existing := item{PK: "SLUG#taken", SK: "SLUG", Name: "taken"}
	if err := tb.Put(ctx, existing); err != nil {
		t.Fatal(err)
	}

	// One failing condition: nothing is written.
	err := tb.Transact(ctx,
		tb.TxPut(item{PK: "TENANT#t2", SK: "TENANT", Name: "new"}, IfAbsent()),
		tb.TxPut(item{PK: "T#t2", SK: "USER#u1", Name: "owner"}),
		tb.TxPut(item{PK: "SLUG#taken", SK: "SLUG", Name: "stolen"}, IfAbsent()),
	)
	wantKind(t, err, apperr.Conflict)
	wantKind(t, tb.Get(ctx, Key{"TENANT#t2", "TENANT"}, &item{}), apperr.NotFound)
	wantKind(t, tb.Get(ctx, Key{"T#t2", "USER#u1"}, &item{}), apperr.NotFound)
	var slug item
	if err := tb.Get(ctx, Key{"SLUG#taken", "SLUG"}, &slug); err != nil || slug.Name != "taken" {
		t.Fatalf("slug after failed transaction: %+v, %v", slug, err)
	}

	// A check, update, delete and put that all hold: everything is written.
	err = tb.Transact(ctx,
		tb.TxCheck(Key{"TENANT#t3", "TENANT"}, If(expression.AttributeNotExists(expression.Name("PK")))),
		tb.TxUpdate(Key{"SLUG#taken", "SLUG"}, expression.Set(expression.Name("version"), expression.Value(5))),
		tb.TxPut(item{PK: "TENANT#t4", SK: "TENANT", Name: "t4"}, IfAbsent()),
		tb.TxDelete(Key{"T#none", "NONE"}),
	)
	if err != nil {
		t.Fatalf("Transact: %v", err)
	}
	if err := tb.Get(ctx, Key{"SLUG#taken", "SLUG"}, &slug); err != nil || slug.Version != 5 {
		t.Fatalf("slug after transaction: %+v, %v", slug, err)
	}
	if err := tb.Get(ctx, Key{"TENANT#t4", "TENANT"}, &item{}); err != nil {
		t.Fatalf("tenant after transaction: %v", err)
	}

	// Over DynamoDB's 100-item limit: refused before any call.
	ops := make([]TxOp, 101)
	for i := range ops {
		ops[i] = tb.TxPut(item{PK: "T#big", SK: fmt.Sprintf("I#%03d", i)})
	}
	wantKind(t, tb.Transact(ctx, ops...), apperr.Invalid)
	if got, err := QueryAll[item](ctx, tb, Query{PK: "T#big", Consistent: true}, 0); err != nil || len(got) != 0 {
		t.Fatalf("after refused transaction: %d items, %v", len(got), err)
	}
}

// seed writes n items in partition pk, also indexed on GSI1 under pk+"#IDX".
func seed(t *testing.T, tb *Table, pk string, n int) {
	t.Helper()
	items := make([]any, n)
	for i := range items {
		items[i] = item{PK: pk, SK: fmt.Sprintf("C#%03d", i), GSI1PK: pk + "#IDX", GSI1SK: fmt.Sprintf("%03d", i), Name: fmt.Sprint(i)}
	}
	if err := tb.BatchPut(testCtx(t), items); err != nil {
		t.Fatalf("BatchPut: %v", err)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	seed(t, tb, "T#t1#SEG#s1#00", 23)
	seed(t, tb, "T#t2#SEG#s1#00", 5)

	for _, q := range []Query{
		{PK: "T#t1#SEG#s1#00", Limit: 5, Consistent: true},
		{Index: "GSI1", PK: "T#t1#SEG#s1#00#IDX", Limit: 5},
	} {
		t.Run(q.Index+"page", func(t *testing.T) {
			var names []string
			pages := 0
			for {
				p, err := QueryPage[item](ctx, tb, q)
				if err != nil {
					t.Fatalf("QueryPage after %d pages: %v", pages, err)
				}
				pages++
				for _, it := range p.Items {
					names = append(names, it.Name)
				}
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
			}
			// 23 items, 5 a page: 5 pages (DynamoDB may add an empty last page).
			if pages < 5 || pages > 6 || len(names) != 23 {
				t.Fatalf("%d pages, %d items", pages, len(names))
			}
			for i, n := range names {
				if n != fmt.Sprint(i) {
					t.Fatalf("item %d is %q: order broken or duplicates", i, n)
				}
			}
			q.Cursor = ""
			all, err := QueryAll[item](ctx, tb, q, 0)
			if err != nil || len(all) != 23 {
				t.Fatalf("QueryAll: %d items, %v", len(all), err)
			}
			some, err := QueryAll[item](ctx, tb, q, 12)
			if err != nil || len(some) != 12 || some[11].Name != "11" {
				t.Fatalf("QueryAll max 12: %d items, %v", len(some), err)
			}
		})
	}

	t.Run("range and order", func(t *testing.T) {
		got, err := QueryAll[item](ctx, tb, Query{PK: "T#t1#SEG#s1#00", SKFrom: "C#005", SKTo: "C#009", Desc: true, Limit: 2}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, it := range got {
			names = append(names, it.Name)
		}
		if want := []string{"9", "8", "7", "6", "5"}; !slices.Equal(names, want) {
			t.Fatalf("got %v, want %v", names, want)
		}
	})

	first, err := QueryPage[item](ctx, tb, Query{PK: "T#t1#SEG#s1#00", Limit: 5})
	if err != nil || first.Next == "" {
		t.Fatalf("first page: next=%q, %v", first.Next, err)
	}
	bad := map[string]Query{
		"another tenant":   {PK: "T#t2#SEG#s1#00", Limit: 5, Cursor: first.Next},
		"another index":    {Index: "GSI1", PK: "T#t1#SEG#s1#00", Limit: 5, Cursor: first.Next},
		"another range":    {PK: "T#t1#SEG#s1#00", SKPrefix: "C#", Limit: 5, Cursor: first.Next},
		"flipped byte":     {PK: "T#t1#SEG#s1#00", Limit: 5, Cursor: flip(first.Next, 3)},
		"flipped mac byte": {PK: "T#t1#SEG#s1#00", Limit: 5, Cursor: flip(first.Next, len(first.Next)-2)},
		"no separator":     {PK: "T#t1#SEG#s1#00", Limit: 5, Cursor: strings.ReplaceAll(first.Next, ".", "")},
		"garbage":          {PK: "T#t1#SEG#s1#00", Limit: 5, Cursor: "not a cursor"},
	}
	for name, q := range bad {
		t.Run("cursor "+name, func(t *testing.T) {
			_, err := QueryPage[item](ctx, tb, q)
			wantKind(t, err, apperr.Invalid)
		})
	}
	other := New(tb.Client(), tb.Name(), []byte("another secret"))
	_, err = QueryPage[item](ctx, other, Query{PK: "T#t1#SEG#s1#00", Limit: 5, Cursor: first.Next})
	wantKind(t, err, apperr.Invalid)
}

func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestProvision(t *testing.T) {
	t.Parallel()
	tb, db := newTable(t)
	ctx := testCtx(t)
	def := catalog.System().Table

	// Idempotent: a second call on the existing table succeeds.
	if err := Provision(ctx, db, def, tb.Name()); err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tb.Name())})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Table.TableStatus != types.TableStatusActive {
		t.Fatalf("status %s", desc.Table.TableStatus)
	}
	var gsis []string
	for _, g := range desc.Table.GlobalSecondaryIndexes {
		gsis = append(gsis, aws.ToString(g.IndexName)+":"+aws.ToString(g.KeySchema[0].AttributeName)+"/"+aws.ToString(g.KeySchema[1].AttributeName))
	}
	slices.Sort(gsis)
	if want := []string{"GSI1:GSI1PK/GSI1SK", "GSI2:GSI2PK/GSI2SK"}; !slices.Equal(gsis, want) {
		t.Fatalf("GSIs %v, want %v", gsis, want)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(tb.Name())})
	if err != nil {
		t.Fatal(err)
	}
	d := ttl.TimeToLiveDescription
	if d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != def.TTLAttribute {
		t.Fatalf("TTL %s on %q, want ENABLED on %q", d.TimeToLiveStatus, aws.ToString(d.AttributeName), def.TTLAttribute)
	}
}

func TestBatchPutAndGet(t *testing.T) {
	t.Parallel()
	tb, _ := newTable(t)
	ctx := testCtx(t)
	var items []any
	var keys []Key
	for i := range 60 {
		items = append(items, item{PK: "T#t1#CNT#2025-01-01", SK: fmt.Sprintf("m%02d", i), Version: i})
		keys = append(keys, Key{"T#t1#CNT#2025-01-01", fmt.Sprintf("m%02d", i)})
	}
	// A duplicate key in the same request: the later item wins.
	items = append(items, item{PK: "T#t1#CNT#2025-01-01", SK: "m07", Version: 700})
	if err := tb.BatchPut(ctx, items); err != nil {
		t.Fatalf("BatchPut: %v", err)
	}
	all, err := QueryAll[item](ctx, tb, Query{PK: "T#t1#CNT#2025-01-01", Consistent: true}, 0)
	if err != nil || len(all) != 60 {
		t.Fatalf("after BatchPut: %d items, %v", len(all), err)
	}
	if all[7].Version != 700 {
		t.Fatalf("duplicate key: version %d, want the later 700", all[7].Version)
	}

	// 150 keys (two requests), with a duplicate and missing ones.
	for i := range 89 {
		keys = append(keys, Key{"T#t1#CNT#2025-01-02", fmt.Sprint(i)})
	}
	keys = append(keys, keys[0])
	got, err := BatchGet[item](ctx, tb, keys)
	if err != nil {
		t.Fatalf("BatchGet: %v", err)
	}
	if len(got) != 60 {
		t.Fatalf("BatchGet returned %d items, want 60", len(got))
	}
	if err := tb.BatchPut(ctx, []any{struct{ Name string }{"no key"}}); err == nil {
		t.Fatal("BatchPut accepted an item without PK/SK")
	}
	if err := tb.BatchPut(ctx, nil); err != nil {
		t.Fatalf("empty BatchPut: %v", err)
	}

	// BatchDelete: 60 items and a missing one, in three requests, each key
	// once however often it is named.
	del := append(keys[:60:60], Key{"T#t1#CNT#2025-01-09", "gone"}, keys[3])
	if err := tb.BatchDelete(ctx, del); err != nil {
		t.Fatalf("BatchDelete: %v", err)
	}
	if left, err := QueryAll[item](ctx, tb, Query{PK: "T#t1#CNT#2025-01-01", Consistent: true}, 0); err != nil || len(left) != 0 {
		t.Fatalf("after BatchDelete: %d items left, %v", len(left), err)
	}
	if err := tb.BatchDelete(ctx, []Key{{PK: "P"}}); err == nil {
		t.Fatal("BatchDelete accepted a key without SK")
	}
}

// throttlingDB answers the first `throttle` batch calls with everything
// unprocessed, as DynamoDB does under throttling, then passes through.
type throttlingDB struct {
	DynamoDB
	throttle int
	calls    int
}

func (d *throttlingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	d.calls++
	if d.calls <= d.throttle {
		return &dynamodb.BatchWriteItemOutput{UnprocessedItems: in.RequestItems}, nil
	}
	return d.DynamoDB.BatchWriteItem(ctx, in, o...)
}

func (d *throttlingDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	d.calls++
	if d.calls <= d.throttle {
		return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
	}
	return d.DynamoDB.BatchGetItem(ctx, in, o...)
}

func TestBatchRetriesUnprocessed(t *testing.T) {
	t.Parallel()
	real, _ := newTable(t)
	ctx := testCtx(t)
	db := &throttlingDB{DynamoDB: real.Client(), throttle: 2}
	tb := New(db, real.Name(), nil)
	items := []any{item{PK: "P", SK: "1"}, item{PK: "P", SK: "2"}}
	if err := tb.BatchPut(ctx, items); err != nil {
		t.Fatalf("BatchPut: %v", err)
	}
	if db.calls != 3 {
		t.Fatalf("BatchWriteItem called %d times, want 3 (two throttled)", db.calls)
	}
	db.calls, db.throttle = 0, 1
	got, err := BatchGet[item](ctx, tb, []Key{{"P", "1"}, {"P", "2"}})
	if err != nil || len(got) != 2 || db.calls != 2 {
		t.Fatalf("BatchGet: %d items after %d calls, %v", len(got), db.calls, err)
	}

	db.calls, db.throttle = 0, 1
	if err := tb.BatchDelete(ctx, []Key{{"P", "1"}, {"P", "2"}}); err != nil || db.calls != 2 {
		t.Fatalf("BatchDelete after %d calls: %v", db.calls, err)
	}

	// Throttled for good: the caller ends up with a transient error that
	// carries its deadline (the wait between retries ends with ctx).
	db.calls, db.throttle = 0, 1000
	for name, write := range map[string]func(context.Context) error{
		"BatchPut":    func(ctx context.Context) error { return tb.BatchPut(ctx, items) },
		"BatchDelete": func(ctx context.Context) error { return tb.BatchDelete(ctx, []Key{{"P", "1"}}) },
	} {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err = write(short)
		cancel()
		wantKind(t, err, apperr.Transient)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: error %v does not carry the deadline", name, err)
		}
	}
}
