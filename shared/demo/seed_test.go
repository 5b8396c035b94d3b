package demo

import (
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/shopify"
)

func TestSplitFollowUpsKeepsOrderAndTopics(t *testing.T) {
	data, err := Build(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	first, follow := splitFollowUps(data.Webhooks)
	if len(first)+len(follow) != len(data.Webhooks) {
		t.Fatalf("split lost deliveries: %d + %d != %d", len(first), len(follow), len(data.Webhooks))
	}
	if len(follow) != data.Refunds+data.Cancelled {
		t.Errorf("follow-ups = %d, want refunds %d + cancellations %d", len(follow), data.Refunds, data.Cancelled)
	}
	for _, w := range follow {
		if w.Topic != shopify.TopicRefundsCreate && w.Topic != shopify.TopicOrdersCancelled {
			t.Fatalf("follow-up with topic %s", w.Topic)
		}
	}
	for _, w := range first {
		if w.Topic == shopify.TopicRefundsCreate || w.Topic == shopify.TopicOrdersCancelled {
			t.Fatalf("%s left in the first phase", w.Topic)
		}
	}
	// Each part keeps the dataset's sending order.
	pos := map[string]int{}
	for i, w := range data.Webhooks {
		pos[w.WebhookID] = i
	}
	for _, part := range [][]shopify.Delivery{first, follow} {
		for i := 1; i < len(part); i++ {
			if pos[part[i-1].WebhookID] > pos[part[i].WebhookID] {
				t.Fatalf("order changed at %d", i)
			}
		}
	}
}
