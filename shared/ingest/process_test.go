package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/bus"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/gdpr"
	"github.com/pulsehub/pulsehub/shared/idem"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

type recorder struct{ events []bus.Event }

func (r *recorder) Publish(_ context.Context, evs ...bus.Event) error {
	r.events = append(r.events, evs...)
	return nil
}

// harness is a Processor over a fresh table with its real dependencies.
type harness struct {
	p      *ingest.Processor
	ps     *profile.Store
	rec    *recorder
	tbl    *store.Table
	cipher *pii.Cipher
	integ  *integration.Store
	audit  *audit.Log
}

func newHarness(t *testing.T) harness {
	ctx := context.Background()
	tbl := storetest.Table(t, "ingest")
	c, err := pii.New(ctx, "file:"+t.TempDir(), tbl, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	h := harness{ps: profile.NewStore(tbl, c, time.Now), rec: &recorder{}, tbl: tbl, cipher: c,
		integ: integration.NewStore(tbl, c, time.Now), audit: audit.New(tbl, time.Now, nil)}
	comp := ingest.Compliance{Privacy: gdpr.New(tbl, c, h.audit, time.Now), Integrations: h.integ, Audit: h.audit}
	h.p = ingest.NewProcessor(slog.New(slog.NewTextHandler(io.Discard, nil)), h.ps, idem.New(tbl, time.Now), h.rec, comp, nil)
	return h
}

func setup(t *testing.T) (*ingest.Processor, *profile.Store, *recorder) {
	h := newHarness(t)
	return h.p, h.ps, h.rec
}

func env(topic, id, body string, headers map[string]string) []byte {
	return envelope(ingest.Envelope{V: 1, Source: "shopify", Tenant: "t1", Topic: topic, ID: id, TriggeredAt: time.Now(), ReceivedAt: time.Now(), Headers: headers, Body: json.RawMessage(body)})
}

// envelope encodes e; a body that is not JSON cannot be encoded and
// panics (the tests write their bodies by hand).
func envelope(e ingest.Envelope) []byte {
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("envelope %s/%s: %v", e.Topic, e.ID, err))
	}
	return b
}

const order1 = `{"id":1001,"email":"ann@example.com","created_at":"2025-02-01T10:00:00Z","updated_at":"2025-02-01T10:00:00Z","total_price":"40.00","currency":"EUR","customer":{"id":77,"email":"ann@example.com","first_name":"Ann","updated_at":"2025-02-01T10:00:00Z","email_marketing_consent":{"state":"subscribed","consent_updated_at":"2025-02-01T10:00:00Z"}}}`
const order1Paid = `{"id":1001,"email":"ann@example.com","created_at":"2025-02-01T10:00:00Z","updated_at":"2025-02-01T11:00:00Z","total_price":"40.00","currency":"EUR","financial_status":"paid","customer":{"id":77}}`

