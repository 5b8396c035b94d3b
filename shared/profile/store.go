package profile

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/idem"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Cipher seals personal fields and computes blind indexes (pii.Cipher).
type Cipher interface {
	Seal(ctx context.Context, tenant, plaintext string) (string, error)
	Open(ctx context.Context, tenant, sealed string) (string, error)
	BlindIndex(ctx context.Context, tenant, kind, value string) (string, error)
}

// Store reads and writes customer data in the single table.
type Store struct {
	t      *store.Table
	pii    Cipher
	now    func() time.Time
	owners *owners // see ApplyCustomerOrder
}

// NewStore returns a Store.
func NewStore(t *store.Table, c Cipher, now func() time.Time) *Store {
	return &Store{t: t, pii: c, now: now, owners: &owners{m: map[string]string{}}}
}

// attempts bounds optimistic-concurrency retries on one customer; with the
// jittered backoff they span about a second, so a hot customer under load
// is retried in place rather than after the queue's visibility timeout.
const attempts = 16

// Identity is what a payload tells about who it concerns.
type Identity struct {
	ShopifyID   string
	Email       string
	Phone       string
	AnonymousID string
	UserID      string // the storefront's own customer id (collect userId)
}

// Index kinds.
const (
	KindShopify   = "shopify"
	KindEmail     = pii.KindEmail
	KindPhone     = pii.KindPhone
	KindAnonymous = "anon"
	KindUser      = "user"
)

type idxKey struct{ kind, pk string }

