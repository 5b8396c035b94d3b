package webhook_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
	"github.com/pulsehub/pulsehub/shared/webhook"
)

func TestIntegrationDirectory(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t, "webhook")
	c, err := pii.New(ctx, "file:"+t.TempDir(), tbl, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	integ := integration.NewStore(tbl, c, time.Now)
	put := func(name string, config, secrets map[string]string) {
		t.Helper()
		if err := integ.Put(ctx, "t1", name, config, secrets); err != nil {
			t.Fatal(err)
		}
	}
	put(integration.Shopify, map[string]string{"shopDomain": "dir-shop.myshopify.com"}, map[string]string{"webhookSecret": "new-secret", "previousWebhookSecret": "old-secret"})
	put(integration.GTM, map[string]string{"allowedOrigins": "https://shop.example, https://www.shop.example"}, map[string]string{"writeKey": "wk-1"})
	put(integration.Meta, map[string]string{"appId": "123"}, map[string]string{"appSecret": "meta-secret", "verifyToken": "vt"})

	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := webhook.NewDirectory(integ, time.Minute, func() time.Time { return now })
	if tenant, err := dir.TenantForShop(ctx, "dir-shop.myshopify.com"); err != nil || tenant != "t1" {
		t.Fatalf("TenantForShop: %q %v", tenant, err)
	}
	if _, err := dir.TenantForShop(ctx, "other.myshopify.com"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("unknown shop: %v", err)
	}
	cr, err := dir.Credentials(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cr.ShopifySecrets, []string{"new-secret", "old-secret"}) || !slices.Equal(cr.MetaAppSecrets, []string{"meta-secret"}) ||
		cr.MetaVerifyToken != "vt" || !slices.Equal(cr.AllowedOrigins, []string{"https://shop.example", "https://www.shop.example"}) {
		t.Fatalf("credentials %+v", cr)
	}

	// A workspace without settings (or none at all: Twilio and SendGrid
	// take the tenant from the URL) has empty credentials and no error; the
	// handler tests' fake directory answers the same.
	if cr, err := dir.Credentials(ctx, "t-unknown"); err != nil || !reflect.DeepEqual(cr, webhook.Credentials{}) {
		t.Fatalf("unknown workspace: %+v, %v", cr, err)
	}

	// The handshake lookup is not cached: a token saved now is found now.
	if tenant, err := dir.TenantForVerifyToken(ctx, integration.Meta, "vt"); err != nil || tenant != "t1" {
		t.Fatalf("TenantForVerifyToken: %q %v", tenant, err)
	}
	put(integration.Meta, map[string]string{"appId": "123"}, map[string]string{"verifyToken": "vt-2"})
	if tenant, err := dir.TenantForVerifyToken(ctx, integration.Meta, "vt-2"); err != nil || tenant != "t1" {
		t.Fatalf("new verify token: %q %v", tenant, err)
	}
	if _, err := dir.TenantForVerifyToken(ctx, integration.Meta, "vt"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("old verify token still resolves: %v", err)
	}

	// The shop moves to another domain and the rotation ends: within the
	// cache's lifetime the old answers stand, after it the new ones.
	put(integration.Shopify, map[string]string{"shopDomain": "renamed.myshopify.com"}, map[string]string{"previousWebhookSecret": ""})
	if tenant, _ := dir.TenantForShop(ctx, "dir-shop.myshopify.com"); tenant != "t1" {
		t.Fatal("the shop lookup was not cached")
	}
	now = now.Add(time.Minute + time.Second)
	if _, err := dir.TenantForShop(ctx, "dir-shop.myshopify.com"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("after the cache expired the old domain still resolves: %v", err)
	}
	if tenant, err := dir.TenantForShop(ctx, "renamed.myshopify.com"); err != nil || tenant != "t1" {
		t.Fatalf("new domain: %q %v", tenant, err)
	}
	if cr, _ := dir.Credentials(ctx, "t1"); !slices.Equal(cr.ShopifySecrets, []string{"new-secret"}) {
		t.Fatalf("after the rotation window: %v", cr.ShopifySecrets)
	}
}
