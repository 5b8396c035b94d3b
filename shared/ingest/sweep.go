package ingest

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// IsScheduledEvent reports whether raw is an EventBridge scheduled event
// (detail-type "Scheduled Event", source "aws.events").
func IsScheduledEvent(raw []byte) bool {
	var ev struct {
		DetailType string `json:"detail-type"`
		Source     string `json:"source"`
	}
	return json.Unmarshal(raw, &ev) == nil && ev.DetailType == "Scheduled Event" && ev.Source == "aws.events"
}

// sweepPage is how many due checkouts one SweepAbandoned call handles.
const sweepPage = 100

// SweepAll runs SweepAbandoned until no due checkout is left (or ctx ends).
// Schedules call it; it is safe to run from several places at once.
func (p *Processor) SweepAll(ctx context.Context, now time.Time) error {
	for ctx.Err() == nil {
		n, err := p.sweep(ctx, now)
		if err != nil || n < sweepPage {
			return err
		}
	}
	return ctx.Err()
}

// SweepAbandoned marks checkouts open for profile.AbandonAfter as abandoned
// and publishes checkout.abandoned for each.
func (p *Processor) SweepAbandoned(ctx context.Context, now time.Time) error {
	_, err := p.sweep(ctx, now)
	return err
}

// sweep handles one page and says how many due checkouts it found.
func (p *Processor) sweep(ctx context.Context, now time.Time) (int, error) {
	done, seen, err := p.profiles.AbandonDue(ctx, now, sweepPage)
	for _, c := range done {
		perr := p.publish(ctx, c.Tenant, catalog.EventCheckoutAbandoned, "checkout#"+c.Token, map[string]any{
			"customerId": c.CustomerID, "token": c.Token, "total": float64(c.TotalCents) / 100, "currency": c.Currency,
			"url": c.URL, "updatedAt": c.UpdatedAt})
		if perr != nil && err == nil {
			err = perr
		}
	}
	return seen, err
}
