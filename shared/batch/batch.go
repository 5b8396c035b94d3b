package batch

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// DLQ receives poison messages. shared/queue.DLQ implements it.
type DLQ interface {
	SendPoison(ctx context.Context, msg events.SQSMessage, reason string) error
}

// Option changes how Handler processes a batch.
type Option func(*options)

type options struct{ concurrency int }

// Concurrency processes up to n records at once (default 1: in order).
// Use it only where records are independent of each other's order.
func Concurrency(n int) Option {
	return func(o *options) { o.concurrency = max(n, 1) }
}

// maxReason bounds the reason attached to a dead-lettered message.
const maxReason = 1000

// Handler returns an SQS handler that runs process on every record.
//
// Per record: success → done; an error whose kind is retryable
// (apperr.Retryable) → reported in BatchItemFailures and redelivered; any
// other error, or a panic → sent to dlq with the reason and reported as
// done; if that send fails (or dlq is nil) → reported, so SQS's own redrive
// policy catches it. Records left when ctx ends are reported unprocessed.
// The batch as a whole never fails, and each failed record is logged once.
func Handler(log *slog.Logger, dlq DLQ, process func(ctx context.Context, msg events.SQSMessage) error, opts ...Option) func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
	o := options{concurrency: 1}
	for _, opt := range opts {
		opt(&o)
	}
	h := handler{log: log, dlq: dlq, process: process}
	return func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		failed := make([]bool, len(e.Records))
		if o.concurrency == 1 {
			for i, msg := range e.Records {
				failed[i] = !h.one(ctx, msg)
			}
		} else {
			sem := make(chan struct{}, o.concurrency)
			var wg sync.WaitGroup
			for i, msg := range e.Records {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					failed[i] = !h.one(ctx, msg)
				})
			}
			wg.Wait()
		}
		var resp events.SQSEventResponse
		for i, f := range failed {
			if f {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: e.Records[i].MessageId})
			}
		}
		return resp, nil
	}
}

type handler struct {
	log     *slog.Logger
	dlq     DLQ
	process func(context.Context, events.SQSMessage) error
}

// one handles one record and reports whether it is finished with (processed
// or dead-lettered), i.e. must not be redelivered.
func (h handler) one(ctx context.Context, msg events.SQSMessage) bool {
	if err := ctx.Err(); err != nil {
		h.log.WarnContext(ctx, "record not processed: invocation ending", "messageId", msg.MessageId, "err", err)
		return false
	}
	stack, err := h.safe(ctx, msg)
	if err == nil {
		return true
	}
	kind := apperr.KindOf(err)
	if stack == nil && apperr.Retryable(kind) {
		h.log.WarnContext(ctx, "record failed; will be retried", "messageId", msg.MessageId, "kind", kind.String(), "err", err)
		return false
	}
	reason := kind.String() + ": " + err.Error()
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	attrs := []any{"messageId", msg.MessageId, "kind", kind.String(), "err", err}
	if stack != nil {
		attrs = append(attrs, "stack", string(stack))
	}
	if h.dlq == nil {
		h.log.ErrorContext(ctx, "poison record; no DLQ configured, left to the queue's redrive", attrs...)
		return false
	}
	if derr := h.dlq.SendPoison(ctx, msg, reason); derr != nil {
		h.log.ErrorContext(ctx, "poison record; DLQ send failed, will be retried", append(attrs, "dlqErr", derr)...)
		return false
	}
	h.log.ErrorContext(ctx, "poison record sent to the DLQ", attrs...)
	return true
}

// safe runs process, turning a panic into an error plus its stack.
func (h handler) safe(ctx context.Context, msg events.SQSMessage) (stack []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			stack = debug.Stack()
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return nil, h.process(ctx, msg)
}
