package profile

import (
	"slices"
	"strings"
	"time"
)

// The rules of how a profile changes, apart from how it is stored: which
// payload's fields win, how an order moves the aggregates, which profile
// survives a merge and what folding one into another (and undoing it) does.
// They are pure functions of profiles, tested without a table.

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

// survivorOf picks which of the profiles of one person survives their
// merge: the first with a Shopify customer id, else a known person over an
// anonymous visitor, then the oldest.
func survivorOf(ps []Profile) string {
	var best *Profile
	for i := range ps {
		p := &ps[i]
		if p.ShopifyID != "" {
			return p.ID
		}
		if best == nil || (best.Anonymous && !p.Anonymous) || (best.Anonymous == p.Anonymous && p.CreatedAt < best.CreatedAt) {
			best = p
		}
	}
	if best == nil {
		return ""
	}
	return best.ID
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

// unfold takes a merged profile m's share out of the survivor p again (the
// reverse of foldInto for what can be reversed): its orders, spend, order
// hours and the identity-index keys it brought. Fields filled from m stay:
// the survivor may have learned them since.
func unfold(p *Profile, m Profile, indexKeys []string) {
	p.OrdersCount -= m.OrdersCount
	p.TotalSpentCents -= m.TotalSpentCents
	if len(m.Hours) == 24 && len(p.Hours) == 24 {
		for i, c := range m.Hours {
			p.Hours[i] = max(p.Hours[i]-c, 0)
		}
	}
	p.IndexKeys = slices.DeleteFunc(p.IndexKeys, func(k string) bool { return slices.Contains(indexKeys, k) })
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
