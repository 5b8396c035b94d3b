package profile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/idem"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Orders and refunds, and the aggregates they move, applied exactly once.

// OrderState is an order as of its provider update time.
type OrderState struct {
	OrderID, Name, Currency, Financial, Fulfillment, CheckoutToken, Source string
	PlacedAt, UpdatedAt                                                    time.Time
	CancelledAt                                                            *time.Time
	TotalCents, RefundedCents                                              int64
	RefundIDs                                                              []string
	Lines                                                                  []OrderLine
	// Customer holds the order's embedded customer fields, applied in the
	// same write as the order when newer than the profile's (CustomerAt).
	Customer   *Fields
	CustomerAt time.Time
	// Once, when set, claims the delivery in the order's transaction.
	Once *Once
}

// OrderResult says what ApplyOrder did.
type OrderResult struct {
	Created bool // first time this order was seen (with Duplicate: the first delivery created it)
	Applied bool // false: a duplicate or an older state
	Order   Order
	// Duplicate: this delivery (OrderState.Once) was applied before.
	Duplicate bool
	// Hold is the delivery's claim when the caller must complete it
	// (idem.Store.Complete) after its follow-up work.
	Hold *idem.Hold
}

// Once names the delivery that carries an order state. ApplyOrder then
// claims it (idem.Hold) in the order's own transaction, so the claim costs
// no request of its own and a redelivery is known as a duplicate.
type Once struct {
	Claims     Claims
	Scope, Key string
	TTL        time.Duration
}

// Claims makes idempotency claims written inside a transaction (idem.Store).
type Claims interface {
	Hold(scope, key string, ttl time.Duration, result []byte) (idem.Hold, error)
	State(r idem.Record) idem.Outcome
}

// createdResult is the claim result of a delivery that created its order.
const createdResult = "created"

// ApplyOrder records an order state for a customer and adjusts the profile's
// aggregates by the difference from the state recorded before, in one
// transaction. A redelivered or older state changes nothing, so an order is
// counted once however often it arrives.
//
// The profile, the order and (with o.Once) the delivery's claim are read in
// one request and written in one transaction. With o.Once, a delivery whose
// claim is complete is a Duplicate; one whose claim was left by a holder
// that died is a Duplicate with that claim in Hold, so the caller redoes
// and completes the follow-up work. When the transaction wrote a claim,
// Hold is set and the caller completes it after its side effects.
func (s *Store) ApplyOrder(ctx context.Context, tenant, cid string, o OrderState) (OrderResult, error) {
	return s.applyOrderTo(ctx, tenant, cid, o, nil)
}

// errStale: a remembered customer no longer owns the identity.
var errStale = errors.New("identity no longer resolves to this customer")

// ApplyCustomerOrder is Resolve followed by ApplyOrder, for the customer
// the identity belongs to. Once an identity has resolved, the instance
// remembers its customer and skips the identity-index read: the profile,
// read consistently with the order, must still list every index key of
// the identity (create, attach, Merge and Unmerge change a profile's
// indexKeys in the same transaction as the index items), and the write is
// conditional on that profile's version, so the result is the one Resolve
// would give. Otherwise it resolves as usual.
func (s *Store) ApplyCustomerOrder(ctx context.Context, tenant string, id Identity, o OrderState) (string, OrderResult, error) {
	keys, err := s.indexKeys(ctx, tenant, id)
	if err != nil {
		return "", OrderResult{}, fmt.Errorf("profile.ApplyCustomerOrder: %w", err)
	}
	pks := make([]string, len(keys))
	for i, k := range keys {
		pks[i] = k.pk
	}
	ck := strings.Join(pks, "\x00")
	if cid, ok := s.owners.get(ck); ok {
		res, err := s.applyOrderTo(ctx, tenant, cid, o, pks)
		if !errors.Is(err, errStale) {
			return cid, res, err
		}
		s.owners.drop(ck)
	}
	r, err := s.Resolve(ctx, tenant, id)
	if err != nil {
		return "", OrderResult{}, err
	}
	res, err := s.applyOrderTo(ctx, tenant, r.CustomerID, o, nil)
	if err == nil && len(pks) > 0 {
		s.owners.put(ck, r.CustomerID)
	}
	return r.CustomerID, res, err
}

// owners remembers, per instance, which customer an identity's index keys
// resolved to (bounded; cleared when full).
type owners struct {
	mu sync.Mutex
	m  map[string]string
}

const maxOwners = 50_000

