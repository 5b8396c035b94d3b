package ingestfn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/meta"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/queue"
)

// sweepEvery bounds how often one instance looks for abandoned checkouts.
const sweepEvery = time.Minute

// NewFunction builds the ingest function (lambdafn.Constructor): an SQS
// consumer reporting partial batch failures, dead-lettering poison messages
// with the reason.
func NewFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	tbl := d.Table()
	cipher, err := pii.Open(ctx, d.AWS, d.Config.KMSKeyID, tbl)
	if err != nil {
		return nil, err
	}
	sys := catalog.System()
	profiles := profile.NewStore(tbl, cipher, time.Now)
	pub := bus.New(eventbridge.NewFromConfig(d.AWS), d.Config.BusName, sys.Bus.Source)
	auditLog := audit.New(tbl, time.Now, d.Logger)
	integrations := integration.NewStore(tbl, cipher, time.Now)
	comp := ingest.Compliance{Privacy: gdpr.New(tbl, cipher, auditLog, time.Now), Integrations: integrations, Audit: auditLog}
	capi := ingest.NewConversions(meta.NewOutbox(tbl), integrations, time.Minute, time.Now)
	p := ingest.NewProcessor(d.Logger, profiles, idem.New(tbl, time.Now), pub, comp, capi)
	q, _ := sys.Queue(catalog.QueueIngest)
	dlq := queue.NewDLQ(sqs.NewFromConfig(d.AWS), d.Config.QueueURL(q.DLQName()))
	sw := &sweeper{p: p, log: d.Logger, every: sweepEvery}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		// One handler, two triggers: SQS batches from the ingest queue and
		// an EventBridge schedule that drives the abandoned-checkout sweep,
		// so detection does not wait for incoming traffic.
		if ingest.IsScheduledEvent(raw) {
			return nil, p.SweepAll(ctx, time.Now())
		}
		var e events.SQSEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("ingest: event is neither an SQS batch nor a scheduled event: %w", err)
		}
		// One handler per invocation: its records' order claims are
		// completed together when the batch ends (also after a panic).
		b := &ingest.Batch{}
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

// sweeper runs the abandoned-checkout sweep after a batch, at most once per
// interval per instance; a failure is logged and retried next time.
type sweeper struct {
	p     *ingest.Processor
	log   *slog.Logger
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
		s.log.WarnContext(ctx, "abandoned checkout sweep failed", "err", err)
	}
}
