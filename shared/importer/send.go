package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsehub/pulsehub/shared/retry"

	"github.com/pulsehub/pulsehub/shared/shopify"
)

// Webhook builds the delivery of one Shopify payload. The webhook and
// event ids derive from topic, record id and time, so sending the same
// history twice produces the same ids and PulseHub drops the repeats.
func Webhook(shop, topic string, id int64, at time.Time, payload any) (shopify.Delivery, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return shopify.Delivery{}, fmt.Errorf("importer: encode %s %d: %w", topic, id, err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%d|%d", shop, topic, id, at.UnixNano())
	sum := h.Sum64()
	return shopify.Delivery{
		Topic: topic, ShopDomain: shop, Body: body, TriggeredAt: at,
		WebhookID: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(sum>>32), uint16(sum>>16), uint16(sum)&0xfff, uint16(sum>>4)&0xfff, sum&0xffffffffffff),
		EventID:   strconv.FormatUint(sum>>1, 10),
	}, nil
}

// Sender posts signed webhooks to a PulseHub /webhooks/shopify URL.
type Sender struct {
	URL         string // e.g. http://127.0.0.1:8080/webhooks/shopify
	Secret      string // the shop's webhook secret
	Concurrency int    // parallel requests; 16 if 0
	HTTP        *http.Client
	// Sent counts accepted deliveries (progress reporting).
	Sent atomic.Int64
}

// Send posts every delivery, at most Concurrency at a time, retrying 429
// and 5xx answers with backoff. A 4xx other than 429 is a permanent error
// naming the delivery.
func (s *Sender) Send(ctx context.Context, ds []shopify.Delivery) error {
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	n := s.Concurrency
	if n <= 0 {
		n = 16
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan shopify.Delivery)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				if err := s.post(ctx, hc, d); err != nil {
					cancel(err)
					return
				}
				s.Sent.Add(1)
			}
		}()
	}
feed:
	for _, d := range ds {
		select {
		case work <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func (s *Sender) post(ctx context.Context, hc *http.Client, d shopify.Delivery) error {
	status, msg, err := retry.HTTP(ctx, hc, 9, sendBackoff, func(ctx context.Context) (*http.Request, error) {
		return d.NewRequest(ctx, s.URL, s.Secret)
	})
	switch {
	case err != nil:
		return fmt.Errorf("importer: %s webhook %s: %w", d.Topic, d.WebhookID, err)
	case status/100 == 2:
		return nil
	case retry.RetryableStatus(status):
		return fmt.Errorf("importer: %s webhook %s: still %d after retries: %s", d.Topic, d.WebhookID, status, msg)
	}
	return fmt.Errorf("importer: %s webhook %s rejected with %d: %s", d.Topic, d.WebhookID, status, msg)
}

// sendBackoff paces webhook retries: 100 ms doubling, capped at 5 s.
var sendBackoff = retry.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}
