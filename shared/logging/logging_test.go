package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestContextAttrsReachEveryRecord(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "json", slog.LevelInfo, "ingest")
	ctx := With(context.Background(), RequestID("r-1"))
	ctx = With(ctx, Tenant("t-9"))
	l.InfoContext(ctx, "stored", "orders", 3)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"function": "ingest", "requestId": "r-1", "tenant": "t-9", "orders": 3.0, "msg": "stored"} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %v", k, rec[k], want)
		}
	}
}

func TestTextFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "text", slog.LevelWarn, "")
	l.Info("hidden")
	l.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "msg=shown") {
		t.Errorf("output %q", out)
	}
}