func TestDuplicatesAndOutOfOrder(t *testing.T) {
	p, ps, rec := setup(t)
	ctx := context.Background()
	// orders/paid (newer) arrives before orders/create; create is delivered twice,
	// once more under another webhook id but the same event id.
	for _, m := range [][]byte{
		env("orders/paid", "w2", order1Paid, nil),
		env("orders/create", "w1", order1, map[string]string{"x-shopify-event-id": "e1"}),
		env("orders/create", "w1", order1, map[string]string{"x-shopify-event-id": "e1"}),
		env("orders/create", "w3", order1, map[string]string{"x-shopify-event-id": "e1"}),
	} {
		if err := p.Process(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	r, err := ps.Resolve(ctx, "t1", profile.Identity{Email: "ANN@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := ps.Profile(ctx, "t1", r.CustomerID)
	if err != nil || pr.OrdersCount != 1 || pr.TotalSpentCents != 4000 {
		t.Fatalf("counted %d orders, %d cents (%v)", pr.OrdersCount, pr.TotalSpentCents, err)
	}
	created := 0
	for _, e := range rec.events {
		if e.DetailType == catalog.EventOrderCreated {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("order.created published %d times", created)
	}
	tl, err := ps.Timeline(ctx, "t1", r.CustomerID, 0)
	if err != nil {
		t.Fatal(err)
	}
	orders := 0
	for _, e := range tl {
		if e.Kind != "order" {
			continue
		}
		orders++
		if e.Data["financialStatus"] != "paid" {
			t.Fatalf("older create overwrote the paid state: %v", e.Data)
		}
	}
	if orders != 1 {
		t.Fatalf("timeline has %d orders, want 1: %+v", orders, tl)
	}
}

func TestPoisonIsInvalid(t *testing.T) {
	p, _, _ := setup(t)
	for name, m := range map[string][]byte{
		"not an envelope":      []byte(`{"v":`),
		"malformed order body": env("orders/create", "w9", `"{\"id\":"`, nil),
		"unknown source":       []byte(`{"v":1,"source":"x","tenant":"t1","topic":"a","id":"1","body":{}}`),
	} {
		err := p.Process(context.Background(), m)
		if apperr.KindOf(err) != apperr.Invalid || apperr.Retryable(apperr.KindOf(err)) {
			t.Errorf("%s: %v (kind %s), want Invalid so batch dead-letters it", name, err, apperr.KindOf(err))
		}
	}
}

func TestSMSStopAndStart(t *testing.T) {
	p, ps, rec := setup(t)
	ctx := context.Background()
	send := func(id, text string, at time.Time) {
		body := fmt.Sprintf(`{"MessageSid":%q,"From":"+15551230000","To":"+15559870000","Body":%q}`, id, text)
		b := envelope(ingest.Envelope{V: 1, Source: "twilio", Tenant: "t1", Topic: "twilio/inbound", ID: id, TriggeredAt: at, ReceivedAt: at, Body: json.RawMessage(body)})
		if err := p.Process(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	send("SM1", " stop ", t0)
	send("SM2", "HELP", t0.Add(time.Minute))
	r, err := ps.Resolve(ctx, "t1", profile.Identity{Phone: "+1 555 123 0000"})
	if err != nil || r.Created {
		t.Fatalf("the sender's profile: %+v, %v (created now, so the messages made none)", r, err)
	}
	cs, err := ps.Consents(ctx, "t1", r.CustomerID)
	if err != nil || len(cs) != 1 || cs[0].Channel != "sms" || cs[0].State != profile.Unsubscribed {
		t.Fatalf("after STOP/HELP: %+v, %v", cs, err)
	}
	send("SM3", "START", t0.Add(2*time.Minute))
	cs, err = ps.Consents(ctx, "t1", r.CustomerID)
	if err != nil || len(cs) != 1 || cs[0].State != profile.Subscribed {
		t.Fatalf("after START: %+v, %v", cs, err)
	}
	n := 0
	for _, e := range rec.events {
		if e.DetailType == catalog.EventConsentChanged {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("consent.changed %d times", n)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(env("orders/create", "w1", order1, nil))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ingest.Decode(b)
		if err == nil && e.Validate() != nil {
			t.Fatal("decoded an invalid envelope")
		}
		if err != nil && apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("kind %s", apperr.KindOf(err))
		}
	})
}

func TestKeyword(t *testing.T) {
	for in, want := range map[string]string{"STOP": "unsubscribed", "stop.": "unsubscribed", "Unsubscribe": "unsubscribed", "STOPALL": "unsubscribed",
		"revoke": "unsubscribed", "OPTOUT": "unsubscribed", "cancel": "unsubscribed", "END": "unsubscribed", "quit": "unsubscribed",
		"START": "subscribed", "unstop": "subscribed", "HELP": "", "stop please": ""} {
		if got := ingest.Keyword(in); got != want {
			t.Errorf("Keyword(%q) = %q, want %q", in, got, want)
		}
	}
}
