package lambdafn

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/metrics"
)

func TestNewHandlerFlushesMetricsAfterEachInvocation(t *testing.T) {
	var out bytes.Buffer
	rec := metrics.New(&out, "PulseHub", "test")
	h := NewHandler(func(ctx context.Context, in struct{ N int }) (int, error) {
		rec.Count(ctx, "Seen", float64(in.N))
		return in.N * 2, nil
	}, rec, slog.New(slog.DiscardHandler))

	res, err := h.Invoke(context.Background(), []byte(`{"N":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(res)) != "6" {
		t.Fatalf("response %q", res)
	}
	if !strings.Contains(out.String(), `"Seen":3`) {
		t.Fatalf("metrics not flushed after the invocation: %q", out.String())
	}
}

func TestNewDepsNamesBadConfiguration(t *testing.T) {
	_, err := NewDeps(context.Background(), "webhooks", func(string) (string, bool) { return "", false }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME is required by webhooks") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewDeps(context.Background(), "nope", func(string) (string, bool) { return "", false }, &bytes.Buffer{}); err == nil {
		t.Fatal("unknown function accepted")
	}
}
