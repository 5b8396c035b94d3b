package profile

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsehub/pulsehub/shared/store"
)

// EachProfile calls fn with every listed (not merged) profile of the
// tenant, shard by shard. The listing index projects whole items, so this
// reads each profile once, without a get per customer. Personal fields stay
// sealed: open only what is shown (View).
func (s *Store) EachProfile(ctx context.Context, tenant string, fn func(Profile) error) error {
	if err := eachListed(ctx, s.t, tenant, fn); err != nil {
		return fmt.Errorf("profile.EachProfile: %w", err)
	}
	return nil
}

// eachListed reads the tenant's customer listing (GSI1, every shard) as T.
func eachListed[T any](ctx context.Context, t *store.Table, tenant string, fn func(T) error) error {
	for i := range Shards {
		q := store.Query{Index: "GSI1", PK: listPK(tenant, fmt.Sprintf("%02x", i)), Limit: 500}
		for {
			page, err := store.QueryPage[T](ctx, t, q)
			if err != nil {
				return err
			}
			for _, it := range page.Items {
				if err := fn(it); err != nil {
					return err
				}
			}
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
	}
	return nil
}

// OrdersPlaced returns the customer's orders placed in [from, to).
func (s *Store) OrdersPlaced(ctx context.Context, tenant, cid string, from, to time.Time) ([]Order, error) {
	q := store.Query{PK: custPK(tenant, cid), SKFrom: skOrder + sortTS(from), SKTo: skOrder + sortTS(to.Add(-time.Millisecond)) + "~"}
	orders, err := store.QueryAll[Order](ctx, s.t, q, 0)
	if err != nil {
		return nil, fmt.Errorf("profile.OrdersPlaced %s: %w", cid, err)
	}
	return orders, nil
}
