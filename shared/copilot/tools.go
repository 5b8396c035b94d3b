package copilot

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/auth"
)

// Figures are a shop's sales in a period.
type Figures struct {
	Revenue   float64 `json:"revenue"`
	Orders    int     `json:"orders"`
	Customers int     `json:"customers"` // distinct buyers
	Currency  string  `json:"currency,omitempty"`
}

// AverageOrderValue is revenue per order (0 without orders).
func (f Figures) AverageOrderValue() float64 {
	if f.Orders == 0 {
		return 0
	}
	return round2(f.Revenue / float64(f.Orders))
}

// Sales reads a tenant's sales for [from, to).
type Sales interface {
	Sales(ctx context.Context, tenant string, from, to time.Time) (Figures, error)
}

// Customers ranks and summarises a tenant's customers.
type Customers interface {
	Top(ctx context.Context, tenant string, n int, by string) ([]CustomerSummary, error)
	AtRisk(ctx context.Context, tenant string, n int, now time.Time) (AtRisk, error)
	Engagement(ctx context.Context, tenant string) (Engagement, error)
}

// SegmentSummary is one segment as the tools show it.
type SegmentSummary struct {
	ID   string `json:"id"`
	Name Text   `json:"name"` // written by the shop's staff: quoted as data
	Kind string `json:"kind"` // rfm | rule | cluster
	Size int64  `json:"size"`
}

// Segments lists a tenant's segments with their sizes.
type Segments interface {
	List(ctx context.Context, tenant string) ([]SegmentSummary, error)
}

// SegmentList is list_segments' answer, largest first.
type SegmentList struct {
	Segments []SegmentSummary `json:"segments"`
}

// Writer writes checked campaign copy (Copilot.Suggest).
type Writer interface {
	Suggest(ctx context.Context, c Caller, req SuggestRequest) (Suggestions, error)
}

// Sources are the data the tools read. A nil source leaves its tools out.
type Sources struct {
	Sales     Sales
	Customers Customers
	Segments  Segments
	Writer    Writer
	Now       func() time.Time
}

// Tool names, shared by the model path and the offline engine.
const (
	ToolOverview     = "get_overview"
	ToolTopCustomers = "top_customers"
	ToolAtRisk       = "at_risk_customers"
	ToolEngagement   = "best_channel_and_time"
	ToolWriteCopy    = "write_copy"
	ToolSegments     = "list_segments"
)

// OverviewInput selects the period of get_overview.
type OverviewInput struct {
	From string `json:"from" description:"first day of the period, YYYY-MM-DD (UTC)"`
	To   string `json:"to" description:"last day of the period, YYYY-MM-DD (UTC), included"`
}

// Validate checks the dates.
func (in OverviewInput) Validate() error { _, err := ParseDays(in.From, in.To); return err }

// Overview is get_overview's answer: the period's figures and the same
// figures for the period of equal length before it.
type Overview struct {
	From              string  `json:"from"`
	To                string  `json:"to"`
	Revenue           float64 `json:"revenue"`
	Orders            int     `json:"orders"`
	AverageOrderValue float64 `json:"averageOrderValue"`
	Customers         int     `json:"customers"`
	Currency          string  `json:"currency,omitempty"`
	Previous          Figures `json:"previous"`
}

// LimitInput bounds a list.
type LimitInput struct {
	Limit int `json:"limit,omitempty" description:"how many customers to list, 1 to 25 (default 10)"`
}

// Validate checks the limit.
func (in LimitInput) Validate() error { return checkLimit(in.Limit) }

func checkLimit(n int) error {
	if n < 0 || n > 25 {
		return &apperr.Error{Kind: apperr.Invalid, Field: "limit", Message: "limit must be between 1 and 25"}
	}
	return nil
}

// orDefault is a list's length: n, or 10 when unset.
func orDefault(n int) int {
	if n == 0 {
		return 10
	}
	return n
}

// TopInput selects top_customers. (Fields are spelled out, not embedded:
// the schema generator does not flatten embedded structs.)
type TopInput struct {
	Limit int    `json:"limit,omitempty" description:"how many customers to list, 1 to 25 (default 10)"`
	By    string `json:"by,omitempty" enum:"spend,orders" description:"rank by total spent (spend, the default) or by number of orders"`
}

