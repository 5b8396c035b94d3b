package profile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// AbandonAfter is how long a checkout may stay open before it counts as
// abandoned.
const AbandonAfter = time.Hour

// dueIndex is the GSI2 partition holding open checkouts by due time.
const dueIndex = "CHECKOUT-DUE"

// CheckoutState is a checkout as of its provider update time.
type CheckoutState struct {
	Token, Currency, URL string
	UpdatedAt            time.Time
	CompletedAt          *time.Time
	TotalCents           int64
	Lines                []OrderLine
}

// UpsertCheckout records a checkout; an open one becomes due for the
// abandonment check AbandonAfter its last update. Older states are ignored.
func (s *Store) UpsertCheckout(ctx context.Context, tenant, cid string, c CheckoutState) error {
	key := store.Key{PK: custPK(tenant, cid), SK: skCheckout + c.Token}
	item := Checkout{PK: key.PK, SK: key.SK, Tenant: tenant, CustomerID: cid, Token: c.Token, UpdatedAt: ts(c.UpdatedAt),
		TotalCents: c.TotalCents, Currency: c.Currency, URL: c.URL, Lines: c.Lines}
	if c.CompletedAt != nil {
		item.CompletedAt = ts(*c.CompletedAt)
	} else {
		item.GSI2PK, item.GSI2SK = dueIndex, sortTS(c.UpdatedAt.Add(AbandonAfter))+"#"+tenant+"#"+cid+"#"+c.Token
	}
	newer := expression.AttributeNotExists(expression.Name("PK")).Or(
		expression.Name("providerUpdatedAt").LessThan(expression.Value(item.UpdatedAt)).
			And(expression.AttributeNotExists(expression.Name("completedAt"))).
			And(expression.AttributeNotExists(expression.Name("abandonedAt"))))
	err := s.t.Put(ctx, item, store.If(newer))
	if err != nil && apperr.KindOf(err) != apperr.Conflict {
		return fmt.Errorf("profile.UpsertCheckout %s: %w", c.Token, err)
	}
	return nil
}

// CompleteCheckout marks the checkout an order came from as completed, so
// it is never reported abandoned. Unknown tokens are ignored.
func (s *Store) CompleteCheckout(ctx context.Context, tenant, cid, token string, at time.Time) error {
	upd := expression.Set(expression.Name("completedAt"), expression.Value(ts(at))).
		Remove(expression.Name("GSI2PK")).Remove(expression.Name("GSI2SK"))
	err := s.t.Update(ctx, store.Key{PK: custPK(tenant, cid), SK: skCheckout + token}, upd, nil, store.IfExists())
	if err != nil && apperr.KindOf(err) != apperr.Conflict {
		return fmt.Errorf("profile.CompleteCheckout %s: %w", token, err)
	}
	return nil
}

// AbandonDue marks open checkouts whose due time has passed as abandoned
// (at most limit), returning those this call marked and how many due
// checkouts it looked at (limit means there may be more); concurrent
// sweepers each get a checkout at most once.
func (s *Store) AbandonDue(ctx context.Context, now time.Time, limit int) ([]Checkout, int, error) {
	due, err := store.QueryPage[Checkout](ctx, s.t, store.Query{Index: "GSI2", PK: dueIndex, SKTo: sortTS(now) + "~", Limit: int32(limit)})
	if err != nil {
		return nil, 0, fmt.Errorf("profile.AbandonDue: %w", err)
	}
	var out []Checkout
	for _, c := range due.Items {
		if !strings.HasPrefix(c.PK, "T#") {
			continue
		}
		upd := expression.Set(expression.Name("abandonedAt"), expression.Value(ts(now))).
			Remove(expression.Name("GSI2PK")).Remove(expression.Name("GSI2SK"))
		cond := expression.Name("GSI2SK").Equal(expression.Value(c.GSI2SK))
		err := s.t.Update(ctx, store.Key{PK: c.PK, SK: c.SK}, upd, nil, store.If(cond))
		switch {
		case err == nil:
			c.AbandonedAt = ts(now)
			out = append(out, c)
		case apperr.KindOf(err) == apperr.Conflict:
			// completed, updated or claimed by another sweeper meanwhile
		default:
			return out, len(due.Items), fmt.Errorf("profile.AbandonDue %s: %w", c.Token, err)
		}
	}
	return out, len(due.Items), nil
}