func (s *Store) indexKeys(ctx context.Context, tenant string, id Identity) ([]idxKey, error) {
	var keys []idxKey
	add := func(kind, value string) error {
		if strings.TrimSpace(value) == "" {
			return nil
		}
		v := strings.TrimSpace(value)
		if kind != KindShopify {
			h, err := s.pii.BlindIndex(ctx, tenant, kind, value)
			if apperr.KindOf(err) == apperr.Invalid {
				return nil // e.g. a phone without a country code: not an identity
			}
			if err != nil {
				return fmt.Errorf("blind index %s: %w", kind, err)
			}
			v = h
		}
		keys = append(keys, idxKey{kind, idxPK(tenant, kind, v)})
		return nil
	}
	for _, kv := range [][2]string{{KindShopify, id.ShopifyID}, {KindEmail, id.Email}, {KindPhone, id.Phone}, {KindUser, id.UserID}, {KindAnonymous, id.AnonymousID}} {
		if err := add(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// NewID returns a time-ordered customer id, so listings run oldest first.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli()))
	rand.Read(b[8:])
	return "c_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[2:]))
}

// Resolved is the outcome of Resolve.
type Resolved struct {
	CustomerID string
	Created    bool
	Merged     []string // profiles merged into CustomerID by this call
}

// Resolve finds the customer the identity belongs to, creating one when
// none matches, attaching identifiers not yet indexed, and merging profiles
// when the identifiers point at several. The survivor of a merge is the
// profile holding the Shopify id, else the oldest.
func (s *Store) Resolve(ctx context.Context, tenant string, id Identity) (Resolved, error) {
	keys, err := s.indexKeys(ctx, tenant, id)
	if err != nil {
		return Resolved{}, fmt.Errorf("profile.Resolve: %w", err)
	}
	if len(keys) == 0 {
		return Resolved{}, apperr.E(apperr.Invalid, "payload identifies no customer (no customer id, email, phone or anonymous id)")
	}
	var out Resolved
	for range attempts {
		sk := make([]store.Key, len(keys))
		for i, k := range keys {
			sk[i] = store.Key{PK: k.pk, SK: skIndex}
		}
		found, err := store.BatchGet[IndexItem](ctx, s.t, sk)
		if err != nil {
			return Resolved{}, fmt.Errorf("profile.Resolve: %w", err)
		}
		owner := map[string]string{} // index pk → customer
		var ids []string
		for _, it := range found {
			owner[it.PK] = it.CustomerID
			if !slices.Contains(ids, it.CustomerID) {
				ids = append(ids, it.CustomerID)
			}
		}
		var missing []idxKey
		for _, k := range keys {
			if _, ok := owner[k.pk]; !ok {
				missing = append(missing, k)
			}
		}
		switch len(ids) {
		case 0:
			cid := NewID(s.now())
			err = s.create(ctx, tenant, cid, keys, id)
			if err == nil {
				out.CustomerID, out.Created = cid, true
				return out, nil
			}
		default:
			cid := ids[0]
			if len(ids) > 1 {
				cid, err = s.survivor(ctx, tenant, ids, owner, keys)
				if err != nil {
					return Resolved{}, err
				}
				for _, other := range ids {
					if other == cid {
						continue
					}
					if err := s.Merge(ctx, tenant, cid, other, "identity match"); err != nil {
						return Resolved{}, err
					}
					out.Merged = append(out.Merged, other)
				}
			}
			if len(missing) == 0 {
				out.CustomerID = cid
				return out, nil
			}
			err = s.attach(ctx, tenant, cid, missing, id)
			if err == nil {
				out.CustomerID = cid
				return out, nil
			}
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return Resolved{}, fmt.Errorf("profile.Resolve: %w", err)
		}
		// Someone else claimed an identifier or changed the profile: look again.
	}
	return Resolved{}, apperr.E(apperr.Transient, "profile.Resolve: too much contention on one customer; retry")
}

func (s *Store) survivor(ctx context.Context, tenant string, ids []string, owner map[string]string, keys []idxKey) (string, error) {
	for _, k := range keys {
		if k.kind == KindShopify && owner[k.pk] != "" {
			return owner[k.pk], nil
		}
	}
	best, bestAnon, bestAt := "", true, ""
	for _, id := range ids {
		p, err := s.profile(ctx, tenant, id)
		if err != nil {
			return "", err
		}
		if p.ShopifyID != "" {
			return id, nil
		}
		// Prefer a known person over an anonymous visitor, then the oldest.
		if best == "" || (bestAnon && !p.Anonymous) || (bestAnon == p.Anonymous && p.CreatedAt < bestAt) {
			best, bestAnon, bestAt = id, p.Anonymous, p.CreatedAt
		}
	}
	return best, nil
}

func (s *Store) create(ctx context.Context, tenant, cid string, keys []idxKey, id Identity) error {
	now := ts(s.now())
	p := Profile{
		PK: custPK(tenant, cid), SK: skProfile, GSI1PK: listPK(tenant, Shard(cid)), GSI1SK: cid,
		ID: cid, ShopifyID: id.ShopifyID, CreatedAt: now, UpdatedAt: now, Version: 1,
		Anonymous: id.ShopifyID == "" && id.Email == "" && id.Phone == "" && id.UserID == "",
	}
	if err := s.sealIdentity(ctx, tenant, &p, id); err != nil {
		return err
	}
	ops := []store.TxOp{}
	for _, k := range keys {
		p.IndexKeys = append(p.IndexKeys, k.pk)
		ops = append(ops, s.t.TxPut(IndexItem{PK: k.pk, SK: skIndex, CustomerID: cid, Kind: k.kind, At: now}, store.IfAbsent()))
	}
	ops = append(ops, s.t.TxPut(p, store.IfAbsent()))
	return s.t.Transact(ctx, ops...)
}

// sealIdentity fills empty email/phone from the identity.
func (s *Store) sealIdentity(ctx context.Context, tenant string, p *Profile, id Identity) error {
	var err error
	if p.Email == "" && id.Email != "" {
		if p.Email, err = s.pii.Seal(ctx, tenant, pii.NormalizeEmail(id.Email)); err != nil {
			return err
		}
	}
	if p.Phone == "" && id.Phone != "" {
		if ph, perr := pii.NormalizePhone(id.Phone); perr == nil {
			if p.Phone, err = s.pii.Seal(ctx, tenant, ph); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) attach(ctx context.Context, tenant, cid string, missing []idxKey, id Identity) error {
	p, err := s.profile(ctx, tenant, cid)
	if err != nil {
		return err
	}
	now := ts(s.now())
	old := p.Version
	ops := []store.TxOp{}
	for _, k := range missing {
		if !slices.Contains(p.IndexKeys, k.pk) {
			p.IndexKeys = append(p.IndexKeys, k.pk)
		}
		if k.kind != KindAnonymous {
			p.Anonymous = false
		}
		ops = append(ops, s.t.TxPut(IndexItem{PK: k.pk, SK: skIndex, CustomerID: cid, Kind: k.kind, At: now}, store.IfAbsent()))
	}
	if p.ShopifyID == "" {
		p.ShopifyID = id.ShopifyID
	}
	if err := s.sealIdentity(ctx, tenant, &p, id); err != nil {
		return err
	}
	p.Version, p.UpdatedAt = old+1, now
	ops = append(ops, s.t.TxPut(p, versionIs(old)))
	return s.t.Transact(ctx, ops...)
}

// backoff waits a little, with jitter, before another optimistic attempt on
// a contended customer, so concurrent writers stop colliding in lockstep.
func backoff(ctx context.Context, attempt int) {
	d := time.Duration(mrand.Int64N(int64(5*time.Millisecond) << min(attempt, 5)))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func versionIs(v int64) store.Cond {
	return store.If(expression.Name("version").Equal(expression.Value(v)))
}

// profile reads a profile; a missing one is apperr.NotFound.
func (s *Store) profile(ctx context.Context, tenant, cid string) (Profile, error) {
	var p Profile
	if err := s.t.Get(ctx, store.Key{PK: custPK(tenant, cid), SK: skProfile}, &p); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", cid, err)
	}
	return p, nil
}

// Profile returns a customer's profile, following a merge to the survivor.
func (s *Store) Profile(ctx context.Context, tenant, cid string) (Profile, error) {
	p, err := s.profile(ctx, tenant, cid)
	for hops := 0; err == nil && p.MergedInto != "" && hops < 5; hops++ {
		p, err = s.profile(ctx, tenant, p.MergedInto)
	}
	return p, err
}

// mutate applies fn to the profile under optimistic concurrency, with extra
// transaction ops built from the profile as read. fn returns false to skip.
func (s *Store) mutate(ctx context.Context, tenant, cid string, fn func(p *Profile) (bool, []store.TxOp, error)) (Profile, bool, error) {
	for attempt := range attempts {
		p, err := s.profile(ctx, tenant, cid)
		if err != nil {
			return Profile{}, false, err
		}
		old := p.Version
		ok, ops, err := fn(&p)
		if err != nil || !ok {
			return p, false, err
		}
		p.Version, p.UpdatedAt = old+1, ts(s.now())
		err = s.t.Transact(ctx, append(ops, s.t.TxPut(p, versionIs(old)))...)
		if err == nil {
			return p, true, nil
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return Profile{}, false, err
		}
		backoff(ctx, attempt)
	}
	return Profile{}, false, apperr.E(apperr.Transient, "customer %s is busy; retry", cid)
}

// Fields are profile attributes a provider sends (plaintext; sealed here).
type Fields struct {
	Email, Phone, FirstName, LastName, Address, Tags, Currency string
}

// UpdateFields sets non-empty fields as of the provider time at. A payload
// older than the newest one applied changes nothing (reports false).
func (s *Store) UpdateFields(ctx context.Context, tenant, cid string, f Fields, at time.Time) (bool, error) {
	sealed, err := s.sealFields(ctx, tenant, f)
	if err != nil {
		return false, fmt.Errorf("profile.UpdateFields %s: %w", cid, err)
	}
	_, changed, err := s.mutate(ctx, tenant, cid, func(p *Profile) (bool, []store.TxOp, error) {
		return applyFields(p, sealed, at), nil, nil
	})
	if err != nil {
		return false, fmt.Errorf("profile.UpdateFields %s: %w", cid, err)
	}
	return changed, nil
}

// sealFields normalises and seals the personal fields of f.
func (s *Store) sealFields(ctx context.Context, tenant string, f Fields) (Fields, error) {
	sealed := Fields{Tags: f.Tags, Currency: f.Currency}
	for _, v := range []struct {
		in  string
		out *string
	}{{f.Email, &sealed.Email}, {f.Phone, &sealed.Phone}, {f.FirstName, &sealed.FirstName}, {f.LastName, &sealed.LastName}, {f.Address, &sealed.Address}} {
		in := v.in
		if v.out == &sealed.Email {
			in = pii.NormalizeEmail(in)
		}
		if v.out == &sealed.Phone && in != "" {
			if n, perr := pii.NormalizePhone(in); perr == nil {
				in = n
			}
		}
		var err error
		if *v.out, err = s.pii.Seal(ctx, tenant, in); err != nil {
			return Fields{}, err
		}
	}
	return sealed, nil
}

// applyFields sets the non-empty sealed fields when at is newer than the
// fields applied before; it reports whether it did.
func applyFields(p *Profile, sealed Fields, at time.Time) bool {
	// An older payload never overwrites a newer value, but it may fill a
	// field the newer payloads did not carry: an order's embedded customer
	// (often without names) can be processed before the customers/create
	// it follows.
	stale := p.FieldsAt != "" && ts(at) <= p.FieldsAt
	changed := false
	set := func(dst *string, v string) {
		if v != "" && (!stale || *dst == "") {
			changed = changed || *dst != v
			*dst = v
		}
	}
	set(&p.Email, sealed.Email)
	set(&p.Phone, sealed.Phone)
	set(&p.FirstName, sealed.FirstName)
	set(&p.LastName, sealed.LastName)
	set(&p.Address, sealed.Address)
	set(&p.Tags, sealed.Tags)
	set(&p.Currency, sealed.Currency)
	if stale {
		return changed
	}
	p.FieldsAt = ts(at)
	return true
}

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

// decodeItem decodes an item read generically into its struct.
func decodeItem(it map[string]any, out any) error {
	av, err := attributevalue.MarshalMap(it)
	if err == nil {
		err = attributevalue.UnmarshalMap(av, out)
	}
	if err != nil {
		return fmt.Errorf("decode %v/%v: %w", it["PK"], it["SK"], err)
	}
	return nil
}

func applyOrderDelta(p *Profile, prev, next Order, existed bool, placed time.Time) {
	was := existed && prev.Counted
	switch {
	case next.Counted && !was:
		p.OrdersCount++
	case !next.Counted && was:
		p.OrdersCount--
	}
	p.TotalSpentCents += next.CountedCents - prev.CountedCents
	if next.Counted {
		at := ts(placed)
		if p.FirstOrderAt == "" || at < p.FirstOrderAt {
			p.FirstOrderAt = at
		}
		if at > p.LastOrderAt {
			p.LastOrderAt = at
		}
	}
	if !existed {
		bumpHour(p, placed)
		if p.Currency == "" {
			p.Currency = next.Currency
		}
	}
}

func bumpHour(p *Profile, at time.Time) {
	if len(p.Hours) != 24 {
		p.Hours = make([]int, 24)
	}
	p.Hours[at.UTC().Hour()]++
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

// RecordEvent stores an on-site or engagement event once (by event id) and
// updates the activity hours and the channel's last engagement.
func (s *Store) RecordEvent(ctx context.Context, tenant, cid string, e Event, at time.Time) (bool, error) {
	e.PK, e.SK, e.At = custPK(tenant, cid), skEvent+sortTS(at)+"#"+e.EventID, ts(at)
	applied := false
	_, _, err := s.mutate(ctx, tenant, cid, func(p *Profile) (bool, []store.TxOp, error) {
		var prev Event
		err := s.t.Get(ctx, store.Key{PK: e.PK, SK: e.SK}, &prev)
		if err == nil {
			return false, nil, nil // already recorded
		}
		if apperr.KindOf(err) != apperr.NotFound {
			return false, nil, err
		}
		bumpHour(p, at)
		if e.Channel != "" && engaged(e.Type) {
			if p.LastEngagement == nil {
				p.LastEngagement = map[string]string{}
			}
			if ts(at) > p.LastEngagement[e.Channel] {
				p.LastEngagement[e.Channel] = ts(at)
			}
		}
		applied = true
		return true, []store.TxOp{s.t.TxPut(e, store.IfAbsent())}, nil
	})
	if err != nil {
		return false, fmt.Errorf("profile.RecordEvent %s/%s: %w", cid, e.EventID, err)
	}
	return applied, nil
}

// engaged: event types that show the customer acted (not mere deliveries).
func engaged(t string) bool {
	for _, s := range []string{".open", ".click", ".inbound", ".reply"} {
		if strings.HasSuffix(t, s) {
			return true
		}
	}
	return !strings.Contains(t, ".") // on-site events (page_view, add_to_cart, …)
}

// consentSkew is how far ahead of this clock a consent statement may be dated.
const consentSkew = 5 * time.Minute

// SetConsent records a channel's consent state as of provider time at. An
// older statement never overwrites a newer one. changed reports a new state.
func (s *Store) SetConsent(ctx context.Context, tenant, cid string, c Consent, at time.Time) (changed bool, err error) {
	stated, now := ts(at), s.now()
	future := at.After(now.Add(consentSkew))
	if future {
		// A statement dated ahead of our clock (a provider's clock error)
		// counts as of now, or it would outrank every real one after it.
		at = now
	}
	c.PK, c.SK, c.UpdatedAt = custPK(tenant, cid), skConsent+c.Channel, ts(at)
	for range attempts {
		var prev Consent
		err := s.t.Get(ctx, store.Key{PK: c.PK, SK: c.SK}, &prev)
		exists := err == nil
		if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return false, fmt.Errorf("profile.SetConsent %s: %w", cid, err)
		}
		if exists && (c.UpdatedAt <= prev.UpdatedAt || future && prev.FutureStated == stated) {
			return false, nil // older, or the same future-dated statement again
		}
		c.FutureStated = prev.FutureStated
		if future {
			c.FutureStated = stated
		}
		cond := store.IfAbsent()
		if exists {
			cond = store.If(expression.Name("providerAt").Equal(expression.Value(prev.UpdatedAt)))
		}
		err = s.t.Put(ctx, c, cond)
		if err == nil {
			return !exists || prev.State != c.State, nil
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return false, fmt.Errorf("profile.SetConsent %s: %w", cid, err)
		}
	}
	return false, apperr.E(apperr.Transient, "consent of %s is busy; retry", cid)
}

// Consents returns a customer's consent per channel.
func (s *Store) Consents(ctx context.Context, tenant, cid string) ([]Consent, error) {
	return store.QueryAll[Consent](ctx, s.t, store.Query{PK: custPK(tenant, cid), SKPrefix: skConsent, Consistent: true}, 0)
}

// ConsentChannels are the channels whose consent the customer detail shows.
var ConsentChannels = []string{"email", "sms", "whatsapp", "push"}

// ChannelConsent is the current consent on one channel, as the API shows it.
type ChannelConsent struct {
	Channel   string `json:"channel"`
	State     string `json:"state"`               // not_subscribed when nothing was ever recorded
	UpdatedAt string `json:"updatedAt,omitempty"` // provider time of the last change
	Source    string `json:"source,omitempty"`    // the source that reported it (shopify, twilio, ...)
}

// ConsentByChannel returns the customer's current consent on each of
// ConsentChannels, in that order. A channel never recorded is
// not_subscribed: marketing needs an explicit opt-in.
func (s *Store) ConsentByChannel(ctx context.Context, tenant, cid string) ([]ChannelConsent, error) {
	cs, err := s.Consents(ctx, tenant, cid)
	if err != nil {
		return nil, fmt.Errorf("profile.ConsentByChannel %s: %w", cid, err)
	}
	out := make([]ChannelConsent, 0, len(ConsentChannels))
	for _, ch := range ConsentChannels {
		cc := ChannelConsent{Channel: ch, State: NotSubscribed}
		for _, c := range cs {
			if c.Channel == ch {
				cc.State, cc.UpdatedAt, cc.Source = c.State, c.UpdatedAt, c.Source
			}
		}
		out = append(out, cc)
	}
	return out, nil
}

// Merge folds profile merged into survivor: the merged partition's items
// move into the survivor's, its identity-index entries point at the
// survivor, the aggregates add up, and a MERGE record keeps what Unmerge
// needs. Safe to repeat after a crash.
func (s *Store) Merge(ctx context.Context, tenant, survivor, merged, reason string) error {
	m, err := s.profile(ctx, tenant, merged)
	if err != nil {
		return fmt.Errorf("profile.Merge: %w", err)
	}
	if m.MergedInto != "" {
		return nil // done before
	}
	items, err := store.QueryAll[map[string]any](ctx, s.t, store.Query{PK: custPK(tenant, merged), Consistent: true}, 0)
	if err != nil {
		return fmt.Errorf("profile.Merge: read %s: %w", merged, err)
	}
	var moved []any
	var movedKeys []string
	for _, it := range items {
		sk, _ := it["SK"].(string)
		if sk == skProfile || strings.HasPrefix(sk, skMerge) {
			continue
		}
		it["PK"] = custPK(tenant, survivor)
		if sk2, ok := it["customerId"]; ok && sk2 != nil {
			it["customerId"] = survivor
		}
		moved = append(moved, it)
		movedKeys = append(movedKeys, sk)
	}
	if err := s.t.BatchPut(ctx, moved); err != nil {
		return fmt.Errorf("profile.Merge: copy items: %w", err)
	}
	snapshot, _ := json.Marshal(m)
	at := s.now()
	rec := MergeRecord{PK: custPK(tenant, survivor), SK: skMerge + sortTS(at) + "#" + merged, SurvivorID: survivor, MergedID: merged,
		At: ts(at), Reason: reason, MovedKeys: movedKeys, IndexKeys: m.IndexKeys, MergedState: snapshot}
	_, _, err = s.mutate(ctx, tenant, survivor, func(p *Profile) (bool, []store.TxOp, error) {
		foldInto(p, m)
		ops := []store.TxOp{s.t.TxPut(rec)}
		for _, k := range m.IndexKeys {
			ops = append(ops, s.t.TxUpdate(store.Key{PK: k, SK: skIndex}, expression.Set(expression.Name("customerId"), expression.Value(survivor))))
		}
		mm := m
		mm.MergedInto, mm.GSI1PK, mm.GSI1SK, mm.IndexKeys = survivor, "", "", nil
		mm.Version, mm.UpdatedAt = m.Version+1, ts(at)
		ops = append(ops, s.t.TxPut(mm, versionIs(m.Version)))
		return true, ops, nil
	})
	if err != nil {
		return fmt.Errorf("profile.Merge %s into %s: %w", merged, survivor, err)
	}
	for _, sk := range movedKeys {
		if err := s.t.Delete(ctx, store.Key{PK: custPK(tenant, merged), SK: sk}); err != nil {
			return fmt.Errorf("profile.Merge: clean %s: %w", merged, err)
		}
	}
	return nil
}

func foldInto(p *Profile, m Profile) {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&p.Email, m.Email)
	fill(&p.Phone, m.Phone)
	fill(&p.FirstName, m.FirstName)
	fill(&p.LastName, m.LastName)
	fill(&p.Address, m.Address)
	fill(&p.ShopifyID, m.ShopifyID)
	fill(&p.Currency, m.Currency)
	p.Anonymous = p.Anonymous && m.Anonymous
	p.OrdersCount += m.OrdersCount
	p.TotalSpentCents += m.TotalSpentCents
	if m.FirstOrderAt != "" && (p.FirstOrderAt == "" || m.FirstOrderAt < p.FirstOrderAt) {
		p.FirstOrderAt = m.FirstOrderAt
	}
	p.LastOrderAt = max(p.LastOrderAt, m.LastOrderAt)
	if len(m.Hours) == 24 {
		if len(p.Hours) != 24 {
			p.Hours = make([]int, 24)
		}
		for i, c := range m.Hours {
			p.Hours[i] += c
		}
	}
	for ch, at := range m.LastEngagement {
		if p.LastEngagement == nil {
			p.LastEngagement = map[string]string{}
		}
		p.LastEngagement[ch] = max(p.LastEngagement[ch], at)
	}
	for _, k := range m.IndexKeys {
		if !slices.Contains(p.IndexKeys, k) {
			p.IndexKeys = append(p.IndexKeys, k)
		}
	}
}

// Unmerge reverses the merge recorded at survivor's MERGE item mergeSK: the
// merged profile comes back as it was (plus nothing learned since), its
// moved items return, its index entries point at it again, and the
// survivor's aggregates drop its share.
func (s *Store) Unmerge(ctx context.Context, tenant, survivor, mergeSK string) error {
	var rec MergeRecord
	if err := s.t.Get(ctx, store.Key{PK: custPK(tenant, survivor), SK: mergeSK}, &rec); err != nil {
		return fmt.Errorf("profile.Unmerge: %w", err)
	}
	if rec.Undone {
		return nil
	}
	var m Profile
	if err := json.Unmarshal(rec.MergedState, &m); err != nil {
		return fmt.Errorf("profile.Unmerge: snapshot: %w", err)
	}
	for _, sk := range rec.MovedKeys {
		var it map[string]any
		if err := s.t.Get(ctx, store.Key{PK: custPK(tenant, survivor), SK: sk}, &it); err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				continue
			}
			return fmt.Errorf("profile.Unmerge: %w", err)
		}
		it["PK"] = custPK(tenant, m.ID)
		if _, ok := it["customerId"]; ok {
			it["customerId"] = m.ID
		}
		if err := s.t.Put(ctx, it); err != nil {
			return fmt.Errorf("profile.Unmerge: %w", err)
		}
		if err := s.t.Delete(ctx, store.Key{PK: custPK(tenant, survivor), SK: sk}); err != nil {
			return fmt.Errorf("profile.Unmerge: %w", err)
		}
	}
	_, _, err := s.mutate(ctx, tenant, survivor, func(p *Profile) (bool, []store.TxOp, error) {
		// Read again on every attempt: a concurrent undo of the same
		// merge may have committed meanwhile, and must not subtract twice.
		var latest MergeRecord
		if err := s.t.Get(ctx, store.Key{PK: rec.PK, SK: rec.SK}, &latest); err != nil {
			return false, nil, err
		}
		if latest.Undone {
			return false, nil, nil
		}
		cur, err := s.profile(ctx, tenant, m.ID)
		if err != nil {
			return false, nil, err
		}
		p.OrdersCount -= m.OrdersCount
		p.TotalSpentCents -= m.TotalSpentCents
		if len(m.Hours) == 24 && len(p.Hours) == 24 {
			for i, c := range m.Hours {
				p.Hours[i] = max(p.Hours[i]-c, 0)
			}
		}
		p.IndexKeys = slices.DeleteFunc(p.IndexKeys, func(k string) bool { return slices.Contains(rec.IndexKeys, k) })
		notUndone := store.If(expression.AttributeNotExists(expression.Name("undone")).Or(expression.Name("undone").Equal(expression.Value(false))))
		ops := []store.TxOp{s.t.TxUpdate(store.Key{PK: rec.PK, SK: rec.SK}, expression.Set(expression.Name("undone"), expression.Value(true)), notUndone)}
		for _, k := range rec.IndexKeys {
			ops = append(ops, s.t.TxUpdate(store.Key{PK: k, SK: skIndex}, expression.Set(expression.Name("customerId"), expression.Value(m.ID))))
		}
		restored := m
		restored.Version, restored.UpdatedAt = cur.Version+1, ts(s.now())
		ops = append(ops, s.t.TxPut(restored, versionIs(cur.Version)))
		return true, ops, nil
	})
	if err != nil {
		return fmt.Errorf("profile.Unmerge %s from %s: %w", m.ID, survivor, err)
	}
	return nil
}

// Merges lists the merge records of a survivor, newest first.
func (s *Store) Merges(ctx context.Context, tenant, survivor string) ([]MergeRecord, error) {
	return store.QueryAll[MergeRecord](ctx, s.t, store.Query{PK: custPK(tenant, survivor), SKPrefix: skMerge, Desc: true, Consistent: true}, 0)
}
