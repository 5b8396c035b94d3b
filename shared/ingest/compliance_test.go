package ingest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/profile"
)

const (
	annCreate = `{"id":77,"email":"ann@example.com","phone":"+15550007777","first_name":"Ann","updated_at":"2025-02-01T10:00:00Z"}`
	bobOrder  = `{"id":2002,"email":"bob@example.com","created_at":"2025-02-02T10:00:00Z","updated_at":"2025-02-02T10:00:00Z","total_price":"12.00","currency":"EUR","customer":{"id":88,"email":"bob@example.com"}}`
)

func (h harness) actions(t *testing.T) map[string]int {
	t.Helper()
	page, err := h.audit.List(context.Background(), "t1", "", "", 200)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range page.Items {
		out[e.Action]++
	}
	return out
}

func (h harness) lookup(t *testing.T, id profile.Identity) []string {
	t.Helper()
	ids, err := h.ps.Lookup(context.Background(), "t1", id)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestCustomersRedact(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	process(t, h.p, env("customers/create", "w1", annCreate, nil), env("orders/create", "w2", order1, nil), env("orders/create", "w3", bobOrder, nil))
	ann := h.lookup(t, profile.Identity{ShopifyID: "77"})
	if len(ann) != 1 {
		t.Fatalf("ann resolves to %v", ann)
	}
	// A lookup must not create: an unknown person stays unknown.
	if ids := h.lookup(t, profile.Identity{Email: "nobody@example.com"}); len(ids) != 0 {
		t.Fatalf("lookup of a stranger found %v", ids)
	}

	redact := `{"shop_id":954889,"shop_domain":"t1-shop.myshopify.com","customer":{"id":77,"email":"ann@example.com","phone":"+15550007777"},"orders_to_redact":[1001]}`
	process(t, h.p, env("customers/redact", "r1", redact, nil))
	for _, id := range []profile.Identity{{ShopifyID: "77"}, {Email: "ann@example.com"}, {Phone: "+15550007777"}} {
		if ids := h.lookup(t, id); len(ids) != 0 {
			t.Fatalf("after customers/redact %+v still finds %v", id, ids)
		}
	}
	if _, err := h.ps.Profile(ctx, "t1", ann[0]); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("Ann's profile after redaction: %v", err)
	}
	if tl, err := h.ps.Timeline(ctx, "t1", ann[0], 0); err != nil || len(tl) != 0 {
		t.Fatalf("Ann's partition still holds %d items (%v)", len(tl), err)
	}
	if ids := h.lookup(t, profile.Identity{ShopifyID: "88"}); len(ids) != 1 {
		t.Fatal("redacting Ann touched Bob")
	}
	rec, err := h.ps.ComplianceRequest(ctx, "t1", "shopify-customers-redact-r1")
	if err != nil || !strings.HasPrefix(rec.Outcome, "erased 1 customer") || len(rec.CustomerIDs) != 1 {
		t.Fatalf("compliance record %+v, %v", rec, err)
	}
	// Shopify delivers again under a new webhook id: nothing left, no error.
	process(t, h.p, env("customers/redact", "r2", redact, nil))
	if rec, err := h.ps.ComplianceRequest(ctx, "t1", "shopify-customers-redact-r2"); err != nil || rec.Outcome != "no data held about this customer" {
		t.Fatalf("second redaction outcome %q (%v)", rec.Outcome, err)
	}
	if a := h.actions(t); a[audit.CustomerErased] != 2 {
		t.Fatalf("audit actions %v, want 2 customer.erased (one erasure, one 'no data held')", a)
	}
	// A late order for the same person starts a new, empty profile.
	process(t, h.p, env("orders/create", "w4", order1, map[string]string{"x-shopify-event-id": "late"}))
	if ids := h.lookup(t, profile.Identity{ShopifyID: "77"}); len(ids) != 1 || ids[0] == ann[0] {
		t.Fatalf("after a later order: %v", ids)
	}
}

