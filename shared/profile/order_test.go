package profile_test

import (
	"context"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/profile"
)

// TestApplyCustomerOrderFollowsMerges: the remembered customer of an
// identity is used only while its profile still owns the identity; after a
// merge the order goes to the survivor, after the unmerge back again.
func TestApplyCustomerOrderFollowsMerges(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	placed := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	ann := profile.Identity{Email: "ann@example.com"}
	apply := func(id string, n int) string {
		t.Helper()
		cid, res, err := s.ApplyCustomerOrder(ctx, "t1", ann, order(id, 1000, placed.Add(time.Duration(n)*time.Hour)))
		if err != nil || !res.Created {
			t.Fatalf("order %s: %+v, %v", id, res, err)
		}
		return cid
	}
	counts := func(cid string) int {
		t.Helper()
		p, err := s.Profile(ctx, "t1", cid)
		if err != nil {
			t.Fatal(err)
		}
		return p.OrdersCount
	}
	a := apply("1", 0)
	if again := apply("2", 1); again != a || counts(a) != 2 {
		t.Fatalf("second order went to %s (first %s), %d orders", again, a, counts(a))
	}
	b := mustResolve(t, s, "t1", profile.Identity{ShopifyID: "900"}).CustomerID
	if err := s.Merge(ctx, "t1", b, a, "test"); err != nil {
		t.Fatal(err)
	}
	if got := apply("3", 2); got != b || counts(b) != 3 {
		t.Fatalf("after the merge the order went to %s, want the survivor %s (%d orders)", got, b, counts(b))
	}
	ms, err := s.Merges(ctx, "t1", b)
	if err != nil || len(ms) != 1 {
		t.Fatalf("merges: %v %v", ms, err)
	}
	if err := s.Unmerge(ctx, "t1", b, ms[0].SK); err != nil {
		t.Fatal(err)
	}
	if got := apply("4", 3); got != a {
		t.Fatalf("after the unmerge the order went to %s, want %s", got, a)
	}
}
