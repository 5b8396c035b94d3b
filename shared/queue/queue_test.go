package queue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/batch"
	"github.com/pulsehub/pulsehub/shared/queue"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

var _ batch.DLQ = (*queue.DLQ)(nil)

func newQueue(t *testing.T, c *sqs.Client) string {
	t.Helper()
	ctx := testCtx(t)
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Name(t, "queue"))})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		if _, err := c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Errorf("DeleteQueue: %v", err)
		}
	})
	return url
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// receiveAll drains the queue until want messages arrived or 10 s passed.
func receiveAll(t *testing.T, c *sqs.Client, url string, want int) []types.Message {
	t.Helper()
	ctx := testCtx(t)
	deadline := time.Now().Add(10 * time.Second)
	var got []types.Message
	for len(got) < want && time.Now().Before(deadline) {
		// A short visibility timeout: if a response is cut off in transit
		// under load and the SDK retries the receive, the messages that
		// response carried come back within the deadline instead of after
		// the queue's 30 s default.
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 2,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			got = append(got, m)
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
	if len(got) != want {
		t.Fatalf("received %d messages, want %d", len(got), want)
	}
	return got
}

func attr(m types.Message, name string) string {
	return aws.ToString(m.MessageAttributes[name].StringValue)
}

func TestSendAndReceive(t *testing.T) {
	t.Parallel()
	c := testenv.SQS(t)
	url := newQueue(t, c)
	s := queue.New(c)
	body := []byte(`{"tenant":"t1","event":"order.created","orderId":"1001"}`)
	if err := s.Send(testCtx(t), url, body, map[string]string{"tenant": "t1"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := receiveAll(t, c, url, 1)
	if aws.ToString(got[0].Body) != string(body) || attr(got[0], "tenant") != "t1" {
		t.Fatalf("received %q attrs %v", aws.ToString(got[0].Body), got[0].MessageAttributes)
	}
}

func TestSendRejectsBadMessages(t *testing.T) {
	t.Parallel()
	c := testenv.SQS(t)
	url := newQueue(t, c)
	s := queue.New(c)
	ctx := testCtx(t)
	big := make([]byte, queue.MaxMessageBytes+1)
	for i := range big {
		big[i] = 'x'
	}
	if err := s.Send(ctx, url, big, nil); apperr.KindOf(err) != apperr.TooLarge {
		t.Fatalf("oversize body: %v", err)
	}
	// Under the limit alone, over it with its attributes.
	if err := s.Send(ctx, url, big[:queue.MaxMessageBytes-10], map[string]string{"reason": "0123456789"}); apperr.KindOf(err) != apperr.TooLarge {
		t.Fatalf("oversize with attributes: %v", err)
	}
	if err := s.Send(ctx, url, nil, nil); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("empty body: %v", err)
	}
	// Exactly at the limit goes through.
	if err := s.Send(ctx, url, big[:queue.MaxMessageBytes], nil); err != nil {
		t.Fatalf("body at the limit: %v", err)
	}
	receiveAll(t, c, url, 1)
}

func TestSendBatch(t *testing.T) {
	t.Parallel()
	c := testenv.SQS(t)
	url := newQueue(t, c)
	s := queue.New(c)
	var msgs []queue.Message
	for i := range 25 {
		msgs = append(msgs, queue.Message{Body: fmt.Appendf(nil, `{"n":%d}`, i), Attrs: map[string]string{"n": fmt.Sprint(i)}})
	}
	if err := s.SendBatch(testCtx(t), url, msgs); err != nil {
		t.Fatalf("SendBatch: %v", err)
	}
	got := receiveAll(t, c, url, 25)
	var ns []string
	for _, m := range got {
		if want := fmt.Sprintf(`{"n":%s}`, attr(m, "n")); aws.ToString(m.Body) != want {
			t.Fatalf("body %q with attribute n=%s", aws.ToString(m.Body), attr(m, "n"))
		}
		ns = append(ns, attr(m, "n"))
	}
	slices.Sort(ns)
	ns = slices.Compact(ns)
	if len(ns) != 25 {
		t.Fatalf("%d distinct messages", len(ns))
	}
}

func TestSendBatchSplitsBySizeAndNamesFailures(t *testing.T) {
	t.Parallel()
	c := testenv.SQS(t)
	url := newQueue(t, c)
	s := queue.New(c)
	// Four 100 KiB messages: at most two fit in one request.
	chunk := []byte(strings.Repeat("y", 100<<10))
	msgs := []queue.Message{{Body: chunk}, {Body: chunk}, {Body: make([]byte, queue.MaxMessageBytes+1)}, {Body: chunk}, {Body: chunk}, {}}
	err := s.SendBatch(testCtx(t), url, msgs)
	if err == nil {
		t.Fatal("SendBatch accepted an oversize and an empty message")
	}
	for _, want := range []string{"2 of 6 messages not sent", "message 2:", "message 5:"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %q", err, want)
		}
	}
	if k := apperr.KindOf(err); k != apperr.TooLarge {
		t.Fatalf("kind %s", k)
	}
	receiveAll(t, c, url, 4)
}

// flakySQS fails the first entry of every batch once, on SQS's side.
type flakySQS struct {
	queue.Client
	failed map[string]bool
	calls  int
}

func (f *flakySQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, o ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.calls++
	id := aws.ToString(in.Entries[0].Id)
	if !f.failed[id] {
		f.failed[id] = true
		rest := *in
		rest.Entries = in.Entries[1:]
		out := &sqs.SendMessageBatchOutput{Failed: []types.BatchResultErrorEntry{{Id: aws.String(id), Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: false}}}
		if len(rest.Entries) > 0 {
			ok, err := f.Client.SendMessageBatch(ctx, &rest, o...)
			if err != nil {
				return nil, err
			}
			out.Successful = ok.Successful
		}
		return out, nil
	}
	return f.Client.SendMessageBatch(ctx, in, o...)
}

func TestSendBatchRetriesFailedEntries(t *testing.T) {
	t.Parallel()
	c := testenv.SQS(t)
	url := newQueue(t, c)
	f := &flakySQS{Client: c, failed: map[string]bool{}}
	var msgs []queue.Message
	for i := range 12 {
		msgs = append(msgs, queue.Message{Body: fmt.Appendf(nil, "m%d", i)})
	}
	if err := queue.New(f).SendBatch(testCtx(t), url, msgs); err != nil {
		t.Fatalf("SendBatch: %v", err)
	}
	receiveAll(t, c, url, 12)
	if f.calls < 4 {
		t.Fatalf("%d calls; the failed entries were not retried", f.calls)
	}
}

// rejectingSQS fails one entry for good, as the sender's fault.
type rejectingSQS struct{ queue.Client }

func (r rejectingSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, o ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return &sqs.SendMessageBatchOutput{Failed: []types.BatchResultErrorEntry{{Id: in.Entries[1].Id, Code: aws.String("InvalidMessageContents"), Message: aws.String("bad char"), SenderFault: true}}}, nil
}

func TestSendBatchSenderFaultIsNotRetried(t *testing.T) {
	err := queue.New(rejectingSQS{}).SendBatch(context.Background(), "url", []queue.Message{{Body: []byte("a")}, {Body: []byte("b")}})
	if err == nil || !strings.Contains(err.Error(), "message 1: InvalidMessageContents: bad char") || apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("got %v", err)
	}
}

