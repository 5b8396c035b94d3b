package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Fuzz tests of the provider payload parsers (the pure part of each
// normaliser): they never panic, and what they accept is usable.

var fuzzAt = time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)

func fuzzEnv(source, topic string, body []byte) Envelope {
	return Envelope{V: Version, Source: source, Tenant: "t1", Topic: topic, ID: "w1", TriggeredAt: fuzzAt, ReceivedAt: fuzzAt, Body: body}
}

// mustInvalid fails unless err is classified apperr.Invalid.
func mustInvalid(t *testing.T, err error) {
	t.Helper()
	if k := apperr.KindOf(err); k != apperr.Invalid {
		t.Fatalf("error kind %s, want invalid: %v", k, err)
	}
}

func FuzzParseTwilio(f *testing.F) {
	f.Add(false, []byte(`{"MessageSid":"SM1","MessageStatus":"delivered","To":"+15559870000","From":"+15551230000"}`))
	f.Add(false, []byte(`{"SmsSid":"SM2","MessageStatus":"undelivered","To":"+15559870000","ErrorCode":"30003"}`))
	f.Add(true, []byte(`{"MessageSid":"SM3","From":"+15551230000","To":"+15559870000","Body":"STOP"}`))
	f.Add(true, []byte(`{"MessageSid":"SM4","Body":"hi"}`))
	f.Add(false, []byte(`{"MessageSid":1}`))
	f.Fuzz(func(t *testing.T, inbound bool, body []byte) {
		topic := "twilio/status"
		if inbound {
			topic = "twilio/inbound"
		}
		c, err := parseTwilio(fuzzEnv(SourceTwilio, topic, body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if c.SID == "" || c.Phone == "" || (!inbound && c.Status == "") {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func FuzzParseSendGrid(f *testing.F) {
	f.Add([]byte(`[{"email":"ann@example.com","event":"delivered","sg_event_id":"e1","sg_message_id":"m1.filter0001","timestamp":1738404000}]`))
	f.Add([]byte(`[{"email":"ann@example.com","event":"click","sg_message_id":"m1.x","timestamp":1738404060,"url":"https://shop.example/p"},` +
		`{"email":"ann@example.com","event":"group_unsubscribe","sg_event_id":"e3","timestamp":1738404120,"asm_group_id":7}]`))
	f.Add([]byte(`[{"event":"open"}]`))
	f.Add([]byte(`{"event":"open"}`))
	f.Add([]byte(`[{"email":"a@b","event":"bounce","timestamp":-5,"reason":"550"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := parseSendGrid(fuzzEnv(SourceSendGrid, "sendgrid/events", body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		for _, e := range evs {
			if e.Email == "" || e.Event == "" || e.ID == "" || e.At.IsZero() || strings.Contains(e.MsgID, ".") {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

func FuzzParseWhatsApp(f *testing.F) {
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"statuses":[{"id":"wamid.OUT1","status":"delivered","timestamp":"1738404000","recipient_id":"15550001111"}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"messages":[{"from":"15550001111","id":"wamid.IN1","timestamp":"1738404000","type":"text","text":{"body":"stop"}}]}}]}]}`))
	f.Add([]byte(`{"entry":[{"changes":[{"value":{"messages":[{"from":"+","id":"x"}]}}]}]}`))
	f.Add([]byte(`{"entry":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, ss, err := parseWhatsApp(fuzzEnv(SourceWhatsApp, "whatsapp/messages", body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		for _, m := range ms {
			if m.ID == "" || strings.TrimPrefix(m.From, "+") == "" {
				t.Fatalf("accepted message %+v", m)
			}
			_ = unixString(m.Timestamp, fuzzAt)
		}
		for _, s := range ss {
			if s.ID == "" || s.Status == "" || strings.TrimPrefix(s.RecipientID, "+") == "" {
				t.Fatalf("accepted status %+v", s)
			}
			if at := unixString(s.Timestamp, fuzzAt); at.IsZero() {
				t.Fatalf("zero time from %q", s.Timestamp)
			}
		}
	})
}

const fuzzOrder = `{"id":1001,"name":"#1001","email":"ann@example.com","created_at":"2025-02-01T10:00:00Z","updated_at":"2025-02-01T10:00:00Z",` +
	`"total_price":"40.00","currency":"EUR","financial_status":"paid","fulfillment_status":null,"checkout_token":"ck1",` +
	`"line_items":[{"id":1,"product_id":9,"title":"Mug","sku":"MUG","quantity":2,"price":"20.00"}],` +
	`"refunds":[{"id":5,"order_id":1001,"created_at":"2025-02-02T10:00:00Z","transactions":[{"kind":"refund","status":"success","amount":"5.50"}]}],` +
	`"customer":{"id":77,"email":"ann@example.com","first_name":"Ann","updated_at":"2025-02-01T10:00:00Z","email_marketing_consent":{"state":"subscribed"}}}`

func FuzzParseOrder(f *testing.F) {
	f.Add([]byte(fuzzOrder))
	f.Add([]byte(`{"id":1002,"email":"bob@example.com","created_at":"2025-02-01T10:00:00Z","total_price":"25.50","currency":"EUR","checkout_token":"ck-bought"}`))
	f.Add([]byte(`{"id":1003,"processed_at":"2025-02-01T10:00:00Z","total_price":"-1"}`))
	f.Add([]byte(`{"id":1004,"created_at":"2025-02-01T10:00:00Z","total_price":"1e400"}`))
	f.Add([]byte(`{"id":0}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, st, err := parseOrder(fuzzEnv(SourceShopify, "orders/create", body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if o.ID == 0 || st.OrderID == "" || st.PlacedAt.IsZero() || st.UpdatedAt.IsZero() || st.TotalCents < 0 || st.RefundedCents < 0 {
			t.Fatalf("accepted %+v", st)
		}
		for _, l := range st.Lines {
			if l.Quantity < 0 || l.PriceCent < 0 {
				t.Fatalf("accepted line %+v", l)
			}
		}
	})
}

func FuzzParseRefund(f *testing.F) {
	f.Add([]byte(`{"id":5,"order_id":1001,"created_at":"2025-02-02T10:00:00Z","transactions":[{"kind":"refund","status":"success","amount":"5.50"},{"kind":"refund","status":"failure","amount":"3"}]}`))
	f.Add([]byte(`{"id":6,"order_id":1001,"transactions":[{"kind":"refund","amount":"-2.00"}]}`))
	f.Add([]byte(`{"id":7}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, cents, err := parseRefund(fuzzEnv(SourceShopify, "refunds/create", body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if r.OrderID == 0 || cents < 0 {
			t.Fatalf("accepted order %d cents %d", r.OrderID, cents)
		}
	})
}

func FuzzParseCustomer(f *testing.F) {
	f.Add([]byte(`{"id":77,"email":"ann@example.com","first_name":"Ann","updated_at":"2025-02-01T10:00:00Z","tags":"vip","default_address":{"city":"Lyon"},` +
		`"email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"2025-02-01T10:00:00Z"},"sms_marketing_consent":{"state":"redacted"}}`))
	f.Add([]byte(`{"id":78,"phone":"+15551230000"}`))
	f.Add([]byte(`{"email":"x@y"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, cs, _, err := parseCustomer(fuzzEnv(SourceShopify, "customers/update", body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if c.ID == 0 {
			t.Fatal("accepted a customer without id")
		}
		checkConsents(t, cs)
		id := customerIdentity(&c, "", "")
		if id.ShopifyID == "" {
			t.Fatalf("identity %+v", id)
		}
		_, _ = fieldsOf(c)
	})
}

func FuzzParseCheckout(f *testing.F) {
	f.Add([]byte(`{"id":1,"token":"ck1","email":"bob@example.com","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","completed_at":null,` +
		`"currency":"EUR","total_price":"25.50","abandoned_checkout_url":"https://shop.example/checkouts/ck1/recover",` +
		`"line_items":[{"title":"Mug","quantity":1,"price":"25.50","product_id":9}]}`))
	f.Add([]byte(`{"id":2,"token":"ck-anon","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z","total_price":"1.00"}`))
	f.Add([]byte(`{"id":3,"token":"ck3","customer":{"id":77},"line_items":[{"quantity":-1,"price":"1"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, cs, err := parseCheckout(fuzzEnv(SourceShopify, "checkouts/update", body))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if cs.Token == "" || cs.TotalCents < 0 {
			t.Fatalf("accepted %+v", cs)
		}
		for _, l := range cs.Lines {
			if l.Quantity < 0 || l.PriceCent < 0 {
				t.Fatalf("accepted line %+v", l)
			}
		}
	})
}

func TestCentsRejectsNegative(t *testing.T) {
	for in, want := range map[string]int64{"59.90": 5990, "": 0, " 1 ": 100, "0.005": 1} {
		got, err := Cents(in)
		if err != nil || got != want {
			t.Errorf("Cents(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "-0.01", "abc", "NaN", "1e13"} {
		if _, err := Cents(in); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("Cents(%q) error %v, want invalid", in, err)
		}
	}
}
