package profile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Customer is a profile as the API shows it (schema Customer in
// docs/api/openapi.yaml), personal fields opened.
type Customer struct {
	ID                string            `json:"id"`
	Email             string            `json:"email"`
	Phone             string            `json:"phone"`
	FirstName         string            `json:"firstName"`
	LastName          string            `json:"lastName"`
	OrdersCount       int               `json:"ordersCount"`
	TotalSpent        float64           `json:"totalSpent"`
	LastOrderAt       *string           `json:"lastOrderAt"`
	Segments          []string          `json:"segments"`
	FirstOrderAt      *string           `json:"firstOrderAt"`
	AverageOrderValue float64           `json:"averageOrderValue"`
	Currency          string            `json:"currency,omitempty"`
	ShopifyID         string            `json:"shopifyId,omitempty"`
	Anonymous         bool              `json:"anonymous"`
	LastEngagement    map[string]string `json:"lastEngagement"`
	PreferredHours    []int             `json:"preferredHours"`
	CreatedAt         string            `json:"createdAt"`
	UpdatedAt         string            `json:"updatedAt"`
}

// View opens a profile's sealed fields for the API.
func (s *Store) View(ctx context.Context, tenant string, p Profile) (Customer, error) {
	c := Customer{
		ID: p.ID, OrdersCount: p.OrdersCount, TotalSpent: money(p.TotalSpentCents),
		AverageOrderValue: float64(int64(p.AverageOrderValue()*100+0.5)) / 100,
		Segments:          p.Segments, Currency: p.Currency, ShopifyID: p.ShopifyID, Anonymous: p.Anonymous,
		LastEngagement: p.LastEngagement, PreferredHours: p.PreferredHours(), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if c.Segments == nil {
		c.Segments = []string{}
	}
	if c.LastEngagement == nil {
		c.LastEngagement = map[string]string{}
	}
	if p.LastOrderAt != "" {
		c.LastOrderAt = &p.LastOrderAt
	}
	if p.FirstOrderAt != "" {
		c.FirstOrderAt = &p.FirstOrderAt
	}
	for _, f := range []struct {
		in  string
		out *string
	}{{p.Email, &c.Email}, {p.Phone, &c.Phone}, {p.FirstName, &c.FirstName}, {p.LastName, &c.LastName}} {
		v, err := s.pii.Open(ctx, tenant, f.in)
		if err != nil {
			return Customer{}, fmt.Errorf("profile.View %s: %w", p.ID, err)
		}
		*f.out = v
	}
	return c, nil
}

// TimelineEntry is one order, event, message or consent change.
type TimelineEntry struct {
	Kind string         `json:"kind"` // order | event | message | consent | merge
	At   string         `json:"at"`
	Data map[string]any `json:"data"`
}

// Timeline returns a customer's newest items (orders, events, messages,
// consent, merges), newest first, at most limit.
func (s *Store) Timeline(ctx context.Context, tenant, cid string, limit int) ([]TimelineEntry, error) {
	items, err := store.QueryAll[map[string]any](ctx, s.t, store.Query{PK: custPK(tenant, cid), Desc: true, Consistent: true}, 0)
	if err != nil {
		return nil, fmt.Errorf("profile.Timeline %s: %w", cid, err)
	}
	out := []TimelineEntry{}
	for _, it := range items {
		sk, _ := it["SK"].(string)
		kind, at := "", ""
		switch {
		case strings.HasPrefix(sk, skOrder):
			kind, at = "order", str(it["placedAt"])
		case strings.HasPrefix(sk, skEvent):
			kind, at = "event", str(it["at"])
		case strings.HasPrefix(sk, skMessage):
			kind, at = "message", strings.SplitN(strings.TrimPrefix(sk, skMessage), "#", 2)[0]
		case strings.HasPrefix(sk, skConsent):
			kind, at = "consent", str(it["providerAt"])
		case strings.HasPrefix(sk, skMerge):
			kind, at = "merge", str(it["at"])
			delete(it, "mergedState")
		case strings.HasPrefix(sk, skCheckout):
			kind, at = "checkout", str(it["providerUpdatedAt"])
		default:
			continue
		}
		for _, k := range []string{"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "ttl"} {
			delete(it, k)
		}
		out = append(out, TimelineEntry{Kind: kind, At: at, Data: it})
	}
	slices.SortStableFunc(out, func(a, b TimelineEntry) int { return strings.Compare(b.At, a.At) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func str(v any) string { s, _ := v.(string); return s }

// ListQuery selects customers for GET /v1/customers.
type ListQuery struct {
	Segment string // segment id: members from the segment's membership shards
	Q       string // an exact email or E.164 phone, matched by blind index
	Cursor  string
	Limit   int
}

// Lister pages through customers; its cursors are signed with the table's
// cursor secret.
type Lister struct {
	s *Store
	t *store.Table
}

// NewLister returns a Lister.
func NewLister(s *Store) *Lister {
	return &Lister{s: s, t: s.t}
}

// List returns one page of customers and the cursor of the next.
func (l *Lister) List(ctx context.Context, tenant string, q ListQuery) ([]Customer, string, error) {
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 50
	}
	if q.Q != "" {
		return l.search(ctx, tenant, q)
	}
	scope := "all"
	part := func(shard string) (store.Query, string) {
		return store.Query{Index: "GSI1", PK: listPK(tenant, shard)}, "GSI1SK"
	}
	if q.Segment != "" {
		scope = "seg:" + q.Segment
		part = func(shard string) (store.Query, string) {
			return store.Query{PK: "T#" + tenant + "#SEG#" + q.Segment + "#" + shard, Consistent: true}, "SK"
		}
	}
	pos := map[string]string{}
	if q.Cursor != "" {
		var err error
		if pos, err = l.t.OpenCursor(cursorScope(tenant, scope), q.Cursor); err != nil {
			return nil, "", err
		}
	}
	type hit struct{ shard, id, sortKey string }
	var (
		mu   sync.Mutex
		hits []hit
		wg   sync.WaitGroup
		errs = make([]error, Shards)
	)
	full := map[string]bool{}
	for i := range Shards {
		shard := fmt.Sprintf("%02x", i)
		last, seen := pos[shard]
		if seen && last == "" {
			continue // exhausted
		}
		wg.Go(func() {
			sq, skAttr := part(shard)
			sq.Limit = int32(q.Limit)
			if last != "" {
				sq.SKFrom = last + "\x00"
			}
			if q.Segment != "" && last == "" {
				sq.SKPrefix = "C#"
			}
			page, err := store.QueryPage[map[string]any](ctx, l.t, sq)
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			full[shard] = page.Next != ""
			for _, it := range page.Items {
				sk := str(it[skAttr])
				id := sk
				if q.Segment != "" {
					id = strings.TrimPrefix(sk, "C#")
				}
				hits = append(hits, hit{shard, id, sk})
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, "", fmt.Errorf("profile.List: %w", err)
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return strings.Compare(a.id, b.id) })
	take := hits[:min(len(hits), q.Limit)]
	next := map[string]string{}
	for k, v := range pos {
		next[k] = v
	}
	for _, h := range take {
		next[h.shard] = h.sortKey
	}
	// A shard is exhausted when everything it returned was taken and it had no more.
	taken := map[string]int{}
	for _, h := range take {
		taken[h.shard]++
	}
	returned := map[string]int{}
	for _, h := range hits {
		returned[h.shard]++
	}
	more := false
	for i := range Shards {
		shard := fmt.Sprintf("%02x", i)
		if last, seen := pos[shard]; seen && last == "" {
			continue
		}
		if taken[shard] == returned[shard] && !full[shard] {
			next[shard] = ""
			continue
		}
		more = true
	}
	ids := make([]string, len(take))
	for i, h := range take {
		ids[i] = h.id
	}
	items, err := l.load(ctx, tenant, ids)
	if err != nil {
		return nil, "", err
	}
	cursor := ""
	if more {
		if cursor, err = l.t.SignCursor(cursorScope(tenant, scope), next); err != nil {
			return nil, "", err
		}
	}
	return items, cursor, nil
}

func (l *Lister) load(ctx context.Context, tenant string, ids []string) ([]Customer, error) {
	keys := make([]store.Key, len(ids))
	for i, id := range ids {
		keys[i] = store.Key{PK: custPK(tenant, id), SK: skProfile}
	}
	profiles, err := store.BatchGet[Profile](ctx, l.t, keys)
	if err != nil {
		return nil, fmt.Errorf("profile.List: %w", err)
	}
	byID := map[string]Profile{}
	for _, p := range profiles {
		byID[p.ID] = p
	}
	out := make([]Customer, 0, len(ids))
	for _, id := range ids {
		p, ok := byID[id]
		if !ok || p.MergedInto != "" {
			continue
		}
		c, err := l.s.View(ctx, tenant, p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// search finds the customer with an exact email or phone. Names cannot be
// searched: they are stored sealed.
func (l *Lister) search(ctx context.Context, tenant string, q ListQuery) ([]Customer, string, error) {
	kind := KindEmail
	if !strings.Contains(q.Q, "@") {
		kind = KindPhone
	}
	h, err := l.s.pii.BlindIndex(ctx, tenant, kind, q.Q)
	if err != nil {
		if apperr.KindOf(err) == apperr.Invalid {
			return nil, "", &apperr.Error{Kind: apperr.Invalid, Field: "q", Message: "q must be an exact email address or an E.164 phone number (+ and country code); names cannot be searched because they are stored encrypted"}
		}
		return nil, "", fmt.Errorf("profile.search: %w", err)
	}
	var idx IndexItem
	err = l.t.Get(ctx, store.Key{PK: idxPK(tenant, kind, h), SK: skIndex}, &idx)
	if apperr.KindOf(err) == apperr.NotFound {
		return []Customer{}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("profile.search: %w", err)
	}
	p, err := l.s.Profile(ctx, tenant, idx.CustomerID)
	if err != nil {
		return nil, "", err
	}
	if q.Segment != "" && !slices.Contains(p.Segments, q.Segment) {
		return []Customer{}, "", nil
	}
	c, err := l.s.View(ctx, tenant, p)
	if err != nil {
		return nil, "", err
	}
	return []Customer{c}, "", nil
}

// A customer list cursor holds, per shard, the last sort key returned (""
// once the shard is exhausted), bound to the tenant and scope.
func cursorScope(tenant, scope string) string { return "customers\x00" + tenant + "\x00" + scope }
