package meta_test

import (
	"context"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/meta"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

// An event added again — before or after it was sent and removed — is
// queued once; events without an id or of another kind are refused.
func TestOutboxAddIsIdempotentAcrossSends(t *testing.T) {
	ctx := context.Background()
	ob := meta.NewOutbox(storetest.Table(t, "meta"))
	at := time.Now().Add(-time.Hour)
	e1, e2 := event(1, at), event(2, at)
	for i, want := range []bool{true, false} {
		if added, err := ob.Add(ctx, "t1", e1); err != nil || added != want {
			t.Fatalf("add #%d: %v, %v; want %v", i+1, added, err, want)
		}
	}
	// Another tenant's event with the same id is its own.
	if added, err := ob.Add(ctx, "t2", e1); err != nil || !added {
		t.Fatalf("other tenant: %v, %v", added, err)
	}
	pending, err := ob.Next(ctx, "t1", 10)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %d, %v", len(pending), err)
	}
	if err := ob.Remove(ctx, []store.Key{pending[0].Key}); err != nil {
		t.Fatal(err)
	}
	// Sent and removed: a redelivery does not queue it again; a new id does.
	if added, err := ob.Add(ctx, "t1", e1); err != nil || added {
		t.Fatalf("re-add after send: %v, %v", added, err)
	}
	if added, err := ob.Add(ctx, "t1", e2); err != nil || !added {
		t.Fatalf("new event: %v, %v", added, err)
	}
	if pending, _ := ob.Next(ctx, "t1", 10); len(pending) != 1 || pending[0].Event.EventID != e2.EventID {
		t.Fatalf("pending after re-add: %+v", pending)
	}
	noID := e2
	noID.EventID = ""
	if _, err := ob.Add(ctx, "t1", noID); err == nil {
		t.Fatal("event without an id accepted")
	}
	other := e2
	other.EventName = "Lead"
	if _, err := ob.Add(ctx, "t1", other); err == nil {
		t.Fatal("non-forwarded event accepted")
	}
}
