package meta_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/meta"
)

func event(i int, at time.Time) meta.Event {
	return meta.Event{EventName: meta.EventPurchase, EventTime: at.Unix(), EventID: "evt-" + strconv.Itoa(i), ActionSource: "website",
		UserData:   meta.UserDataOf(meta.Person{Email: "buyer@example.com", ClientIP: "203.0.113.9", UserAgent: "UA"}),
		CustomData: &meta.CustomData{Currency: "USD", Value: 29.98, OrderID: strconv.Itoa(i)}}
}

func TestBatchesSplitAtLimit(t *testing.T) {
	for _, n := range []int{0, 1, 999, 1000, 1001, 2500} {
		evs := make([]meta.Event, n)
		b := meta.Batches(evs, meta.MaxBatch)
		total := 0
		for _, x := range b {
			if len(x) == 0 || len(x) > meta.MaxBatch {
				t.Fatalf("n=%d: batch of %d", n, len(x))
			}
			total += len(x)
		}
		if want := (n + meta.MaxBatch - 1) / meta.MaxBatch; total != n || len(b) != want {
			t.Fatalf("n=%d: %d batches holding %d, want %d holding %d", n, len(b), total, want, n)
		}
	}
}

func TestSevenDayCutoff(t *testing.T) {
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	evs := []meta.Event{event(1, now.Add(-7*24*time.Hour)), event(2, now.Add(-7*24*time.Hour-time.Second)), event(3, now)}
	fresh, stale := meta.SplitStale(evs, now)
	if len(fresh) != 2 || len(stale) != 1 || stale[0].EventID != "evt-2" {
		t.Fatalf("fresh %d stale %v", len(fresh), stale)
	}
}

// Against the Graph sandbox: 2,300 events go in 3 requests, stale ones are
// never sent, and the wire format passes Meta's checks (hashed user data,
// event_id kept for deduplication).
func TestSendAgainstSandbox(t *testing.T) {
	g := sandbox.NewMetaGraph(nil)
	srv := httptest.NewServer(g.Handler(sandbox.Env{}))
	defer srv.Close()
	c := meta.NewClient(nil, srv.URL, "", "123456", "token", "secret")
	now := time.Now()
	var evs []meta.Event
	for i := range 2300 {
		evs = append(evs, event(i, now.Add(-time.Duration(i)*time.Minute)))
	}
	evs = append(evs, event(9999, now.Add(-8*24*time.Hour)))
	res, err := c.Send(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	got, requests := g.Received("123456")
	if res.Received != 2300 || res.Stale != 1 || res.Batches != 3 || requests != 3 || len(got) != 2300 {
		t.Fatalf("result %+v, sandbox saw %d events in %d requests", res, len(got), requests)
	}
	var first struct {
		EventID  string         `json:"event_id"`
		UserData map[string]any `json:"user_data"`
	}
	if err := json.Unmarshal(got[0], &first); err != nil {
		t.Fatal(err)
	}
	if first.EventID != "evt-0" || first.UserData["client_ip_address"] != "203.0.113.9" {
		t.Fatalf("first event on the wire: %s", got[0])
	}
}

func TestSandboxRejectsUnhashedData(t *testing.T) {
	g := sandbox.NewMetaGraph(nil)
	srv := httptest.NewServer(g.Handler(sandbox.Env{}))
	defer srv.Close()
	c := meta.NewClient(nil, srv.URL, "", "1", "token", "")
	e := event(1, time.Now())
	e.UserData.Em = []string{"buyer@example.com"}
	_, err := c.Send(context.Background(), []meta.Event{e})
	if apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("unhashed email: err = %v, want invalid", err)
	}
	if _, err := meta.NewClient(nil, srv.URL, "", "1", "", "").Send(context.Background(), []meta.Event{event(1, time.Now())}); apperr.KindOf(err) != apperr.Unauthorized {
		t.Fatalf("no token: err = %v, want unauthorized", err)
	}
}

func BenchmarkUserDataOf(b *testing.B) {
	p := meta.Person{Email: " Buyer@Example.com", Phone: "(650) 555-1212", FirstName: "Mary", LastName: "O'Brien", City: "Menlo Park", State: "California", Zip: "94025-1234", Country: "US", ExternalID: "c_123"}
	for b.Loop() {
		_ = meta.UserDataOf(p)
	}
}
