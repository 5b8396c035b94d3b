package local

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// batchFunc is an Invoker that hands each SQS batch to a handler and records it.
type batchFunc struct {
	mu      sync.Mutex
	batches []events.SQSEvent
	seen    map[string]int // body → deliveries
	handle  func(call int, ev events.SQSEvent) ([]byte, error)
}

func (b *batchFunc) Invoke(_ context.Context, _ string, payload []byte) ([]byte, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.batches = append(b.batches, ev)
	call := len(b.batches)
	for _, r := range ev.Records {
		b.seen[r.Body]++
	}
	b.mu.Unlock()
	return b.handle(call, ev)
}

func (b *batchFunc) deliveries(body string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[body]
}

// testQueue provisions a queue with a DLQ (visibility 1 s) through Provision's helper.
func testQueue(t *testing.T, client *sqs.Client, maxReceive int) (url, arn, dlqURL string) {
	t.Helper()
	ctx := context.Background()
	name := testenv.Name(t, "mapping")
	cat := catalog.Catalog{Queues: []catalog.Queue{{Name: "q", VisibilityTimeout: time.Second, Retention: time.Hour, MaxReceiveCount: maxReceive}}}
	res := Resources{QueueURLs: map[string]string{}, QueueARNs: map[string]string{}}
	for _, q := range cat.Queues {
		dlq, dlqARN, err := createQueue(ctx, client, name+"-dlq", map[string]string{"MessageRetentionPeriod": "3600"})
		if err != nil {
			t.Fatal(err)
		}
		policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": dlqARN, "maxReceiveCount": q.MaxReceiveCount})
		u, a, err := createQueue(ctx, client, name, map[string]string{"VisibilityTimeout": "1", "RedrivePolicy": string(policy)})
		if err != nil {
			t.Fatal(err)
		}
		res.QueueURLs["q"], res.QueueARNs["q"], res.QueueURLs["q-dlq"] = u, a, dlq
	}
	return res.QueueURLs["q"], res.QueueARNs["q"], res.QueueURLs["q-dlq"]
}

func send(t *testing.T, client *sqs.Client, url string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		_, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{
			QueueUrl: aws.String(url), MessageBody: aws.String(b),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMappingPartialFailuresAndDLQ(t *testing.T) {
	client := testenv.SQS(t)
	url, arn, dlq := testQueue(t, client, 2)
	fn := &batchFunc{seen: map[string]int{}}
	fn.handle = func(call int, ev events.SQSEvent) ([]byte, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if r.Body == "poison" || (r.Body == "flaky" && r.Attributes["ApproximateReceiveCount"] == "1") {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return json.Marshal(resp)
	}
	m := &Mapping{Function: "consumer", QueueURL: url, QueueARN: arn, Region: "us-east-1", BatchSize: 10,
		BatchWindow: 500 * time.Millisecond, Pollers: 2, SQS: client, Invoker: fn}
	send(t, client, url, "ok", "flaky", "poison")
	m.Start()
	defer m.Stop(context.Background())

	var dlqMsgs []sqstypes.Message
	waitFor(t, "the poison message in the DLQ", func() bool {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), WaitTimeSeconds: 1, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		dlqMsgs = append(dlqMsgs, out.Messages...)
		return len(dlqMsgs) > 0
	})
	if len(dlqMsgs) != 1 || aws.ToString(dlqMsgs[0].Body) != "poison" {
		t.Fatalf("DLQ holds %d messages, first %q", len(dlqMsgs), aws.ToString(dlqMsgs[0].Body))
	}
	// Once the queue is drained nothing can come back: ok and flaky were
	// deleted after their success, poison moved to the DLQ.
	waitFor(t, "the queue drained", func() bool { return Drained(t, client, url) })
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fn.deliveries("ok"); got != 1 {
		t.Errorf("ok delivered %d times, want 1", got)
	}
	if got := fn.deliveries("flaky"); got != 2 {
		t.Errorf("flaky delivered %d times, want 2", got)
	}
	if got := fn.deliveries("poison"); got != 2 {
		t.Errorf("poison delivered %d times, want maxReceiveCount = 2", got)
	}

	first := fn.batches[0].Records[0]
	if first.EventSource != "aws:sqs" || first.EventSourceARN != arn || first.AWSRegion != "us-east-1" ||
		first.Attributes["ApproximateReceiveCount"] != "1" || first.Attributes["SentTimestamp"] == "" ||
		first.MessageAttributes["kind"].DataType != "String" || aws.ToString(first.MessageAttributes["kind"].StringValue) != "test" ||
		first.ReceiptHandle == "" || first.Md5OfBody == "" {
		t.Fatalf("record lacks SQS attributes: %+v", first)
	}
}

func TestMappingWholeBatchError(t *testing.T) {
	client := testenv.SQS(t)
	url, arn, _ := testQueue(t, client, 5)
	fn := &batchFunc{seen: map[string]int{}}
	fn.handle = func(call int, ev events.SQSEvent) ([]byte, error) {
		if call == 1 {
			return nil, errors.New("the whole batch fails")
		}
		return nil, nil
	}
	m := &Mapping{Function: "consumer", QueueURL: url, QueueARN: arn, Region: "us-east-1", BatchSize: 10,
		BatchWindow: 300 * time.Millisecond, Pollers: 1, SQS: client, Invoker: fn}
	send(t, client, url, "a", "b")
	m.Start()
	waitFor(t, "both messages redelivered", func() bool { return fn.deliveries("a") == 2 && fn.deliveries("b") == 2 })
	waitFor(t, "the queue drained (both deleted after the second delivery)", func() bool { return Drained(t, client, url) })
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fn.deliveries("a") != 2 || fn.deliveries("b") != 2 {
		t.Fatalf("deliveries a=%d b=%d, want 2 each", fn.deliveries("a"), fn.deliveries("b"))
	}
	if len(fn.batches[0].Records) != 2 {
		t.Fatalf("batch window did not collect both messages: %d records", len(fn.batches[0].Records))
	}
}

func TestFailuresRejectsUnknownIDs(t *testing.T) {
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1"}, {MessageId: "m2"}}}
	tests := []struct {
		out     string
		want    map[string]bool
		wantErr bool
	}{
		{"null", map[string]bool{}, false},
		{"", map[string]bool{}, false},
		{`{"batchItemFailures":[]}`, map[string]bool{}, false},
		{`{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, map[string]bool{"m2": true}, false},
		{`{"batchItemFailures":[{"itemIdentifier":"zz"}]}`, nil, true},
		{`{"batchItemFailures":[{"itemIdentifier":""}]}`, nil, true},
		{`[1,2]`, nil, true},
	}
	for _, tc := range tests {
		got, err := failures([]byte(tc.out), ev)
		if (err != nil) != tc.wantErr || len(got) != len(tc.want) {
			t.Errorf("%s: got %v, %v", tc.out, got, err)
		}
		for k := range tc.want {
			if !got[k] {
				t.Errorf("%s: missing %s", tc.out, k)
			}
		}
	}
}