func (o *owners) get(k string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.m[k]
	return v, ok
}

func (o *owners) put(k, cid string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.m) >= maxOwners {
		clear(o.m)
	}
	o.m[k] = cid
}

func (o *owners) drop(k string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, k)
}

// applyOrderTo is ApplyOrder; with need, the profile must be unmerged and
// own every index key in need (else errStale, nothing written).
func (s *Store) applyOrderTo(ctx context.Context, tenant, cid string, o OrderState, need []string) (OrderResult, error) {
	key := store.Key{PK: custPK(tenant, cid), SK: skOrder + sortTS(o.PlacedAt) + "#" + o.OrderID}
	pkey := store.Key{PK: custPK(tenant, cid), SK: skProfile}
	var sealed Fields
	if o.Customer != nil {
		var err error
		if sealed, err = s.sealFields(ctx, tenant, *o.Customer); err != nil {
			return OrderResult{}, fmt.Errorf("profile.ApplyOrder %s/%s: %w", cid, o.OrderID, err)
		}
	}
	var tried OrderResult // the last attempt whose transaction may have committed unseen
	for attempt := range attempts {
		res, retry, err := s.applyOrder(ctx, tenant, key, pkey, o, sealed, need, tried)
		if retry {
			tried = res
		}
		if err != nil {
			return OrderResult{}, fmt.Errorf("profile.ApplyOrder %s/%s: %w", cid, o.OrderID, err)
		}
		if !retry {
			return res, nil
		}
		backoff(ctx, attempt)
	}
	return OrderResult{}, apperr.E(apperr.Transient, "customer %s is busy; retry", cid)
}

// applyOrder is one optimistic attempt of ApplyOrder; retry reports a lost race.
//
// tried is the previous attempt's result: when its transaction reported a
// conflict but did commit (e.g. the SDK retried a request whose response
// was lost), the claim found is its own and that result stands.
func (s *Store) applyOrder(ctx context.Context, tenant string, key, pkey store.Key, o OrderState, sealed Fields, need []string, tried OrderResult) (res OrderResult, retry bool, err error) {
	keys := []store.Key{pkey, key}
	var claimKey store.Key
	if o.Once != nil {
		claimKey = idem.Key(o.Once.Scope, o.Once.Key)
		keys = append(keys, claimKey)
	}
	items, err := store.BatchGet[map[string]any](ctx, s.t, keys)
	if err != nil {
		return res, false, err
	}
	var (
		p                  Profile
		prev               Order
		claim              idem.Record
		hasProfile, exists bool
	)
	for _, it := range items {
		k := store.Key{}
		k.PK, _ = it["PK"].(string)
		k.SK, _ = it["SK"].(string)
		var dst any
		switch k {
		case pkey:
			dst, hasProfile = &p, true
		case key:
			dst, exists = &prev, true
		case claimKey:
			dst = &claim
		default:
			continue
		}
		if err := decodeItem(it, dst); err != nil {
			return res, false, err
		}
	}
	if need != nil && (!hasProfile || p.MergedInto != "" || slices.ContainsFunc(need, func(k string) bool { return !slices.Contains(p.IndexKeys, k) })) {
		return res, false, errStale
	}
	if !hasProfile {
		return res, false, fmt.Errorf("profile %s: %w", pkey.PK, apperr.E(apperr.NotFound, "not found"))
	}
	if o.Once != nil {
		switch o.Once.Claims.State(claim) {
		case idem.Done:
			return OrderResult{Duplicate: true, Order: prev}, false, nil
		case idem.Busy:
			if tried.Hold != nil && claim.Owner == tried.Hold.Record.Owner {
				return tried, false, nil
			}
			return res, false, apperr.E(apperr.Transient, "delivery %s is being applied elsewhere", o.Once.Key)
		case idem.Abandoned:
			// A claim is only ever written with its effect, so the order is
			// in; the holder died before finishing what follows.
			return OrderResult{Duplicate: true, Created: string(claim.Result) == createdResult, Order: prev, Hold: &idem.Hold{Record: claim}}, false, nil
		}
	}
	old := p.Version
	fields := o.Customer != nil && applyFields(&p, sealed, o.CustomerAt)
	newer := !exists || ts(o.UpdatedAt) > prev.UpdatedAt
	if !newer && !fields {
		return OrderResult{Order: prev}, false, nil // an older or repeated state: nothing to write
	}
	res = OrderResult{Order: prev}
	var ops []store.TxOp
	if newer {
		next := Order{
			PK: key.PK, SK: key.SK, GSI1PK: orderGSI(tenant, o.OrderID), GSI1SK: "ORDER",
			OrderID: o.OrderID, Name: o.Name, PlacedAt: ts(o.PlacedAt), UpdatedAt: ts(o.UpdatedAt),
			Currency: o.Currency, TotalCents: o.TotalCents, RefundedCents: o.RefundedCents, RefundIDs: o.RefundIDs,
			Financial: o.Financial, Fulfillment: o.Fulfillment, CheckoutToken: o.CheckoutToken, Source: o.Source, Lines: o.Lines,
		}
		if exists {
			// A refund applied by refunds/create that this state does not list yet stays.
			for _, id := range prev.RefundIDs {
				if !slices.Contains(next.RefundIDs, id) {
					next.RefundIDs = append(next.RefundIDs, id)
				}
			}
			next.RefundedCents = max(next.RefundedCents, prev.RefundedCents)
		}
		if o.CancelledAt != nil {
			next.CancelledAt = ts(*o.CancelledAt)
		}
		next.Counted = next.CancelledAt == ""
		if next.Counted {
			next.CountedCents = max(next.TotalCents-next.RefundedCents, 0)
		}
		applyOrderDelta(&p, prev, next, exists, o.PlacedAt)
		cond := store.IfAbsent()
		if exists {
			cond = store.If(expression.Name("providerUpdatedAt").Equal(expression.Value(prev.UpdatedAt)))
		}
		res = OrderResult{Created: !exists, Applied: true, Order: next}
		ops = append(ops, s.t.TxPut(next, cond))
	}
	if o.Once != nil {
		var result []byte
		if res.Created {
			result = []byte(createdResult)
		}
		h, err := o.Once.Claims.Hold(o.Once.Scope, o.Once.Key, o.Once.TTL, result)
		if err != nil {
			return res, false, err
		}
		ops = append(ops, s.t.TxPut(h.Record, h.Free))
		res.Hold = &h
	}
	p.Version, p.UpdatedAt = old+1, ts(s.now())
	err = s.t.Transact(ctx, append(ops, s.t.TxPut(p, versionIs(old)))...)
	switch {
	case err == nil:
		return res, false, nil
	case apperr.KindOf(err) == apperr.Conflict:
		// The profile or order moved, or a duplicate delivery won: the next
		// read tells which.
		return res, true, nil
	}
	return res, false, err
}

