package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/profile"
)

type rawItem map[string]any

// TestGDPRExportEraseRoundTrip creates a customer through the profile
// store, exports it, checks nothing is stored in plaintext, erases it and
// checks that nothing about it is left but redacted delivery records.
func TestGDPRExportEraseRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Options{})
	s := h.signup("gdpr", "owner@gdpr.test")
	owner, tenant := s.str("accessToken"), s.str("tenantId")
	_, marketer := h.invite(owner, "gdpr", "m@gdpr.test", auth.Marketer)

	ps := profile.NewStore(h.svc.Table, h.svc.Cipher, time.Now)
	now := time.Now().UTC()
	res, err := ps.Resolve(ctx, tenant, profile.Identity{Email: "Jane.Doe@Example.com", Phone: "+1 555 010 9999", ShopifyID: "9001"})
	if err != nil {
		t.Fatal(err)
	}
	cid := res.CustomerID
	if _, err := ps.UpdateFields(ctx, tenant, cid, profile.Fields{Email: "jane.doe@example.com", Phone: "+15550109999", FirstName: "Jane", LastName: "Doelittle", Address: `{"city":"Springfield","address1":"742 Evergreen Terrace"}`}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.ApplyOrder(ctx, tenant, cid, profile.OrderState{OrderID: "5001", Name: "#1001", Currency: "USD", PlacedAt: now, UpdatedAt: now, TotalCents: 4200}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.RecordEvent(ctx, tenant, cid, profile.Event{EventID: "ev1", Type: "page_view", Source: "collect"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.SetConsent(ctx, tenant, cid, profile.Consent{Channel: "email", State: profile.Subscribed, Source: "shopify"}, now); err != nil {
		t.Fatal(err)
	}
	// A segment membership and a delivery record, as the segment and send
	// functions write them (docs/data-model.md).
	sh := shard(cid)
	sealedTo, _ := h.svc.Cipher.Seal(ctx, tenant, "jane.doe@example.com")
	for _, it := range []any{
		rawItem{"PK": "T#" + tenant, "SK": "SEG#champions", "name": "Champions"},
		rawItem{"PK": "T#" + tenant + "#SEG#champions#" + sh, "SK": "C#" + cid},
		rawItem{"PK": "T#" + tenant, "SK": "CAMP#c1", "name": "Spring sale"},
		rawItem{"PK": "T#" + tenant + "#CAMP#c1#" + sh, "SK": "D#" + cid + "#email", "status": "delivered", "to": sealedTo, "channel": "email"},
	} {
		if err := h.svc.Table.Put(ctx, it); err != nil {
			t.Fatal(err)
		}
	}

	raw := scanAll(t, h)
	for _, plain := range []string{"jane.doe@example.com", "Jane.Doe@Example.com", "+15550109999", "555 010", "Doelittle", "Evergreen"} {
		if strings.Contains(raw, plain) {
			t.Errorf("raw table holds %q", plain)
		}
	}

	h.must(403, "GET", "/v1/customers/"+cid+"/export", marketer, "")
	h.must(403, "DELETE", "/v1/customers/"+cid, marketer, "")
	exp := h.must(200, "GET", "/v1/customers/"+cid+"/export", owner, "")
	for _, want := range []string{"jane.doe@example.com", "+15550109999", "Doelittle", "Evergreen Terrace", `"orderId":"5001"`, `"type":"page_view"`, `"channel":"email"`, `"segments":["champions"]`, `"status":"delivered"`} {
		if !strings.Contains(exp.Raw, want) {
			t.Errorf("export lacks %s: %s", want, exp.Raw)
		}
	}
	if strings.Contains(exp.Raw, "pii1.") {
		t.Error("export contains sealed values")
	}

	er := h.must(200, "DELETE", "/v1/customers/"+cid, owner, "")
	if er.Body["erased"] != true || er.Body["deliveriesRedacted"] != 1.0 {
		t.Fatalf("erase = %s", er.Raw)
	}
	h.must(404, "GET", "/v1/customers/"+cid+"/export", owner, "")
	h.must(404, "DELETE", "/v1/customers/"+cid, owner, "")
	after := scanAll(t, h)
	for _, line := range strings.Split(after, "\n") {
		if !strings.Contains(line, cid) || strings.Contains(line, "#AUDIT#") {
			continue // the audit log records the erasure by pseudonymous id
		}
		// Only the redacted delivery record may still name the customer id.
		if !strings.Contains(line, `"erased":true`) || strings.Contains(line, `"to"`) || !strings.Contains(line, `"status":"delivered"`) {
			t.Errorf("item left after erasure: %s", line)
		}
	}
	if strings.Contains(after, "#IDX#") {
		t.Error("identity index items left after erasure")
	}
	// A new sighting of the same email creates a new, unrelated customer.
	res2, err := ps.Resolve(ctx, tenant, profile.Identity{Email: "jane.doe@example.com"})
	if err != nil || res2.CustomerID == cid || !res2.Created {
		t.Fatalf("resolve after erasure: %+v %v", res2, err)
	}
	a := h.must(200, "GET", "/v1/audit", owner, "")
	if !strings.Contains(a.Raw, `"action":"customer.exported"`) || !strings.Contains(a.Raw, `"action":"customer.erased"`) {
		t.Fatalf("audit: %s", a.Raw)
	}
}

func shard(id string) string { return profile.Shard(id) }

func TestShredTenant(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Options{})
	s := h.signup("shred", "owner@shred.test")
	tenant := s.str("tenantId")
	h.must(200, "PUT", "/v1/integrations/sendgrid", s.str("accessToken"), `{"apiKey":"SG.shred-me-please"}`)
	if err := h.svc.GDPR.ShredTenant(ctx, tenant, "support"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Integrations.Get(ctx, tenant, "sendgrid"); err == nil {
		t.Fatal("integration secret readable after shredding")
	}
}
