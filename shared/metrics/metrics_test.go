package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/metrics"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixed = func() time.Time { return time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC) }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s:\n got: %s\nwant: %s", path, got, want)
	}
}

func TestEMFGolden(t *testing.T) {
	var buf bytes.Buffer
	r := metrics.New(&buf, "PulseHub", "send", metrics.WithClock(fixed))
	ctx := context.Background()
	email := metrics.Dim{Name: "channel", Value: "email"}
	sms := metrics.Dim{Name: "channel", Value: "sms"}
	r.Count(ctx, "MessagesSent", 3, email)
	r.Count(ctx, "MessagesSent", 2, email)
	r.Count(ctx, "MessagesFailed", 1, email, metrics.Dim{Name: "provider", Value: "sendgrid"})
	r.Count(ctx, "MessagesSent", 1, sms)
	r.Duration(ctx, "ProviderLatency", 120*time.Millisecond, email)
	r.Duration(ctx, "ProviderLatency", 1500*time.Microsecond, email)
	r.Count(ctx, "Invocations", 1)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	golden(t, "emf.golden.jsonl", buf.Bytes())

	// Every line is a valid EMF document whose declared metrics and
	// dimensions are present as top-level members.
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		var aws struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		}
		if err := json.Unmarshal(doc["_aws"], &aws); err != nil || aws.Timestamp != fixed().UnixMilli() || len(aws.CloudWatchMetrics) != 1 {
			t.Fatalf("_aws %s: %v", doc["_aws"], err)
		}
		d := aws.CloudWatchMetrics[0]
		if d.Namespace != "PulseHub" || len(d.Dimensions) != 1 || d.Dimensions[0][0] != "Function" {
			t.Fatalf("directive %+v", d)
		}
		for _, n := range d.Dimensions[0] {
			if _, ok := doc[n]; !ok {
				t.Errorf("dimension %s missing from %s", n, line)
			}
		}
		for _, m := range d.Metrics {
			if _, ok := doc[m.Name]; !ok {
				t.Errorf("metric %s missing from %s", m.Name, line)
			}
		}
	}

	// Flush clears: a second flush writes nothing.
	buf.Reset()
	if err := r.Flush(); err != nil || buf.Len() != 0 {
		t.Fatalf("second flush wrote %q, %v", buf.String(), err)
	}
}

func TestEMFLimits(t *testing.T) {
	var buf bytes.Buffer
	r := metrics.New(&buf, "PulseHub", "ingest", metrics.WithClock(fixed))
	ctx := context.Background()
	for i := range 250 {
		r.Duration(ctx, "Latency", time.Duration(i)*time.Millisecond)
	}
	for i := range 120 {
		r.Count(ctx, fmt.Sprintf("M%03d", i), 1)
	}
	var dims []metrics.Dim
	for i := range 40 {
		dims = append(dims, metrics.Dim{Name: fmt.Sprintf("d%02d", i), Value: "v"})
	}
	r.Count(ctx, "Wide", 1, dims...)
	r.Count(ctx, "NaN", math.NaN())
	r.Count(ctx, "Function", 1) // would clobber the dimension
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	latency, metricsSeen := 0, map[string]bool{}
	for _, line := range lines {
		var doc struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
			Latency json.RawMessage
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatal(err)
		}
		d := doc.AWS.CloudWatchMetrics[0]
		if len(d.Metrics) > 100 || len(d.Dimensions[0]) > 30 {
			t.Fatalf("line over EMF limits: %d metrics, %d dimensions", len(d.Metrics), len(d.Dimensions[0]))
		}
		for _, m := range d.Metrics {
			metricsSeen[m.Name] = true
		}
		if doc.Latency != nil {
			var vs []float64
			if err := json.Unmarshal(doc.Latency, &vs); err != nil || len(vs) > 100 {
				t.Fatalf("Latency %s", doc.Latency)
			}
			latency += len(vs)
		}
	}
	if latency != 250 {
		t.Fatalf("%d latency values written, want 250", latency)
	}
	if len(metricsSeen) != 122 || metricsSeen["NaN"] || metricsSeen["Function"] {
		t.Fatalf("%d metrics written: %v", len(metricsSeen), metricsSeen)
	}
}

type sink struct {
	mu  sync.Mutex
	got []string
}

func (s *sink) Observe(name string, unit metrics.Unit, v float64, dims []metrics.Dim) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, fmt.Sprintf("%s %s %g %v", name, unit, v, dims))
}

func TestSinkAndConcurrency(t *testing.T) {
	var buf bytes.Buffer
	s := &sink{}
	r := metrics.New(&buf, "PulseHub", "api", metrics.WithClock(fixed), metrics.WithSink(s))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r.Count(context.Background(), "Requests", 1, metrics.Dim{Name: "route", Value: "GET /v1/me"})
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if err := r.Flush(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var doc struct{ Requests float64 }
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatal(err)
		}
		total += doc.Requests
	}
	if total != 800 {
		t.Fatalf("flushed %g requests in total, want 800", total)
	}
	if len(s.got) != 800 || s.got[0] != "Requests Count 1 [{Function api} {route GET /v1/me}]" {
		t.Fatalf("sink saw %d observations, first %q", len(s.got), s.got[0])
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFlushReportsWriteErrors(t *testing.T) {
	r := metrics.New(failingWriter{}, "PulseHub", "api")
	r.Count(context.Background(), "X", 1)
	if err := r.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkFlush(b *testing.B) {
	r := metrics.New(io.Discard, "PulseHub", "send", metrics.WithClock(fixed))
	ctx := context.Background()
	channels := []string{"email", "sms", "push", "whatsapp", "webhook"}
	b.ReportAllocs()
	for b.Loop() {
		for _, ch := range channels {
			d := metrics.Dim{Name: "channel", Value: ch}
			r.Count(ctx, "MessagesSent", 1, d)
			r.Count(ctx, "MessagesFailed", 0, d)
			r.Duration(ctx, "ProviderLatency", 42*time.Millisecond, d)
		}
		if err := r.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCount(b *testing.B) {
	r := metrics.New(io.Discard, "PulseHub", "send")
	ctx := context.Background()
	d := metrics.Dim{Name: "channel", Value: "email"}
	b.ReportAllocs()
	for b.Loop() {
		r.Count(ctx, "MessagesSent", 1, d)
	}
}
