package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Client is the subset of the SQS client the sender uses.
type Client interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// SQS limits.
const (
	MaxMessageBytes = 256 << 10 // body plus attribute names, types and values
	MaxBatch        = 10        // entries per SendMessageBatch
	MaxAttributes   = 10        // message attributes per message
)

// Attributes set on dead-lettered messages.
const (
	AttrReason          = "pulsehub-reason"
	AttrSourceMessageID = "pulsehub-source-message-id"
	AttrReceiveCount    = "pulsehub-receive-count"
)

// sendAttempts bounds the retries of batch entries that failed for a
// reason on SQS's side.
const sendAttempts = 4

// Message is one message of a batch.
type Message struct {
	Body  []byte
	Attrs map[string]string
}

// Sender sends messages to SQS queues.
type Sender struct{ c Client }

// New returns a Sender over c.
func New(c Client) *Sender { return &Sender{c: c} }

// Size is the size SQS counts against MaxMessageBytes.
func (m Message) Size() int {
	n := len(m.Body)
	for k, v := range m.Attrs {
		n += len(k) + len("String") + len(v)
	}
	return n
}

func (m Message) check() error {
	if len(m.Body) == 0 {
		return apperr.E(apperr.Invalid, "message body is empty")
	}
	if len(m.Attrs) > MaxAttributes {
		return apperr.E(apperr.Invalid, "message has %d attributes; SQS allows %d", len(m.Attrs), MaxAttributes)
	}
	if n := m.Size(); n > MaxMessageBytes {
		return apperr.E(apperr.TooLarge, "message of %d bytes exceeds SQS's %d-byte limit", n, MaxMessageBytes)
	}
	return nil
}

func attributes(attrs map[string]string) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}

// Send sends one message. A message over 256 KiB is apperr.TooLarge.
func (s *Sender) Send(ctx context.Context, url string, body []byte, attrs map[string]string) error {
	m := Message{Body: body, Attrs: attrs}
	if err := m.check(); err != nil {
		return fmt.Errorf("queue.Send %s: %w", url, err)
	}
	_, err := s.c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String(string(body)), MessageAttributes: attributes(attrs),
	})
	if err != nil {
		return classify(err, "queue.Send %s", url)
	}
	return nil
}

// SendBatch sends msgs in batches of up to 10 (and 256 KiB), retrying the
// entries SQS failed on its side. The error joins one error per message that
// could not be sent, naming its index in msgs; the others were sent.
func (s *Sender) SendBatch(ctx context.Context, url string, msgs []Message) error {
	var errs []error
	var chunk []int // indexes into msgs
	size := 0
	flush := func() {
		if len(chunk) > 0 {
			errs = append(errs, s.sendChunk(ctx, url, msgs, chunk)...)
			chunk, size = nil, 0
		}
	}
	for i, m := range msgs {
		if err := m.check(); err != nil {
			errs = append(errs, fmt.Errorf("message %d: %w", i, err))
			continue
		}
		if len(chunk) == MaxBatch || size+m.Size() > MaxMessageBytes {
			flush()
		}
		chunk = append(chunk, i)
		size += m.Size()
	}
	flush()
	if len(errs) > 0 {
		return apperr.Wrap(apperr.KindOfAll(errs), errors.Join(errs...), "queue.SendBatch %s: %d of %d messages not sent", url, len(errs), len(msgs))
	}
	return nil
}

// sendChunk sends msgs[idx...] as one batch and retries retryable failures.
func (s *Sender) sendChunk(ctx context.Context, url string, msgs []Message, idx []int) []error {
	pending := idx
	var errs []error
	for attempt := 0; len(pending) > 0; attempt++ {
		entries := make([]types.SendMessageBatchRequestEntry, len(pending))
		for j, i := range pending {
			entries[j] = types.SendMessageBatchRequestEntry{
				Id:                aws.String(strconv.Itoa(i)),
				MessageBody:       aws.String(string(msgs[i].Body)),
				MessageAttributes: attributes(msgs[i].Attrs),
			}
		}
		out, err := s.c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			err = classify(err, "send batch")
			for _, i := range pending {
				errs = append(errs, fmt.Errorf("message %d: %w", i, err))
			}
			return errs
		}
		var again []int
		for _, f := range out.Failed {
			i, convErr := strconv.Atoi(aws.ToString(f.Id))
			if convErr != nil || !slices.Contains(pending, i) {
				errs = append(errs, fmt.Errorf("SQS reported an unknown batch entry %q failed", aws.ToString(f.Id)))
				continue
			}
			msg := fmt.Sprintf("message %d: %s: %s", i, aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault || attempt+1 >= sendAttempts {
				kind := apperr.Transient
				if f.SenderFault {
					kind = apperr.Invalid
				}
				errs = append(errs, apperr.E(kind, "%s", msg))
				continue
			}
			again = append(again, i)
		}
		pending = again
		if len(pending) > 0 {
			if err := retry.Sleep(ctx, time.Duration(50<<attempt)*time.Millisecond); err != nil {
				for _, i := range pending {
					errs = append(errs, apperr.Wrap(apperr.Transient, err, "message %d: retry interrupted", i))
				}
				return errs
			}
		}
	}
	return errs
}

// DLQ sends poison messages to a dead-letter queue with the reason; it
// implements batch.DLQ.
type DLQ struct {
	s   *Sender
	url string
}

// NewDLQ returns a DLQ sending to url.
func NewDLQ(c Client, url string) *DLQ { return &DLQ{s: New(c), url: url} }

// SendPoison sends msg's body unchanged, with its string message attributes
// (as many as fit) and the attributes pulsehub-reason,
// pulsehub-source-message-id and pulsehub-receive-count, so an operator can
// see why it failed and redrive it as it was.
func (d *DLQ) SendPoison(ctx context.Context, msg events.SQSMessage, reason string) error {
	attrs := map[string]string{
		AttrReason:          reason,
		AttrSourceMessageID: msg.MessageId,
		AttrReceiveCount:    msg.Attributes["ApproximateReceiveCount"],
	}
	if attrs[AttrReceiveCount] == "" {
		attrs[AttrReceiveCount] = "0"
	}
	for _, k := range slices.Sorted(maps.Keys(msg.MessageAttributes)) {
		v := msg.MessageAttributes[k]
		if len(attrs) == MaxAttributes {
			break
		}
		if _, ours := attrs[k]; !ours && v.StringValue != nil && (v.DataType == "String" || v.DataType == "Number") {
			attrs[k] = *v.StringValue
		}
	}
	// The body must go intact; shorten the reason if that is what it takes.
	m := Message{Body: []byte(msg.Body), Attrs: attrs}
	if over := m.Size() - MaxMessageBytes; over > 0 && over < len(reason) {
		attrs[AttrReason] = reason[:len(reason)-over]
	}
	if err := d.s.Send(ctx, d.url, []byte(msg.Body), attrs); err != nil {
		return fmt.Errorf("dead-letter %s: %w", msg.MessageId, err)
	}
	return nil
}

// classify turns SDK errors into apperr kinds once, here.
func classify(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	var apiErr smithy.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apperr.Wrap(apperr.Transient, err, "%s", op)
	case errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer:
		return apperr.Wrap(apperr.Transient, err, "%s", op)
	case errors.As(err, &apiErr) && (apiErr.ErrorCode() == "RequestThrottled" || apiErr.ErrorCode() == "ThrottlingException"):
		return apperr.Wrap(apperr.RateLimited, err, "%s: throttled", op)
	}
	return fmt.Errorf("%s: %w", op, err)
}
