package profile_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

// newStore provisions a fresh table and a file-keyed cipher.
func newStore(t *testing.T) (*profile.Store, *store.Table) {
	t.Helper()
	ctx := context.Background()
	tbl := storetest.Table(t, "profile")
	c, err := pii.New(ctx, "file:"+t.TempDir(), tbl, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return profile.NewStore(tbl, c, time.Now), tbl
}

func mustResolve(t *testing.T, s *profile.Store, tenant string, id profile.Identity) profile.Resolved {
	t.Helper()
	r, err := s.Resolve(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolveCreatesAttachesAndMerges(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	anon := mustResolve(t, s, "t1", profile.Identity{AnonymousID: "anon-1"})
	if !anon.Created {
		t.Fatal("first sight should create")
	}
	again := mustResolve(t, s, "t1", profile.Identity{AnonymousID: "anon-1"})
	if again.Created || again.CustomerID != anon.CustomerID {
		t.Fatalf("same anonymous id resolved to %+v", again)
	}
	shop := mustResolve(t, s, "t1", profile.Identity{ShopifyID: "207119551", Email: "Ann@Example.com"})
	if _, err := s.ApplyOrder(ctx, "t1", shop.CustomerID, order("1", 5990, time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordEvent(ctx, "t1", anon.CustomerID, profile.Event{EventID: "e1", Type: "page_view", Channel: "web", Source: "collect"}, time.Date(2025, 1, 1, 20, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	// The visitor logs in: anonymous id and email together merge the two.
	m := mustResolve(t, s, "t1", profile.Identity{AnonymousID: "anon-1", Email: "ann@example.com"})
	if m.CustomerID != shop.CustomerID || len(m.Merged) != 1 || m.Merged[0] != anon.CustomerID {
		t.Fatalf("merge result %+v (shop %s anon %s)", m, shop.CustomerID, anon.CustomerID)
	}
	p, err := s.Profile(ctx, "t1", anon.CustomerID)
	if err != nil || p.ID != shop.CustomerID {
		t.Fatalf("merged id should lead to the survivor: %+v %v", p.ID, err)
	}
	if p.OrdersCount != 1 || len(p.IndexKeys) != 3 || p.Hours[20] != 1 || p.Hours[9] != 1 {
		t.Fatalf("survivor after merge: orders %d keys %v hours %v", p.OrdersCount, p.IndexKeys, p.Hours)
	}
	tl, err := s.Timeline(ctx, "t1", shop.CustomerID, 0)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range tl {
		kinds[e.Kind]++
	}
	if kinds["order"] != 1 || kinds["event"] != 1 || kinds["merge"] != 1 {
		t.Fatalf("timeline kinds %v", kinds)
	}
	// Undo: the anonymous profile and its event come back.
	merges, err := s.Merges(ctx, "t1", shop.CustomerID)
	if err != nil || len(merges) != 1 {
		t.Fatalf("merges %v %v", merges, err)
	}
	if err := s.Unmerge(ctx, "t1", shop.CustomerID, merges[0].SK); err != nil {
		t.Fatal(err)
	}
	back := mustResolve(t, s, "t1", profile.Identity{AnonymousID: "anon-1"})
	if back.CustomerID != anon.CustomerID {
		t.Fatalf("after unmerge anon resolves to %s", back.CustomerID)
	}
	ap, _ := s.Profile(ctx, "t1", anon.CustomerID)
	sp, _ := s.Profile(ctx, "t1", shop.CustomerID)
	if ap.ID != anon.CustomerID || ap.MergedInto != "" || sp.OrdersCount != 1 || len(sp.IndexKeys) != 2 {
		t.Fatalf("after unmerge: anon %+v survivor keys %v", ap, sp.IndexKeys)
	}
	atl, _ := s.Timeline(ctx, "t1", anon.CustomerID, 0)
	if len(atl) != 1 || atl[0].Kind != "event" {
		t.Fatalf("anon timeline after unmerge %+v", atl)
	}
	// Tenants never share identities.
	other := mustResolve(t, s, "t2", profile.Identity{Email: "ann@example.com"})
	if !other.Created {
		t.Fatal("another tenant's email must not resolve to this tenant's customer")
	}
}

func order(id string, cents int64, placed time.Time) profile.OrderState {
	return profile.OrderState{OrderID: id, Currency: "EUR", TotalCents: cents, PlacedAt: placed, UpdatedAt: placed}
}

func TestApplyOrderIsIdempotentAndOrdered(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	cid := mustResolve(t, s, "t1", profile.Identity{ShopifyID: "1"}).CustomerID
	placed := time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)
	o := order("100", 10000, placed)
	r1, err := s.ApplyOrder(ctx, "t1", cid, o)
	if err != nil || !r1.Created {
		t.Fatalf("first: %+v %v", r1, err)
	}
	r2, err := s.ApplyOrder(ctx, "t1", cid, o) // redelivery
	if err != nil || r2.Created || r2.Applied {
		t.Fatalf("duplicate: %+v %v", r2, err)
	}
	// A newer state with a refund, then the older state arriving late.
	newer := o
	newer.UpdatedAt, newer.RefundedCents, newer.RefundIDs = placed.Add(time.Hour), 2500, []string{"r1"}
	if _, err := s.ApplyOrder(ctx, "t1", cid, newer); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ApplyOrder(ctx, "t1", cid, o); r.Applied {
		t.Fatal("older state applied")
	}
	// refunds/create for the same refund id does nothing; a new one counts.
	if ok, err := s.ApplyRefund(ctx, "t1", "100", "r1", 2500, placed.Add(2*time.Hour)); err != nil || ok {
		t.Fatalf("known refund: %v %v", ok, err)
	}
	if _, err := s.ApplyOrder(ctx, "t1", cid, order("101", 3000, placed.Add(48*time.Hour))); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Profile(ctx, "t1", cid)
	if p.OrdersCount != 2 || p.TotalSpentCents != 7500+3000 || p.FirstOrderAt != "2025-02-01T10:00:00Z" || p.LastOrderAt != "2025-02-03T10:00:00Z" {
		t.Fatalf("aggregates %+v", p)
	}
	if aov := p.AverageOrderValue(); aov != 52.5 {
		t.Fatalf("AOV %v", aov)
	}
	cancelled := order("101", 3000, placed.Add(48*time.Hour))
	at := placed.Add(50 * time.Hour)
	cancelled.UpdatedAt, cancelled.CancelledAt = at, &at
	if _, err := s.ApplyOrder(ctx, "t1", cid, cancelled); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Profile(ctx, "t1", cid)
	if p.OrdersCount != 1 || p.TotalSpentCents != 7500 {
		t.Fatalf("after cancel %d %d", p.OrdersCount, p.TotalSpentCents)
	}
}

func TestConsentNewestWins(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	cid := mustResolve(t, s, "t1", profile.Identity{Phone: "+15551230000"}).CustomerID
	t0 := time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		state       string
		at          time.Time
		wantChanged bool
	}{
		{profile.Subscribed, t0, true},
		{profile.Subscribed, t0, false},                       // redelivery
		{profile.Unsubscribed, t0.Add(time.Minute), true},     // STOP
		{profile.Subscribed, t0.Add(30 * time.Second), false}, // older, arrives late
		{profile.Subscribed, t0.Add(2 * time.Minute), true},   // START
	}
	for i, st := range steps {
		changed, err := s.SetConsent(ctx, "t1", cid, profile.Consent{Channel: "sms", State: st.state, Source: "twilio"}, st.at)
		if err != nil || changed != st.wantChanged {
			t.Fatalf("step %d: changed=%v err=%v", i, changed, err)
		}
	}
	cs, _ := s.Consents(ctx, "t1", cid)
	if len(cs) != 1 || cs[0].State != profile.Subscribed {
		t.Fatalf("consents %+v", cs)
	}
}

// TestConsentFromTheFuture: a statement dated far ahead (a provider's clock
// error) counts as of now, so the next real statement still wins.
func TestConsentFromTheFuture(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	cid := mustResolve(t, s, "t1", profile.Identity{Phone: "+15551230001"}).CustomerID
	future := time.Now().AddDate(1, 0, 0).Truncate(time.Second)
	if _, err := s.SetConsent(ctx, "t1", cid, profile.Consent{Channel: "sms", State: profile.Unsubscribed, Source: "shopify"}, future); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	changed, err := s.SetConsent(ctx, "t1", cid, profile.Consent{Channel: "sms", State: profile.Subscribed, Source: "twilio"}, time.Now())
	if err != nil || !changed {
		t.Fatalf("a real statement after one dated a year ahead: changed=%v err=%v", changed, err)
	}
	// The provider sends the same future-dated statement again (another
	// customers/update carrying it): it is not new, the later one stands
	// (without the remembered stated time it would count as of now, later).
	time.Sleep(2 * time.Millisecond)
	if changed, err := s.SetConsent(ctx, "t1", cid, profile.Consent{Channel: "sms", State: profile.Unsubscribed, Source: "shopify"}, future); err != nil || changed {
		t.Fatalf("the same future-dated statement again: changed=%v err=%v", changed, err)
	}
	cs, _ := s.Consents(ctx, "t1", cid)
	if len(cs) != 1 || cs[0].State != profile.Subscribed {
		t.Fatalf("after the restatement: %+v, want the later subscribed to stand", cs)
	}
}

func TestListShardsAndSearch(t *testing.T) {
	s, tbl := newStore(t)
	ctx := context.Background()
	want := map[string]bool{}
	for i := range 23 {
		r := mustResolve(t, s, "t1", profile.Identity{Email: "c" + string(rune('a'+i)) + "@example.com"})
		want[r.CustomerID] = true
	}
	l := profile.NewLister(s)
	got := map[string]bool{}
	cursor, pages := "", 0
	for {
		items, next, err := l.List(ctx, "t1", profile.ListQuery{Cursor: cursor, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range items {
			if got[c.ID] {
				t.Fatalf("%s listed twice", c.ID)
			}
			got[c.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != len(want) || pages != 5 {
		t.Fatalf("listed %d of %d in %d pages", len(got), len(want), pages)
	}
	if _, _, err := l.List(ctx, "t2", profile.ListQuery{Cursor: cursor + "x"}); err == nil {
		t.Fatal("tampered cursor accepted")
	}
	items, _, err := l.List(ctx, "t1", profile.ListQuery{Q: "CC@example.com "})
	if err != nil || len(items) != 1 || items[0].Email != "cc@example.com" {
		t.Fatalf("search: %+v %v", items, err)
	}
	if _, _, err := l.List(ctx, "t1", profile.ListQuery{Q: "Ann"}); err == nil {
		t.Fatal("name search should be refused with a reason")
	}
	_ = tbl
}

func TestConsentByChannel(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	cid := mustResolve(t, s, "t1", profile.Identity{Email: "ann@example.com"}).CustomerID
	t0 := time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []profile.Consent{
		{Channel: "email", State: profile.Subscribed, Source: "shopify"},
		{Channel: "sms", State: profile.Unsubscribed, Source: "twilio", Detail: "STOP"},
	} {
		if _, err := s.SetConsent(ctx, "t1", cid, c, t0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ConsentByChannel(ctx, "t1", cid)
	if err != nil {
		t.Fatal(err)
	}
	want := []profile.ChannelConsent{
		{Channel: "email", State: profile.Subscribed, Source: "shopify"},
		{Channel: "sms", State: profile.Unsubscribed, Source: "twilio"},
		{Channel: "whatsapp", State: profile.NotSubscribed},
		{Channel: "push", State: profile.NotSubscribed},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		g := got[i]
		if g.Channel != w.Channel || g.State != w.State || g.Source != w.Source {
			t.Errorf("channel %d = %+v, want %+v", i, g, w)
		}
		at, err := time.Parse(time.RFC3339Nano, g.UpdatedAt)
		if (w.Source != "") != (err == nil) || (err == nil && !at.Equal(t0)) {
			t.Errorf("%s updatedAt %q", w.Channel, g.UpdatedAt)
		}
	}
}

// TestUnmergeConcurrently: several undos of the same merge at once (a
// double click, a client retry) subtract the merged customer's share once.
func TestUnmergeConcurrently(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for round := range 3 {
		anonID := fmt.Sprintf("anon-undo-%d", round)
		email := fmt.Sprintf("undo%d@example.com", round)
		shop := mustResolve(t, s, "t1", profile.Identity{Email: email})
		anon := mustResolve(t, s, "t1", profile.Identity{AnonymousID: anonID})
		if _, err := s.ApplyOrder(ctx, "t1", shop.CustomerID, order(fmt.Sprint(round*10+1), 500, time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyOrder(ctx, "t1", anon.CustomerID, order(fmt.Sprint(round*10+2), 700, time.Date(2025, 1, 3, 9, 0, 0, 0, time.UTC))); err != nil {
			t.Fatal(err)
		}
		m := mustResolve(t, s, "t1", profile.Identity{AnonymousID: anonID, Email: email})
		merges, err := s.Merges(ctx, "t1", m.CustomerID)
		if err != nil || len(merges) != 1 {
			t.Fatalf("merges %v %v", merges, err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := s.Unmerge(ctx, "t1", m.CustomerID, merges[0].SK); err != nil {
					t.Errorf("undo: %v", err)
				}
			})
		}
		wg.Wait()
		survivor, _ := s.Profile(ctx, "t1", m.CustomerID)
		restored, _ := s.Profile(ctx, "t1", m.Merged[0])
		if survivor.OrdersCount+restored.OrdersCount != 2 || survivor.TotalSpentCents+restored.TotalSpentCents != 1200 || survivor.OrdersCount != 1 {
			t.Fatalf("round %d after 4 concurrent undos: survivor %d orders / %d cents, restored %d / %d; want one order each, 1200 cents in all",
				round, survivor.OrdersCount, survivor.TotalSpentCents, restored.OrdersCount, restored.TotalSpentCents)
		}
	}
}
