package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Outbox holds a tenant's Conversions API events until the sync function
// forwards them. Ingest adds an event when it records a purchase, a started
// checkout, an add-to-cart or a product view (with the Pixel's eventID as
// EventID); items expire after MaxAge, so an event Meta would refuse is never
// kept, let alone sent.
//
// Keys: PK T#<tenant>#CAPI, SK <event time, RFC 3339 UTC>#<name>#<eventId>,
// ttl; beside each, a marker PK T#<tenant>#CAPIKEY, SK <name>#<eventId>, ttl
// (event time + MaxAge), so an event added again after it was sent and
// removed (a redelivered order webhook, the sync backfill reading an order
// the webhook already brought) is not sent twice.
// The user data in an item is already hashed: no plaintext personal data.
type Outbox struct{ t *store.Table }

// NewOutbox returns the outbox over the single table.
func NewOutbox(t *store.Table) *Outbox { return &Outbox{t: t} }

type outboxItem struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Event string `dynamodbav:"event"` // JSON of Event
	TTL   int64  `dynamodbav:"ttl"`
}

type markerItem struct {
	PK  string `dynamodbav:"PK"`
	SK  string `dynamodbav:"SK"`
	TTL int64  `dynamodbav:"ttl"`
}

func outboxPK(tenant string) string { return "T#" + tenant + "#CAPI" }
func markerPK(tenant string) string { return "T#" + tenant + "#CAPIKEY" }

// Add queues e for tenant and reports whether it was queued: an event with
// the same name and id added before (within MaxAge of its time), sent or
// not, is not queued again. An event without an id cannot be deduplicated
// and is refused.
func (o *Outbox) Add(ctx context.Context, tenant string, e Event) (bool, error) {
	if !Forwarded(e.EventName) {
		return false, fmt.Errorf("meta.Outbox.Add: %q is not a forwarded event", e.EventName)
	}
	if e.EventID == "" {
		return false, fmt.Errorf("meta.Outbox.Add: %s without an event id", e.EventName)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return false, fmt.Errorf("meta.Outbox.Add: %w", err)
	}
	at := time.Unix(e.EventTime, 0).UTC()
	ttl := store.TTL(at.Add(MaxAge))
	it := outboxItem{PK: outboxPK(tenant), SK: at.Format(time.RFC3339) + "#" + e.EventName + "#" + e.EventID, Event: string(b), TTL: ttl}
	mk := markerItem{PK: markerPK(tenant), SK: e.EventName + "#" + e.EventID, TTL: ttl}
	err = o.t.Transact(ctx, o.t.TxPut(mk, store.IfAbsent()), o.t.TxPut(it))
	switch {
	case apperr.KindOf(err) == apperr.Conflict:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("meta.Outbox.Add %s: %w", e.EventID, err)
	}
	return true, nil
}

// Pending is one queued event and its key (to remove it once sent).
type Pending struct {
	Key   store.Key
	Event Event
}

// Next returns up to limit queued events, oldest first.
func (o *Outbox) Next(ctx context.Context, tenant string, limit int) ([]Pending, error) {
	items, err := store.QueryAll[outboxItem](ctx, o.t, store.Query{PK: outboxPK(tenant), Consistent: true, Limit: int32(min(limit, 1000))}, limit)
	if err != nil {
		return nil, fmt.Errorf("meta.Outbox.Next: %w", err)
	}
	out := make([]Pending, 0, len(items))
	for _, it := range items {
		var e Event
		if err := json.Unmarshal([]byte(it.Event), &e); err != nil {
			return nil, fmt.Errorf("meta.Outbox.Next: item %s: %w", it.SK, err)
		}
		out = append(out, Pending{Key: store.Key{PK: it.PK, SK: it.SK}, Event: e})
	}
	return out, nil
}

// Remove deletes sent (or stale) events.
func (o *Outbox) Remove(ctx context.Context, keys []store.Key) error {
	for _, k := range keys {
		if err := o.t.Delete(ctx, k); err != nil {
			return fmt.Errorf("meta.Outbox.Remove: %w", err)
		}
	}
	return nil
}