func TestCustomersDataRequest(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	process(t, h.p, env("customers/create", "w1", annCreate, nil), env("orders/create", "w2", order1, nil))
	req := `{"shop_id":954889,"shop_domain":"t1-shop.myshopify.com","orders_requested":[1001],"customer":{"id":77,"email":"ann@example.com","phone":"+15550007777"},"data_request":{"id":9999}}`
	process(t, h.p, env("customers/data_request", "d1", req, nil))

	rec, err := h.ps.ComplianceRequest(ctx, "t1", "shopify-data-request-9999")
	if err != nil {
		t.Fatal(err)
	}
	if rec.ProviderID != "9999" || len(rec.CustomerIDs) != 1 || len(rec.Export) == 0 {
		t.Fatalf("data request record %+v", rec.ComplianceRequest)
	}
	var export struct {
		Customers []struct {
			CustomerID string           `json:"customerId"`
			Profile    map[string]any   `json:"profile"`
			Orders     []map[string]any `json:"orders"`
		} `json:"customers"`
		OrdersRequested []int64 `json:"ordersRequested"`
	}
	if err := json.Unmarshal(rec.Export, &export); err != nil {
		t.Fatal(err)
	}
	if len(export.Customers) != 1 || export.Customers[0].Profile["email"] != "ann@example.com" || export.Customers[0].Profile["firstName"] != "Ann" ||
		len(export.Customers[0].Orders) != 1 || export.Customers[0].Orders[0]["orderId"] != "1001" || export.OrdersRequested[0] != 1001 {
		t.Fatalf("export %s", rec.Export)
	}
	// The export is kept sealed: the raw item does not show the email.
	list, err := h.ps.ComplianceRequests(ctx, "t1")
	if err != nil || len(list) != 1 || strings.Contains(list[0].Export, "ann@example.com") || list[0].Export == "" {
		t.Fatalf("stored export is not sealed: %+v", list)
	}
	if a := h.actions(t); a[audit.CustomerExported] != 1 {
		t.Fatalf("audit actions %v", a)
	}
	if ids := h.lookup(t, profile.Identity{ShopifyID: "77"}); len(ids) != 1 {
		t.Fatal("a data request changed the customer")
	}
}

func TestShopRedactShredsAndErases(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	process(t, h.p, env("customers/create", "w1", annCreate, nil), env("orders/create", "w3", bobOrder, nil))
	process(t, h.p, env("shop/redact", "s1", `{"shop_id":954889,"shop_domain":"t1-shop.myshopify.com"}`, nil))

	n := 0
	if err := h.ps.EachID(ctx, "t1", func(string) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("%d customers listed after shop/redact (%v)", n, err)
	}
	if _, err := h.cipher.Seal(ctx, "t1", "x"); err == nil {
		t.Fatal("the workspace's keys still seal after shop/redact")
	}
	rec, err := h.ps.ComplianceRequest(ctx, "t1", "shopify-shop-redact-s1")
	if err != nil || !strings.Contains(rec.Outcome, "2 customer(s) erased") {
		t.Fatalf("record %+v %v", rec, err)
	}
	if a := h.actions(t); a[audit.TenantShredded] != 1 || a[audit.CustomerErased] != 2 {
		t.Fatalf("audit actions %v", a)
	}
}

func TestAppUninstalledDisconnects(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	cfg := map[string]string{"shopDomain": "t1-shop.myshopify.com"}
	if err := h.integ.Put(ctx, "t1", integration.Shopify, cfg, map[string]string{"webhookSecret": "whsec-1", "accessToken": "shpat_123"}); err != nil {
		t.Fatal(err)
	}
	process(t, h.p, env("app/uninstalled", "u1", `{"id":954889,"domain":"t1-shop.myshopify.com","myshopify_domain":"t1-shop.myshopify.com"}`, nil))
	st, err := h.integ.Get(ctx, "t1", integration.Shopify)
	if err != nil {
		t.Fatal(err)
	}
	if st.Secrets["accessToken"] != "" || st.Secrets["webhookSecret"] != "whsec-1" || st.Config["shopDomain"] != "t1-shop.myshopify.com" {
		t.Fatalf("after app/uninstalled: config %v, secrets set %v", st.Config, len(st.Secrets))
	}
	if tenant, err := h.integ.TenantForShop(ctx, "t1-shop.myshopify.com"); err != nil || tenant != "t1" {
		t.Fatalf("the shop must still resolve for shop/redact: %q %v", tenant, err)
	}
	if a := h.actions(t); a[ingest.ActionIntegrationDisconnected] != 1 {
		t.Fatalf("audit actions %v", a)
	}
	// Without a Shopify integration it is recorded, not an error.
	h2 := newHarness(t)
	process(t, h2.p, env("app/uninstalled", "u2", `{"id":1}`, nil))
}

func TestComplianceTopicsOnlyFromShopify(t *testing.T) {
	h := newHarness(t)
	b := envelope(ingest.Envelope{V: 1, Source: "import", Tenant: "t1", Topic: "shop/redact", ID: "x", Body: json.RawMessage(`{}`)})
	if err := h.p.Process(context.Background(), b); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("shop/redact from the importer: %v", err)
	}
	if err := h.p.Process(context.Background(), env("customers/redact", "m", `"a string, not an object"`, nil)); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("malformed redact: %v", err)
	}
}
