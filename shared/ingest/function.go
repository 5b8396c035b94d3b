package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/batch"
	"github.com/pulsehub/pulsehub/shared/bus"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/gdpr"
	"github.com/pulsehub/pulsehub/shared/idem"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/meta"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/queue"
	"github.com/pulsehub/pulsehub/shared/store"
)

// sweepEvery bounds how often one instance looks for abandoned checkouts.
const sweepEvery = time.Minute

// NewFunction builds the ingest function (lambdafn.Constructor): an SQS
// consumer reporting partial batch failures, dead-lettering poison messages
// with the reason.
func NewFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	tbl := store.Open(d)
	cipher, err := pii.Open(ctx, d, tbl)
	if err != nil {
		return nil, err
	}
	sys := catalog.System()
	profiles := profile.NewStore(tbl, cipher, time.Now)
	pub := bus.New(eventbridge.NewFromConfig(d.AWS), d.Config.BusName, sys.Bus.Source)
	auditLog := audit.New(tbl, time.Now, d.Logger)
	integrations := integration.NewStore(tbl, cipher, time.Now)
	comp := Compliance{Privacy: gdpr.New(tbl, cipher, auditLog, time.Now), Integrations: integrations, Audit: auditLog}
	capi := NewConversions(meta.NewOutbox(tbl), integrations, time.Minute, time.Now)
	p := NewProcessor(d.Logger, profiles, idem.New(tbl, time.Now), pub, comp, capi)
	q, _ := sys.Queue(catalog.QueueIngest)
	dlq := queue.NewDLQ(sqs.NewFromConfig(d.AWS), d.Config.QueueURL(q.DLQName()))
	sw := &sweeper{p: p, every: sweepEvery}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		// One handler, two triggers: SQS batches from the ingest queue and
		// an EventBridge schedule that drives the abandoned-checkout sweep,
		// so detection does not wait for incoming traffic.
		if IsScheduledEvent(raw) {
			return nil, p.SweepAll(ctx, time.Now())
		}
		var e events.SQSEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("ingest: event is neither an SQS batch nor a scheduled event: %w", err)
		}
		// One handler per invocation: its records' order claims are
		// completed together when the batch ends (also after a panic).
		b := &Batch{}
		bp := p.InBatch(b)
		h := batch.Handler(d.Logger, dlq, func(ctx context.Context, m events.SQSMessage) error {
			return bp.Process(ctx, []byte(m.Body))
		}, batch.Concurrency(10))
		res, err := func() (events.SQSEventResponse, error) {
			defer p.Complete(ctx, b)
			return h(ctx, e)
		}()
		sw.maybe(ctx, time.Now())
		return res, err
	}, nil
}

// IsScheduledEvent reports whether raw is an EventBridge scheduled event
// (detail-type "Scheduled Event", source "aws.events").
func IsScheduledEvent(raw []byte) bool {
	var ev struct {
		DetailType string `json:"detail-type"`
		Source     string `json:"source"`
	}
	return json.Unmarshal(raw, &ev) == nil && ev.DetailType == "Scheduled Event" && ev.Source == "aws.events"
}

// sweeper runs the abandoned-checkout sweep after a batch, at most once per
// interval per instance; a failure is logged and retried next time.
type sweeper struct {
	p     *Processor
	every time.Duration
	mu    sync.Mutex
	last  time.Time
}

func (s *sweeper) maybe(ctx context.Context, now time.Time) {
	s.mu.Lock()
	if now.Sub(s.last) < s.every {
		s.mu.Unlock()
		return
	}
	s.last = now
	s.mu.Unlock()
	if err := s.p.SweepAbandoned(ctx, now); err != nil {
		s.p.log.WarnContext(ctx, "abandoned checkout sweep failed", "err", err)
	}
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
