package gdpr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/gdpr"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

// auditor records entries, or fails when told to.
type auditor struct {
	mu      sync.Mutex
	entries []audit.Entry
	fail    error
}

func (a *auditor) Record(_ context.Context, tenant string, e audit.Entry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.entries = append(a.entries, e)
	return nil
}

type env struct {
	t       *testing.T
	tbl     *store.Table
	cipher  *pii.Cipher
	profile *profile.Store
	audit   *auditor
	svc     *gdpr.Service
	keyID   string // the cipher's local master key
	now     time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	tbl := storetest.Table(t, "gdpr")
	keyID := "file:" + t.TempDir()
	c, err := pii.New(context.Background(), keyID, tbl, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := &auditor{}
	return &env{t: t, tbl: tbl, cipher: c, profile: profile.NewStore(tbl, c, clock), audit: a, svc: gdpr.New(tbl, c, a, clock), keyID: keyID, now: now}
}

// customer creates a customer with fields, an order, events and consent, as
// ingest writes them, and returns its id.
func (e *env) customer(tenant, email, phone, first string, events int) string {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.profile.Resolve(ctx, tenant, profile.Identity{Email: email, Phone: phone})
	if err != nil {
		e.t.Fatal(err)
	}
	id := r.CustomerID
	if _, err := e.profile.UpdateFields(ctx, tenant, id, profile.Fields{Email: email, FirstName: first, LastName: "Doelittle"}, e.now); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.profile.ApplyOrder(ctx, tenant, id, profile.OrderState{OrderID: "o-" + first, Currency: "USD", PlacedAt: e.now, UpdatedAt: e.now, TotalCents: 4200}); err != nil {
		e.t.Fatal(err)
	}
	for i := range events {
		if _, err := e.profile.RecordEvent(ctx, tenant, id, profile.Event{EventID: fmt.Sprintf("%s-ev%d", first, i), Type: "page_view", Source: "collect"}, e.now.Add(time.Duration(i)*time.Second)); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.profile.SetConsent(ctx, tenant, id, profile.Consent{Channel: "email", State: profile.Subscribed, Source: "shopify"}, e.now); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// put writes raw items the way the segment and send functions do
// (docs/data-model.md).
func (e *env) put(items ...map[string]any) {
	e.t.Helper()
	for _, it := range items {
		if err := e.tbl.Put(context.Background(), it); err != nil {
			e.t.Fatal(err)
		}
	}
}

// items returns every item of partition pk.
func (e *env) items(pk string) []map[string]any {
	e.t.Helper()
	out, err := store.QueryAll[map[string]any](context.Background(), e.tbl, store.Query{PK: pk, Consistent: true}, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	jane := e.customer("t1", "jane@example.com", "+15550101001", "Jane", 3)
	merged := e.customer("t1", "jane.old@example.com", "+15550101002", "Janet", 1)
	if err := e.profile.Merge(ctx, "t1", jane, merged, "same person"); err != nil {
		t.Fatal(err)
	}
	other := e.customer("t1", "bob@example.com", "+15550102001", "Bob", 1)
	sealedTo, err := e.cipher.Seal(ctx, "t1", "jane@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sh := profile.Shard(jane)
	e.put(
		map[string]any{"PK": "T#t1", "SK": "SEG#champions", "name": "Champions"},
		map[string]any{"PK": "T#t1#SEG#champions#" + sh, "SK": "C#" + jane},
		map[string]any{"PK": "T#t1", "SK": "CAMP#c1", "name": "Spring sale"},
		map[string]any{"PK": "T#t1#CAMP#c1#" + sh, "SK": "D#" + jane + "#email", "status": "delivered", "to": sealedTo},
	)

	out, err := e.svc.Export(ctx, "t1", jane, "u-owner", "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(out)
	if strings.Contains(string(raw), "pii1.") {
		t.Errorf("export holds sealed values: %s", raw)
	}
	if out.CustomerID != jane || out.Profile["email"] != "jane@example.com" || out.Profile["firstName"] != "Jane" || !out.ExportedAt.Equal(e.now) {
		t.Errorf("profile %v at %v", out.Profile, out.ExportedAt)
	}
	// Jane's own orders, events and consent, and what the merge brought.
	if len(out.Orders) != 2 || len(out.Events) != 4 || len(out.Consents) != 1 || len(out.Merges) != 1 {
		t.Errorf("orders %d, events %d, consents %d, merges %d; want 2, 4, 1, 1", len(out.Orders), len(out.Events), len(out.Consents), len(out.Merges))
	}
	if m, ok := out.Merged[merged]; !ok || m.Profile["email"] != "jane.old@example.com" {
		t.Errorf("merged profile %s not exported: %v", merged, out.Merged)
	}
	if !slices.Equal(out.Segments, []string{"champions"}) {
		t.Errorf("segments %v", out.Segments)
	}
	if len(out.Deliveries) != 1 || out.Deliveries[0]["to"] != "jane@example.com" || out.Deliveries[0]["status"] != "delivered" {
		t.Errorf("deliveries %v", out.Deliveries)
	}
	if !slices.Equal(out.Identifiers, []string{"email", "email", "phone", "phone"}) {
		t.Errorf("identifier kinds %v", out.Identifiers)
	}
	if strings.Contains(string(raw), "bob@example.com") || strings.Contains(string(raw), other) {
		t.Errorf("export holds another customer: %s", raw)
	}
	if len(e.audit.entries) != 1 || e.audit.entries[0].Action != audit.CustomerExported || e.audit.entries[0].Target != jane ||
		e.audit.entries[0].ActorID != "u-owner" || e.audit.entries[0].IP != "203.0.113.9" {
		t.Errorf("audit %+v", e.audit.entries)
	}

	for name, id := range map[string]string{"unknown": "c_nobody", "another tenant's": jane, "malformed": "../T#t1"} {
		tenant := "t1"
		if name == "another tenant's" {
			tenant = "t2"
		}
		if _, err := e.svc.Export(ctx, tenant, id, "u", ""); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("%s id: %v, want NotFound", name, err)
		}
	}
	// An export that cannot be audited is not handed out.
	e.audit.fail = errors.New("audit log down")
	if _, err := e.svc.Export(ctx, "t1", jane, "u", ""); err == nil {
		t.Error("export without its audit entry")
	}
}

func TestErase(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// 40 events: the erasure deletes in several batches of 25.
	jane := e.customer("t1", "jane@example.com", "+15550101001", "Jane", 40)
	merged := e.customer("t1", "jane.old@example.com", "+15550101002", "Janet", 1)
	if err := e.profile.Merge(ctx, "t1", jane, merged, "same person"); err != nil {
		t.Fatal(err)
	}
	bob := e.customer("t1", "bob@example.com", "+15550102001", "Bob", 2)
	sealedTo, err := e.cipher.Seal(ctx, "t1", "jane@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sh := profile.Shard(jane)
	delivery := map[string]any{"PK": "T#t1#CAMP#c1#" + sh, "SK": "D#" + jane + "#email", "status": "delivered", "channel": "email",
		"to": sealedTo, "subject": "Hi Jane", "providerMessageId": "sg-1"}
	e.put(
		map[string]any{"PK": "T#t1", "SK": "SEG#champions"},
		map[string]any{"PK": "T#t1#SEG#champions#" + sh, "SK": "C#" + jane},
		map[string]any{"PK": "T#t1#SEG#champions#" + profile.Shard(bob), "SK": "C#" + bob},
		map[string]any{"PK": "T#t1", "SK": "CAMP#c1"},
		delivery,
	)
	bobBefore := e.items("T#t1#CUST#" + bob)

	rep, err := e.svc.Erase(ctx, "t1", jane, "u-owner", "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Erased || rep.CustomerID != jane || rep.DeliveriesRedacted != 1 || !slices.Equal(rep.MergedProfiles, []string{merged}) || rep.ItemsDeleted < 40 {
		t.Fatalf("erasure %+v", rep)
	}
	for _, pk := range []string{"T#t1#CUST#" + jane, "T#t1#CUST#" + merged, "T#t1#SEG#champions#" + sh} {
		for _, it := range e.items(pk) {
			if it["SK"] != "C#"+bob {
				t.Errorf("left after erasure: %v", it)
			}
		}
	}
	for _, email := range []string{"jane@example.com", "jane.old@example.com"} {
		if ids, err := e.profile.Lookup(ctx, "t1", profile.Identity{Email: email}); err != nil || len(ids) != 0 {
			t.Errorf("identity index still finds %s: %v, %v", email, ids, err)
		}
	}
	// The delivery record keeps its status (campaign reports), loses the person.
	var d map[string]any
	if err := e.tbl.Get(ctx, store.Key{PK: delivery["PK"].(string), SK: delivery["SK"].(string)}, &d); err != nil {
		t.Fatal(err)
	}
	if d["erased"] != true || d["status"] != "delivered" || d["channel"] != "email" || d["to"] != nil || d["subject"] != nil {
		t.Errorf("delivery record after erasure: %v", d)
	}
	// Bob is untouched, item for item.
	if after := e.items("T#t1#CUST#" + bob); fmt.Sprint(after) != fmt.Sprint(bobBefore) {
		t.Errorf("Bob changed:\nbefore %v\nafter  %v", bobBefore, after)
	}
	if ids, err := e.profile.Lookup(ctx, "t1", profile.Identity{Email: "bob@example.com"}); err != nil || !slices.Equal(ids, []string{bob}) {
		t.Errorf("Bob's identity: %v, %v", ids, err)
	}
	last := e.audit.entries[len(e.audit.entries)-1]
	if last.Action != audit.CustomerErased || last.Target != jane || last.Detail["mergedProfiles"] != merged || last.Detail["deliveriesRedacted"] != "1" {
		t.Errorf("audit %+v", last)
	}
	if _, err := e.svc.Erase(ctx, "t1", jane, "u", ""); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("erasing again: %v, want NotFound", err)
	}
	if _, err := e.svc.Erase(ctx, "t2", bob, "u", ""); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("another tenant erasing Bob: %v, want NotFound", err)
	}
}

func TestShredTenant(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	jane := e.customer("t1", "jane@example.com", "+15550101001", "Jane", 1)
	bob := e.customer("t2", "bob@example.com", "+15550102001", "Bob", 1)
	// The audit entry comes first: a shredding that cannot be recorded
	// does not happen.
	e.audit.fail = errors.New("audit log down")
	if err := e.svc.ShredTenant(ctx, "t1", "support"); err == nil {
		t.Fatal("shredded without an audit entry")
	}
	if p, err := e.profile.Profile(ctx, "t1", jane); err != nil {
		t.Fatal(err)
	} else if _, err := e.cipher.Open(ctx, "t1", p.Email); err != nil {
		t.Fatalf("data unreadable after a refused shredding: %v", err)
	}
	e.audit.fail = nil
	if err := e.svc.ShredTenant(ctx, "t1", "support"); err != nil {
		t.Fatal(err)
	}
	if len(e.audit.entries) != 1 || e.audit.entries[0].Action != audit.TenantShredded || e.audit.entries[0].Target != "t1" {
		t.Fatalf("audit %+v", e.audit.entries)
	}
	p, err := e.profile.Profile(ctx, "t1", jane)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh cipher (no cached keys) cannot open t1's values; t2's open.
	fresh, err := pii.New(ctx, e.keyID, e.tbl, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*pii.Cipher{e.cipher, fresh} {
		if v, err := c.Open(ctx, "t1", p.Email); err == nil {
			t.Fatalf("t1's email readable after shredding: %q", v)
		}
	}
	pb, err := e.profile.Profile(ctx, "t2", bob)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := fresh.Open(ctx, "t2", pb.Email); err != nil || v != "bob@example.com" {
		t.Fatalf("t2's email after t1's shredding: %q, %v", v, err)
	}
}
