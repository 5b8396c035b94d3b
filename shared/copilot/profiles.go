package copilot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/profile"
)

// Profiles answers the customer tools from the profiles' own aggregates
// (orders count, total spent, last order, activity hours, last engagement
// per channel), reading every listed profile of the tenant once per call.
type Profiles struct {
	s *profile.Store
}

// NewProfiles returns the customer data source over s.
func NewProfiles(s *profile.Store) *Profiles { return &Profiles{s: s} }

// CustomerSummary is one customer as the tools show it: the name is
// customer-supplied text, quoted as data.
type CustomerSummary struct {
	ID          string  `json:"id"`
	Name        Text    `json:"name"`
	OrdersCount int     `json:"ordersCount"`
	TotalSpent  float64 `json:"totalSpent"`
	LastOrderAt string  `json:"lastOrderAt,omitempty"`
	Currency    string  `json:"currency,omitempty"`
}

// Top returns the n best customers by total spent ("spend") or by number of
// orders ("orders"), ties broken by id.
func (p *Profiles) Top(ctx context.Context, tenant string, n int, by string) ([]CustomerSummary, error) {
	var all []profile.Profile
	err := p.s.EachProfile(ctx, tenant, func(pr profile.Profile) error {
		if pr.OrdersCount > 0 {
			all = append(all, pr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b profile.Profile) int {
		if by == "orders" {
			if c := cmp.Compare(b.OrdersCount, a.OrdersCount); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(b.TotalSpentCents, a.TotalSpentCents); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return p.summaries(ctx, tenant, all[:min(n, len(all))])
}

// AtRiskRule says, in words, which customers count as at risk.
const AtRiskRule = "customers with 2 or more orders whose last order is more than 60 days ago and more than twice their usual time between orders"

// AtRisk is the at-risk customers: how many, their spend, and the n who
// spent most.
type AtRisk struct {
	Rule       string            `json:"rule"`
	Count      int               `json:"count"`
	TotalSpent float64           `json:"totalSpent"`
	Customers  []CustomerSummary `json:"customers"`
}

// AtRisk finds the customers of AtRiskRule at now.
func (p *Profiles) AtRisk(ctx context.Context, tenant string, n int, now time.Time) (AtRisk, error) {
	var risky []profile.Profile
	var spent int64
	err := p.s.EachProfile(ctx, tenant, func(pr profile.Profile) error {
		if atRisk(pr, now) {
			risky = append(risky, pr)
			spent += pr.TotalSpentCents
		}
		return nil
	})
	if err != nil {
		return AtRisk{}, err
	}
	slices.SortFunc(risky, func(a, b profile.Profile) int {
		if c := cmp.Compare(b.TotalSpentCents, a.TotalSpentCents); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	top, err := p.summaries(ctx, tenant, risky[:min(n, len(risky))])
	if err != nil {
		return AtRisk{}, err
	}
	return AtRisk{Rule: AtRiskRule, Count: len(risky), TotalSpent: cents(spent), Customers: top}, nil
}

// atRisk applies AtRiskRule.
func atRisk(pr profile.Profile, now time.Time) bool {
	if pr.OrdersCount < 2 || pr.FirstOrderAt == "" || pr.LastOrderAt == "" {
		return false
	}
	first, err1 := time.Parse(time.RFC3339Nano, pr.FirstOrderAt)
	last, err2 := time.Parse(time.RFC3339Nano, pr.LastOrderAt)
	if err1 != nil || err2 != nil {
		return false
	}
	gap := last.Sub(first) / time.Duration(pr.OrdersCount-1)
	since := now.Sub(last)
	return since > 60*24*time.Hour && since > 2*gap
}

// Engagement is where and when the tenant's customers respond.
type Engagement struct {
	// Channels counts customers by the channel they engaged with last.
	Channels    map[string]int `json:"channels"`
	BestChannel string         `json:"bestChannel,omitempty"`
	// BestHourUTC is the hour of day (UTC) with the most customer activity
	// (orders, visits, opens, clicks), and HourShare its share of it.
	BestHourUTC int     `json:"bestHourUtc"`
	HourShare   float64 `json:"hourShare"`
	Customers   int     `json:"customers"` // customers with any recorded activity
}

// Engagement sums the profiles' activity hours and last engagements.
func (p *Profiles) Engagement(ctx context.Context, tenant string) (Engagement, error) {
	e := Engagement{Channels: map[string]int{}}
	var hours [24]int
	err := p.s.EachProfile(ctx, tenant, func(pr profile.Profile) error {
		active := false
		for h, n := range pr.Hours {
			if h < 24 && n > 0 {
				hours[h] += n
				active = true
			}
		}
		latest, ch := "", ""
		for c, at := range pr.LastEngagement {
			if at > latest || (at == latest && c < ch) {
				latest, ch = at, c
			}
		}
		if ch != "" {
			e.Channels[ch]++
			active = true
		}
		if active {
			e.Customers++
		}
		return nil
	})
	if err != nil {
		return Engagement{}, err
	}
	total := 0
	for h, n := range hours {
		total += n
		if n > hours[e.BestHourUTC] {
			e.BestHourUTC = h
		}
	}
	if total > 0 {
		e.HourShare = float64(hours[e.BestHourUTC]) / float64(total)
	}
	for c, n := range e.Channels {
		if b := e.Channels[e.BestChannel]; n > b || (n == b && c < e.BestChannel) {
			e.BestChannel = c
		}
	}
	return e, nil
}

// Sales adds up the orders placed in [from, to), per customer partition
// (the customers whose last order is not before from), counted as the
// profile counts them: net of refunds, cancelled orders left out.
func (p *Profiles) Sales(ctx context.Context, tenant string, from, to time.Time) (Figures, error) {
	var ids []string
	currency := ""
	err := p.s.EachProfile(ctx, tenant, func(pr profile.Profile) error {
		if last, err := time.Parse(time.RFC3339Nano, pr.LastOrderAt); err == nil && !last.Before(from) {
			ids = append(ids, pr.ID)
		}
		if currency == "" {
			currency = pr.Currency
		}
		return nil
	})
	if err != nil {
		return Figures{}, err
	}
	var (
		mu      sync.Mutex
		f       = Figures{Currency: currency}
		revenue int64
		errs    = make([]error, len(ids))
		sem     = make(chan struct{}, 16)
		wg      sync.WaitGroup
	)
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			orders, err := p.s.OrdersPlaced(ctx, tenant, id, from, to)
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			counted := false
			for _, o := range orders {
				if !o.Counted { // cancelled: as in the profile's totals
					continue
				}
				revenue += o.CountedCents
				f.Orders++
				counted = true
			}
			if counted {
				f.Customers++
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Figures{}, fmt.Errorf("copilot.Sales: %w", err)
		}
	}
	f.Revenue = cents(revenue)
	return f, nil
}

// summaries opens the names of a few profiles.
func (p *Profiles) summaries(ctx context.Context, tenant string, prs []profile.Profile) ([]CustomerSummary, error) {
	out := make([]CustomerSummary, 0, len(prs))
	for _, pr := range prs {
		c, err := p.s.View(ctx, tenant, pr)
		if err != nil {
			return nil, fmt.Errorf("copilot: customer %s: %w", pr.ID, err)
		}
		name := c.FirstName
		if c.LastName != "" {
			name += " " + c.LastName
		}
		if name == "" {
			name = "(no name)"
		}
		out = append(out, CustomerSummary{
			ID: pr.ID, Name: Text(name), OrdersCount: pr.OrdersCount, TotalSpent: cents(pr.TotalSpentCents),
			LastOrderAt: pr.LastOrderAt, Currency: pr.Currency,
		})
	}
	return out, nil
}

func cents(c int64) float64 { return float64(c) / 100 }
