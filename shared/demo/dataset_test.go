package demo

import (
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/shopify"
)

var today = time.Date(2025, 11, 25, 15, 4, 5, 0, time.UTC)

func digest(t *testing.T, d Dataset) [32]byte {
	h := sha256.New()
	for _, w := range d.Webhooks {
		h.Write([]byte(w.Topic + w.WebhookID + w.EventID + w.TriggeredAt.String()))
		h.Write(w.Body)
	}
	b, err := json.Marshal(d.Collect)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(b)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestBuildIsDeterministic(t *testing.T) {
	a, err := Build(today)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(today)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, a) != digest(t, b) {
		t.Fatal("two builds for the same day differ")
	}
	c, _ := Build(today.Add(24 * time.Hour))
	if digest(t, a) == digest(t, c) {
		t.Fatal("a different day gives the same data; dates are not shifted")
	}
}

func TestBuildFollowsCDNOW(t *testing.T) {
	d, err := Build(today)
	if err != nil {
		t.Fatal(err)
	}
	h := d.History
	if len(h.Customers) != 2357 {
		t.Fatalf("%d customers, want 2357", len(h.Customers))
	}
	// 6,919 transactions, same-day rows merged.
	if len(h.Orders) < 6000 || len(h.Orders) > 6919 {
		t.Fatalf("%d orders", len(h.Orders))
	}
	var last time.Time
	emails := map[string]bool{}
	for _, c := range h.Customers {
		if c.Email == "" || emails[c.Email] || c.FirstName == "" || c.Phone == "" || c.EmailMarketingConsent == nil {
			t.Fatalf("customer %+v", c)
		}
		emails[c.Email] = true
	}
	for _, o := range h.Orders {
		if o.CreatedAt.After(today) {
			t.Fatalf("order %d in the future: %s", o.ID, o.CreatedAt)
		}
		if o.CreatedAt.After(last) {
			last = o.CreatedAt
		}
		var cents int64
		for _, li := range o.LineItems {
			cents += parseCents(li.Price) * int64(li.Quantity)
			if li.SKU == "" || li.Title == "" {
				t.Fatalf("line item %+v", li)
			}
		}
		if cents != parseCents(o.TotalPrice) {
			t.Fatalf("order %d: lines add to %d cents, total %s", o.ID, cents, o.TotalPrice)
		}
	}
	if today.Sub(last) > 48*time.Hour {
		t.Fatalf("history ends %s, want about today", last)
	}
	topics := map[string]int{}
	for _, w := range d.Webhooks {
		topics[w.Topic]++
	}
	if topics[shopify.TopicCustomersCreate] != 2357 || topics[shopify.TopicOrdersCreate] != len(h.Orders) ||
		topics[shopify.TopicOrdersPaid] == 0 || topics[shopify.TopicRefundsCreate] == 0 || topics[shopify.TopicOrdersCancelled] == 0 ||
		topics[shopify.TopicCheckoutsCreate] == 0 || len(d.Collect) == 0 {
		t.Fatalf("webhook mix %v, %d collect events", topics, len(d.Collect))
	}
	t.Logf("webhooks %v, collect events %d", topics, len(d.Collect))
}

func BenchmarkBuild(b *testing.B) {
	for b.Loop() {
		if _, err := Build(today); err != nil {
			b.Fatal(err)
		}
	}
}
