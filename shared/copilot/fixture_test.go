package copilot_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/copilot"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

// now is the tests' clock: a Wednesday.
var now = time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// buyer is a seeded customer and the orders they placed.
type buyer struct {
	first, last string
	orders      []order
}

type order struct {
	at       time.Time
	cents    int64
	refunded int64
}

// fixture is a provisioned table with profiles seeded through the real
// ingest write path (profile.ApplyCustomerOrder).
type fixture struct {
	table    *store.Table
	profiles *profile.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tbl := storetest.Table(t, "copilot")
	c, err := pii.New(context.Background(), "file:"+t.TempDir(), tbl, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{table: tbl, profiles: profile.NewStore(tbl, c, time.Now)}
}

func (f *fixture) seed(t *testing.T, tenant string, buyers []buyer) {
	t.Helper()
	ctx := context.Background()
	for i, b := range buyers {
		id := profile.Identity{Email: fmt.Sprintf("b%d@%s.test", i, tenant)}
		for j, o := range b.orders {
			_, _, err := f.profiles.ApplyCustomerOrder(ctx, tenant, id, profile.OrderState{
				OrderID: fmt.Sprintf("%s-%d-%d", tenant, i, j), Currency: "USD", Financial: "paid",
				PlacedAt: o.at, UpdatedAt: o.at, TotalCents: o.cents, RefundedCents: o.refunded,
				Customer: &profile.Fields{FirstName: b.first, LastName: b.last}, CustomerAt: o.at,
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// build makes the copilot over the fixture, with the model at base (""
// for none).
func (f *fixture) build(t *testing.T, base string, o copilot.Options, mo copilot.ModelOptions) (*copilot.Copilot, *copilot.Registry) {
	t.Helper()
	key := ""
	if base != "" {
		key = "sk-test"
	}
	c, reg, err := copilot.Build(copilot.Setup{
		Table: f.table, Profiles: f.profiles, APIKey: key, BaseURL: base, Model: "gpt-test",
		Now: func() time.Time { return now }, Options: o, ModelOptions: mo,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, reg
}

// modelServer serves the OpenAI sandbox at the returned base URL.
func modelServer(t *testing.T) (*sandbox.OpenAI, string) {
	t.Helper()
	o := sandbox.NewOpenAI(nil)
	srv := httptest.NewServer(o.Handler(sandbox.Env{}))
	t.Cleanup(srv.Close)
	return o, srv.URL + "/v1"
}

// answer asks c and returns the answer and the deltas emitted.
func answer(t *testing.T, c *copilot.Copilot, tenant string, role string, text string) (copilot.Answer, []string) {
	t.Helper()
	var deltas []string
	a, err := c.Answer(context.Background(), copilot.Question{Caller: copilot.Caller{TenantID: tenant, UserID: "u1", Role: roleOf(role)}, Text: text},
		func(d string) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	return a, deltas
}
