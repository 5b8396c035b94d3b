package ingest_test

import (
	"context"
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
type counter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	c.mu.Lock()
	c.ops[op[strings.LastIndex(op, ".")+1:]]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
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
	p := ingest.NewProcessor(slog.New(slog.NewTextHandler(io.Discard, nil)), profile.NewStore(tbl, c, time.Now), idem.New(tbl, time.Now), &recorder{}, ingest.Compliance{}, nil)
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
}
