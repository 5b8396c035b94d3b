package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/batch"
)

// fakeDLQ records what it was sent; fail makes every send fail.
type fakeDLQ struct {
	mu      sync.Mutex
	fail    bool
	sent    []string // messageId
	reasons map[string]string
}

func (d *fakeDLQ) SendPoison(_ context.Context, msg events.SQSMessage, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail {
		return errors.New("dlq unavailable")
	}
	if d.reasons == nil {
		d.reasons = map[string]string{}
	}
	d.sent = append(d.sent, msg.MessageId)
	d.reasons[msg.MessageId] = reason
	return nil
}

// process acts on the record body: ok, or the named outcome.
func process(_ context.Context, msg events.SQSMessage) error {
	switch msg.Body {
	case "ok":
		return nil
	case "transient":
		return fmt.Errorf("ingest: %w", apperr.E(apperr.Transient, "dynamodb throttled"))
	case "ratelimited":
		return apperr.E(apperr.RateLimited, "provider 429")
	case "conflict":
		return apperr.E(apperr.Conflict, "version moved")
	case "unclassified":
		return errors.New("something odd")
	case "invalid":
		return fmt.Errorf("ingest: %w", apperr.E(apperr.Invalid, "payload is not JSON"))
	case "notfound":
		return apperr.E(apperr.NotFound, "tenant gone")
	case "panic":
		var counts []int
		counts[len(msg.Body)]++ // a real index-out-of-range panic
	}
	return nil
}

func records(bodies ...string) events.SQSEvent {
	var e events.SQSEvent
	for i, b := range bodies {
		e.Records = append(e.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d-%s", i, b), Body: b,
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
	}
	return e
}

func failures(r events.SQSEventResponse) []string {
	var ids []string
	for _, f := range r.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

type logLine struct {
	Msg       string `json:"msg"`
	MessageID string `json:"messageId"`
	Kind      string `json:"kind"`
	Stack     string `json:"stack"`
}

func logs(t *testing.T, buf *bytes.Buffer) []logLine {
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, ll)
	}
	return out
}

func TestHandler(t *testing.T) {
	all := []string{"ok", "transient", "ratelimited", "conflict", "unclassified", "invalid", "notfound", "panic", "ok"}
	for _, tc := range []struct {
		name       string
		dlq        *fakeDLQ
		noDLQ      bool
		opts       []batch.Option
		wantFailed []string // bodies reported for redelivery
		wantDLQ    []string // bodies dead-lettered
	}{
		{
			name:       "sequential",
			dlq:        &fakeDLQ{},
			wantFailed: []string{"transient", "ratelimited", "conflict", "unclassified"},
			wantDLQ:    []string{"invalid", "notfound", "panic"},
		},
		{
			name:       "concurrent",
			dlq:        &fakeDLQ{},
			opts:       []batch.Option{batch.Concurrency(4)},
			wantFailed: []string{"transient", "ratelimited", "conflict", "unclassified"},
			wantDLQ:    []string{"invalid", "notfound", "panic"},
		},
		{
			name:       "DLQ send fails",
			dlq:        &fakeDLQ{fail: true},
			wantFailed: []string{"transient", "ratelimited", "conflict", "unclassified", "invalid", "notfound", "panic"},
		},
		{
			name:       "no DLQ",
			noDLQ:      true,
			wantFailed: []string{"transient", "ratelimited", "conflict", "unclassified", "invalid", "notfound", "panic"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			var dlq batch.DLQ = tc.dlq
			if tc.noDLQ {
				dlq = nil
			}
			h := batch.Handler(log, dlq, process, tc.opts...)
			e := records(all...)
			resp, err := h(context.Background(), e)
			if err != nil {
				t.Fatalf("the batch failed as a whole: %v", err)
			}
			idOf := func(body string) string { return fmt.Sprintf("m%d-%s", slices.Index(all, body), body) }
			var want []string
			for _, b := range tc.wantFailed {
				want = append(want, idOf(b))
			}
			got := failures(resp)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("BatchItemFailures %v, want %v", got, want)
			}
			if tc.dlq != nil && !tc.dlq.fail {
				var wantDLQ []string
				for _, b := range tc.wantDLQ {
					wantDLQ = append(wantDLQ, idOf(b))
				}
				slices.Sort(tc.dlq.sent)
				slices.Sort(wantDLQ)
				if !slices.Equal(tc.dlq.sent, wantDLQ) {
					t.Fatalf("dead-lettered %v, want %v", tc.dlq.sent, wantDLQ)
				}
				if r := tc.dlq.reasons[idOf("invalid")]; !strings.HasPrefix(r, "invalid: ") || !strings.Contains(r, "payload is not JSON") {
					t.Fatalf("reason %q", r)
				}
				if r := tc.dlq.reasons[idOf("panic")]; !strings.Contains(r, "panic: runtime error: index out of range") {
					t.Fatalf("panic reason %q", r)
				}
			}
			// One log line per failed record, none for successes.
			perID := map[string]int{}
			for _, l := range logs(t, &buf) {
				perID[l.MessageID]++
				if l.MessageID == idOf("panic") && !strings.Contains(l.Stack, "batch_test.process") {
					t.Errorf("panic log without the stack: %+v", l)
				}
				if l.Kind == "" {
					t.Errorf("log line without kind: %+v", l)
				}
			}
			for _, b := range all {
				n, want := perID[idOf(b)], 1
				if b == "ok" {
					want = 0
				}
				if n != want {
					t.Errorf("record %s logged %d times, want %d", b, n, want)
				}
			}
		})
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	var cur, peak atomic.Int32
	slow := func(context.Context, events.SQSMessage) error {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		cur.Add(-1)
		return nil
	}
	h := batch.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)), &fakeDLQ{}, slow, batch.Concurrency(3))
	resp, _ := h(context.Background(), records(slices.Repeat([]string{"ok"}, 10)...))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", resp.BatchItemFailures)
	}
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrency %d, want 3", p)
	}
}

func TestSequentialKeepsOrder(t *testing.T) {
	var seen []string
	h := batch.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)), &fakeDLQ{}, func(_ context.Context, m events.SQSMessage) error {
		seen = append(seen, m.MessageId)
		return nil
	})
	e := records("ok", "ok", "ok", "ok")
	h(context.Background(), e)
	if !slices.Equal(seen, []string{"m0-ok", "m1-ok", "m2-ok", "m3-ok"}) {
		t.Fatalf("order %v", seen)
	}
}

func TestEndingInvocationReportsTheRest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran int
	h := batch.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)), &fakeDLQ{}, func(context.Context, events.SQSMessage) error {
		ran++
		if ran == 2 {
			cancel() // the Lambda deadline arrives mid-batch
		}
		return nil
	})
	resp, err := h(ctx, records("ok", "ok", "ok", "ok"))
	if err != nil || ran != 2 {
		t.Fatalf("ran %d, err %v", ran, err)
	}
	if got := failures(resp); !slices.Equal(got, []string{"m2-ok", "m3-ok"}) {
		t.Fatalf("failures %v, want the two unprocessed records", got)
	}
}

func BenchmarkHandlerPerRecord(b *testing.B) {
	h := batch.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)), &fakeDLQ{}, func(context.Context, events.SQSMessage) error { return nil })
	e := records(slices.Repeat([]string{"ok"}, 10)...)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h(ctx, e)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(e.Records)), "ns/record")
}