// Validate checks the limit and ranking.
func (in TopInput) Validate() error {
	if in.By != "" && in.By != "spend" && in.By != "orders" {
		return &apperr.Error{Kind: apperr.Invalid, Field: "by", Message: "by must be spend or orders"}
	}
	return checkLimit(in.Limit)
}

// TopCustomers is top_customers' answer.
type TopCustomers struct {
	By        string            `json:"by"`
	Customers []CustomerSummary `json:"customers"`
}

// Tools builds the tools over src.
func Tools(src Sources) []Tool {
	if src.Now == nil {
		src.Now = time.Now
	}
	var tools []Tool
	if src.Sales != nil {
		tools = append(tools, NewTool(ToolOverview,
			"Revenue, orders, average order value and distinct customers for a period of whole UTC days, with the same figures for the period of equal length before it.",
			auth.ReportsRead, func(ctx context.Context, c Caller, in OverviewInput) (Overview, error) {
				p, _ := ParseDays(in.From, in.To)
				cur, err := src.Sales.Sales(ctx, c.TenantID, p.From, p.To)
				if err != nil {
					return Overview{}, err
				}
				prev := p.Previous()
				before, err := src.Sales.Sales(ctx, c.TenantID, prev.From, prev.To)
				if err != nil {
					return Overview{}, err
				}
				return Overview{
					From: in.From, To: in.To, Revenue: round2(cur.Revenue), Orders: cur.Orders,
					AverageOrderValue: cur.AverageOrderValue(), Customers: cur.Customers, Currency: cur.Currency,
					Previous: before,
				}, nil
			}))
	}
	if src.Customers != nil {
		tools = append(tools,
			NewTool(ToolTopCustomers, "The best customers by total spent or by number of orders.",
				auth.CustomersRead, func(ctx context.Context, c Caller, in TopInput) (TopCustomers, error) {
					by := in.By
					if by == "" {
						by = "spend"
					}
					list, err := src.Customers.Top(ctx, c.TenantID, orDefault(in.Limit), by)
					return TopCustomers{By: by, Customers: list}, err
				}),
			NewTool(ToolAtRisk, "Customers at risk of churning: how many, what they have spent, and those who spent most.",
				auth.CustomersRead, func(ctx context.Context, c Caller, in LimitInput) (AtRisk, error) {
					return src.Customers.AtRisk(ctx, c.TenantID, orDefault(in.Limit), src.Now())
				}),
			NewTool(ToolEngagement, "The channel customers engage with most and the hour of day (UTC) when they are most active: the best channel and send time.",
				auth.CustomersRead, func(ctx context.Context, c Caller, _ struct{}) (Engagement, error) {
					return src.Customers.Engagement(ctx, c.TenantID)
				}),
		)
	}
	if src.Segments != nil {
		tools = append(tools, NewTool(ToolSegments, "The workspace's segments (RFM, rule and cluster) with how many customers each holds, largest first.",
			auth.SegmentsRead, func(ctx context.Context, c Caller, _ struct{}) (SegmentList, error) {
				list, err := src.Segments.List(ctx, c.TenantID)
				if err != nil {
					return SegmentList{}, err
				}
				slices.SortStableFunc(list, func(a, b SegmentSummary) int { return cmp.Compare(b.Size, a.Size) })
				return SegmentList{Segments: list[:min(len(list), 50)]}, nil
			}))
	}
	if src.Writer != nil {
		tools = append(tools, NewTool(ToolWriteCopy,
			"Write campaign copy for a channel (email subject and body, SMS, push title and body, WhatsApp) from a brief, each variant checked: length, SMS encoding, spam-trigger words, Liquid variables. Nothing is saved or sent.",
			auth.CampaignsWrite, func(ctx context.Context, c Caller, in SuggestRequest) (Suggestions, error) {
				return src.Writer.Suggest(ctx, c, in)
			}))
	}
	return tools
}

func round2(v float64) float64 {
	if v < 0 {
		return -round2(-v)
	}
	return float64(int64(v*100+0.5)) / 100
}
