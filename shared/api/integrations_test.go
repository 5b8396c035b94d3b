package api

import (
	"context"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/auth"
)

// TestIntegrationsHTTP: secrets are write-only (set + last 4), settings are
// per workspace, only admins write them, a typo names the field, and every
// change is audited.
func TestIntegrationsHTTP(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.signup("integ-a", "owner@integ-a.test")
	b := h.signup("integ-b", "owner@integ-b.test")
	aOwner := a.str("accessToken")
	_, marketer := h.invite(aOwner, "integ-a", "m@integ-a.test", auth.Marketer)

	h.must(200, "PUT", "/v1/integrations/sendgrid", aOwner, `{"fromEmail":"news@shop.test","apiKey":"SG.abcdefghijklmnop"}`)
	got := h.must(200, "GET", "/v1/integrations/sendgrid", marketer, "")
	if strings.Contains(got.Raw, "SG.abcdefghijklmnop") || !strings.Contains(got.Raw, `"apiKey":{"set":true,"last4":"mnop"}`) || !strings.Contains(got.Raw, "news@shop.test") {
		t.Fatalf("GET = %s", got.Raw)
	}
	// The other workspace sees nothing of it.
	other := h.must(200, "GET", "/v1/integrations/sendgrid", b.str("accessToken"), "")
	if other.Body["configured"] != false || strings.Contains(other.Raw, "news@shop.test") {
		t.Fatalf("other workspace GET = %s", other.Raw)
	}
	h.must(403, "PUT", "/v1/integrations/sendgrid", marketer, `{"fromEmail":"x@y.z"}`)
	if r := h.must(400, "PUT", "/v1/integrations/sendgrid", aOwner, `{"fromEmial":"x@y.z"}`); r.str("field") != "fromEmial" {
		t.Fatalf("typo PUT = %s", r.Raw)
	}
	h.must(404, "GET", "/v1/integrations/nope", aOwner, "")
	h.must(404, "PUT", "/v1/integrations/nope", aOwner, `{}`)

	page, err := h.svc.Audit.List(context.Background(), a.str("tenantId"), "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var updates []audit.Entry
	for _, e := range page.Items {
		if e.Action == audit.IntegrationUpdated {
			updates = append(updates, e)
		}
	}
	if len(updates) != 1 || updates[0].Target != "sendgrid" || updates[0].Detail["keys"] != "apiKey,fromEmail" {
		t.Fatalf("integration audit entries = %+v", updates)
	}
}
