package webhook

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/metrics"
)

// The handler records accepted and rejected webhooks as EMF metrics.
func TestHandlerRecordsMetrics(t *testing.T) {
	h, _ := newTestHandler(t, "")
	var out bytes.Buffer
	rec := metrics.New(&out, "PulseHub", "webhooks", metrics.WithClock(func() time.Time { return fixedNow }))
	h.metrics = rec

	invoke(t, h, shopifyEvent("orders/create", orderBody, "demo-shopify-secret"))
	invoke(t, h, shopifyEvent("orders/create", orderBody, "demo-shopify-secret"))
	invoke(t, h, shopifyEvent("orders/create", orderBody, "wrong"))
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}

	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		for _, name := range []string{"WebhooksAccepted", "WebhooksRejected"} {
			if v, ok := m[name]; ok {
				key := name
				if s, ok := m["Source"].(string); ok {
					key += "/" + s
				}
				if r, ok := m["Reason"].(string); ok {
					key += "/" + r
				}
				switch v := v.(type) {
				case float64:
					got[key] += v
				case []any:
					for _, x := range v {
						got[key] += x.(float64)
					}
				}
			}
		}
	}
	want := map[string]float64{"WebhooksAccepted/shopify": 2, "WebhooksRejected/unauthorized": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