func TestDLQ(t *testing.T) {
	t.Parallel()
	c := testenv.SQS(t)
	url := newQueue(t, c)
	dlq := queue.NewDLQ(c, url)
	body := `{"event":"order.created","note":"ünïcødé, \"quotes\", <xml> & newlines\n"}`
	orig := events.SQSMessage{
		MessageId:  "src-123",
		Body:       body,
		Attributes: map[string]string{"ApproximateReceiveCount": "3"},
		MessageAttributes: map[string]events.SQSMessageAttribute{
			"tenant": {DataType: "String", StringValue: aws.String("t1")},
		},
	}
	if err := dlq.SendPoison(testCtx(t), orig, "invalid: payload has no tenant"); err != nil {
		t.Fatalf("SendPoison: %v", err)
	}
	got := receiveAll(t, c, url, 1)[0]
	if aws.ToString(got.Body) != body {
		t.Fatalf("body %q, want it intact", aws.ToString(got.Body))
	}
	for name, want := range map[string]string{
		queue.AttrReason:          "invalid: payload has no tenant",
		queue.AttrSourceMessageID: "src-123",
		queue.AttrReceiveCount:    "3",
		"tenant":                  "t1",
	} {
		if got := attr(got, name); got != want {
			t.Errorf("attribute %s = %q, want %q", name, got, want)
		}
	}

	// A body at the limit still goes intact; the reason is what gives way.
	huge := events.SQSMessage{MessageId: "src-9", Body: strings.Repeat("z", queue.MaxMessageBytes-200)}
	if err := dlq.SendPoison(testCtx(t), huge, strings.Repeat("r", 500)); err != nil {
		t.Fatalf("SendPoison of a large body: %v", err)
	}
	big := receiveAll(t, c, url, 1)[0]
	if len(aws.ToString(big.Body)) != len(huge.Body) || len(attr(big, queue.AttrReason)) >= 500 {
		t.Fatalf("body %d bytes, reason %d bytes", len(aws.ToString(big.Body)), len(attr(big, queue.AttrReason)))
	}
}

func TestSendClassifiesCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := testenv.SQS(t)
	err := queue.New(c).Send(ctx, "http://127.0.0.1:1/000000000000/none", []byte("x"), nil)
	if apperr.KindOf(err) != apperr.Transient || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}