// ApplyRefund adds a refund to an order found by its provider id. Applying
// the same refund id twice changes nothing. A refund for an unknown order is
// apperr.NotFound (retryable until the order arrives? no: see ingest).
func (s *Store) ApplyRefund(ctx context.Context, tenant, orderID, refundID string, cents int64, at time.Time) (bool, error) {
	orders, err := store.QueryAll[Order](ctx, s.t, store.Query{Index: "GSI1", PK: orderGSI(tenant, orderID)}, 1)
	if err != nil {
		return false, fmt.Errorf("profile.ApplyRefund %s: %w", orderID, err)
	}
	if len(orders) == 0 {
		return false, apperr.E(apperr.NotFound, "order %s is not known yet", orderID)
	}
	cid := strings.TrimPrefix(orders[0].PK, "T#"+tenant+"#CUST#")
	key := store.Key{PK: orders[0].PK, SK: orders[0].SK}
	applied := false
	_, _, err = s.mutate(ctx, tenant, cid, func(p *Profile) (bool, []store.TxOp, error) {
		var o Order
		if err := s.t.Get(ctx, key, &o); err != nil {
			return false, nil, err
		}
		if slices.Contains(o.RefundIDs, refundID) {
			return false, nil, nil
		}
		prev := o
		o.RefundIDs = append(o.RefundIDs, refundID)
		o.RefundedCents += cents
		if o.Counted {
			o.CountedCents = max(o.TotalCents-o.RefundedCents, 0)
		}
		p.TotalSpentCents += o.CountedCents - prev.CountedCents
		applied = true
		return true, []store.TxOp{s.t.TxPut(o, store.If(expression.Name("providerUpdatedAt").Equal(expression.Value(prev.UpdatedAt)).
			And(expression.Name("refundedCents").Equal(expression.Value(prev.RefundedCents)))))}, nil
	})
	if err != nil {
		return false, fmt.Errorf("profile.ApplyRefund %s: %w", orderID, err)
	}
	return applied, nil
}
