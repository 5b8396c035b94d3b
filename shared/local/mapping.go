package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSClient is the part of the SQS client an event-source mapping uses.
type SQSClient interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// BatchInvoker runs a function, waiting for a concurrency slot.
type BatchInvoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Mapping is an SQS event-source mapping, as Lambda runs one: pollers long
// poll the queue, collect up to BatchSize messages or until BatchWindow ends,
// invoke the function with an events.SQSEvent, and delete the messages that
// succeeded (ReportBatchItemFailures). Failed messages reappear after the
// visibility timeout; the queue's redrive policy (applied by fauxqs on
// receive, as SQS does) moves them to the DLQ after maxReceiveCount.
type Mapping struct {
	Function    string
	QueueURL    string
	QueueARN    string
	Region      string
	BatchSize   int
	BatchWindow time.Duration
	Pollers     int // concurrent pollers (the trigger's MaxConcurrency)
	SQS         SQSClient
	Invoker     BatchInvoker
	Logger      *slog.Logger

	wg     sync.WaitGroup // pollers
	work   sync.WaitGroup // invocations in flight
	cancel context.CancelFunc
}

// Start launches the pollers; Stop ends them.
func (m *Mapping) Start() {
	if m.Pollers < 1 {
		m.Pollers = 2
	}
	if m.BatchSize < 1 {
		m.BatchSize = 10
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	for range m.Pollers {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.poll(ctx)
		}()
	}
}

// Stop stops polling and waits until running invocations finish (or ctx ends).
func (m *Mapping) Stop(ctx context.Context) error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	done := make(chan struct{})
	go func() { m.wg.Wait(); m.work.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("local: mapping %s: %w", m.Function, ctx.Err())
	}
}

func (m *Mapping) poll(ctx context.Context) {
	for ctx.Err() == nil {
		batch := m.collect(ctx)
		if len(batch) == 0 || ctx.Err() != nil {
			// Anything received during shutdown becomes visible again after its timeout.
			continue
		}
		m.work.Add(1)
		m.process(context.Background(), batch)
		m.work.Done()
	}
}

// collect receives up to BatchSize messages: it long polls for the first,
// then keeps receiving until the batch is full or the window ends.
func (m *Mapping) collect(ctx context.Context) []sqstypes.Message {
	var msgs []sqstypes.Message
	var deadline time.Time
	for len(msgs) < m.BatchSize && ctx.Err() == nil {
		wait := int32(20)
		if len(msgs) > 0 {
			remaining := time.Until(deadline)
			if m.BatchWindow <= 0 || remaining <= 0 {
				break
			}
			wait = int32(min(remaining/time.Second, 20))
		}
		out, err := m.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(m.QueueURL),
			MaxNumberOfMessages:         int32(min(10, m.BatchSize-len(msgs))),
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() != nil {
				return msgs
			}
			m.Logger.Warn("sqs receive failed; retrying", "function", m.Function, "queue", m.QueueURL, "err", err)
			_ = retry.Sleep(ctx, time.Second)
			continue
		}
		if len(msgs) == 0 && len(out.Messages) > 0 {
			deadline = time.Now().Add(m.BatchWindow)
		}
		msgs = append(msgs, out.Messages...)
		if len(out.Messages) == 0 && len(msgs) > 0 {
			_ = retry.Sleep(ctx, 50*time.Millisecond) // a short poll came back empty inside the window
		}
	}
	return msgs
}

// Event builds the Lambda event for a batch, as the SQS poller does.
func (m *Mapping) Event(msgs []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, msg := range msgs {
		attrs := map[string]events.SQSMessageAttribute{}
		for k, v := range msg.MessageAttributes {
			a := events.SQSMessageAttribute{
				StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: aws.ToString(v.DataType),
				StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues,
			}
			if a.StringListValues == nil {
				a.StringListValues = []string{}
			}
			if a.BinaryListValues == nil {
				a.BinaryListValues = [][]byte{}
			}
			attrs[k] = a
		}
		sys := map[string]string{}
		for k, v := range msg.Attributes {
			sys[k] = v
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:              aws.ToString(msg.MessageId),
			ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
			Body:                   aws.ToString(msg.Body),
			Md5OfBody:              aws.ToString(msg.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
			Attributes:             sys,
			MessageAttributes:      attrs,
			EventSourceARN:         m.QueueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              m.Region,
		})
	}
	return ev
}

// process invokes the function on one batch and deletes what succeeded.
func (m *Mapping) process(ctx context.Context, msgs []sqstypes.Message) {
	ev := m.Event(msgs)
	payload, err := json.Marshal(ev)
	if err != nil {
		m.Logger.Error("encode SQS event", "function", m.Function, "err", err)
		return
	}
	out, err := m.Invoker.Invoke(ctx, m.Function, payload)
	if err != nil {
		// A function error fails the whole batch: nothing is deleted.
		m.Logger.Warn("batch failed; every message will be retried", "function", m.Function, "messages", len(msgs), "err", err)
		return
	}
	failed, err := failures(out, ev)
	if err != nil {
		m.Logger.Warn("invalid batch response; every message will be retried", "function", m.Function, "messages", len(msgs), "err", err)
		return
	}
	if len(failed) > 0 {
		m.Logger.Info("partial batch failure", "function", m.Function, "failed", len(failed), "of", len(msgs))
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, r := range ev.Records {
		if !failed[r.MessageId] {
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)})
		}
	}
	for start := 0; start < len(del); start += 10 {
		chunk := del[start:min(start+10, len(del))]
		res, err := m.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.QueueURL), Entries: chunk})
		if err != nil {
			m.Logger.Error("delete processed messages", "function", m.Function, "err", err)
			continue
		}
		for _, f := range res.Failed {
			m.Logger.Error("delete processed message", "function", m.Function, "id", aws.ToString(f.Id), "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
		}
	}
}

// failures reads an SQSEventResponse. Like Lambda, a response naming an
// unknown or empty itemIdentifier fails the whole batch.
func failures(out []byte, ev events.SQSEvent) (map[string]bool, error) {
	failed := map[string]bool{}
	if len(out) == 0 || string(out) == "null" {
		return failed, nil
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("response is not an SQSEventResponse: %w", err)
	}
	ids := map[string]bool{}
	for _, r := range ev.Records {
		ids[r.MessageId] = true
	}
	for _, f := range resp.BatchItemFailures {
		if !ids[f.ItemIdentifier] {
			return nil, fmt.Errorf("batchItemFailures names %q, which is not in the batch", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}
