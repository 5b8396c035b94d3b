package integration_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
)

type env struct {
	db    *dynamodb.Client
	table *store.Table
	store *integration.Store
	audit *audit.Log
}

func newEnv(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	db, name := storetest.Provision(t, "integ")
	tbl := store.New(db, name, []byte("c"))
	c, err := pii.New(ctx, "file:"+t.TempDir(), tbl, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env{db: db, table: tbl, store: integration.NewStore(tbl, c, nil), audit: audit.New(tbl, nil, nil)}
}

func (e env) raw(t *testing.T, pk, sk string) string {
	t.Helper()
	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.table.Name()),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out.Item)
}

func TestPutGetAndLookups(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := e.store
	err := s.Put(ctx, "t1", "shopify", map[string]string{"shopDomain": "demo-store.myshopify.com", "apiVersion": "2025-01"},
		map[string]string{"webhookSecret": "demo-shopify-secret", "accessToken": "shpat_0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "t1", "shopify")
	if err != nil || got.Secrets["webhookSecret"] != "demo-shopify-secret" || got.Config["apiVersion"] != "2025-01" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if raw := e.raw(t, "T#t1", "INTEG#shopify"); strings.Contains(raw, "demo-shopify-secret") || strings.Contains(raw, "shpat_") {
		t.Fatalf("raw item holds a plaintext secret: %s", raw)
	}
	if tn, err := s.TenantForShop(ctx, "demo-store.myshopify.com"); err != nil || tn != "t1" {
		t.Fatalf("TenantForShop = %q, %v", tn, err)
	}
	// Another workspace cannot claim the same shop.
	err = s.Put(ctx, "t2", "shopify", map[string]string{"shopDomain": "demo-store.myshopify.com"}, nil)
	if apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("second tenant claiming the shop: %v, want conflict", err)
	}
	// Secrets merge: omitted kept, "" removed; a new domain moves the lookup.
	err = s.Put(ctx, "t1", "shopify", map[string]string{"shopDomain": "new-store.myshopify.com"}, map[string]string{"accessToken": ""})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, "t1", "shopify")
	if got.Secrets["webhookSecret"] != "demo-shopify-secret" || got.Secrets["accessToken"] != "" || got.Config["apiVersion"] != "" {
		t.Fatalf("after merge: %+v", got)
	}
	if _, err := s.TenantForShop(ctx, "demo-store.myshopify.com"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("old shop lookup still there: %v", err)
	}
	if err := s.Put(ctx, "t2", "shopify", map[string]string{"shopDomain": "demo-store.myshopify.com"}, nil); err != nil {
		t.Fatalf("freed shop domain cannot be claimed: %v", err)
	}

	// GTM write key, Meta ids, WhatsApp phone id.
	if err := s.Put(ctx, "t1", "gtm", map[string]string{"containerId": "GTM-1"}, map[string]string{"writeKey": "demo-write-key"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "t1", "meta", map[string]string{"pixelId": "111", "appId": "222", "pageIds": "333, 444"}, map[string]string{"appSecret": "demo-meta-secret", "verifyToken": "demo-verify-token"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "t1", "whatsapp", map[string]string{"phoneNumberId": "555"}, map[string]string{"accessToken": "x"}); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() (string, error){
		"write key": func() (string, error) { return s.TenantForWriteKey(ctx, "demo-write-key") },
		"pixel":     func() (string, error) { return s.TenantForMeta(ctx, "111") },
		"page":      func() (string, error) { return s.TenantForMeta(ctx, "444") },
		"whatsapp":  func() (string, error) { return s.TenantForWhatsApp(ctx, "555") },
	} {
		if tn, err := f(); err != nil || tn != "t1" {
			t.Errorf("%s → %q, %v", name, tn, err)
		}
	}
	// Changing config only keeps the write key lookup.
	if err := s.Put(ctx, "t1", "gtm", map[string]string{"containerId": "GTM-2"}, nil); err != nil {
		t.Fatal(err)
	}
	if tn, err := s.TenantForWriteKey(ctx, "demo-write-key"); err != nil || tn != "t1" {
		t.Fatalf("write key lookup lost: %q, %v", tn, err)
	}
	if _, err := s.TenantForWriteKey(ctx, "guess"); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("unknown write key: %v", err)
	}
}

// The verify-token lookups let the Meta/WhatsApp GET handshake find the
// workspace without ?tenant=: written with the settings, kept when the
// token is kept, moved when it changes, separate for Meta and WhatsApp.
func TestVerifyTokenLookup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := e.store
	// ok stands for "no error" among the kinds.
	const ok = apperr.Kind(-1)
	tenantFor := func(name, token string) (string, apperr.Kind) {
		tn, err := s.TenantForVerifyToken(ctx, name, token)
		if err == nil {
			return tn, ok
		}
		return tn, apperr.KindOf(err)
	}
	if err := s.Put(ctx, "t1", "meta", map[string]string{"pixelId": "111"}, map[string]string{"verifyToken": "vt-one", "appSecret": "s"}); err != nil {
		t.Fatal(err)
	}
	if tn, k := tenantFor("meta", "vt-one"); tn != "t1" || k != ok {
		t.Fatalf("meta vt-one → %q, %s", tn, k)
	}
	if _, k := tenantFor("whatsapp", "vt-one"); k != apperr.NotFound {
		t.Fatalf("a Meta token found a WhatsApp workspace: %s", k)
	}
	// No plaintext token in the lookup's key or item.
	var item map[string]any
	if err := e.table.Get(ctx, store.Key{PK: "METAVERIFY#" + sha(t, "vt-one"), SK: "METAVERIFY"}, &item); err != nil || item["tenant"] != "t1" || strings.Contains(fmt.Sprint(item), "vt-one") {
		t.Fatalf("lookup item = %v, %v", item, err)
	}
	// A config-only save keeps the (unchanged, stored) token's lookup.
	if err := s.Put(ctx, "t1", "meta", map[string]string{"pixelId": "112"}, nil); err != nil {
		t.Fatal(err)
	}
	if tn, _ := tenantFor("meta", "vt-one"); tn != "t1" {
		t.Fatalf("kept token lost its lookup: %q", tn)
	}
	// The same token for WhatsApp in the same workspace is fine; changing
	// the Meta one leaves the WhatsApp lookup in place.
	if err := s.Put(ctx, "t1", "whatsapp", map[string]string{"phoneNumberId": "555"}, map[string]string{"verifyToken": "vt-one"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "t1", "meta", map[string]string{"pixelId": "112"}, map[string]string{"verifyToken": "vt-two"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, token, tenant string
		kind                apperr.Kind
	}{
		{"meta", "vt-one", "", apperr.NotFound},
		{"meta", "vt-two", "t1", ok},
		{"whatsapp", "vt-one", "t1", ok},
		{"meta", "", "", apperr.NotFound},
		{"shopify", "vt-two", "", apperr.Invalid},
	} {
		if tn, k := tenantFor(c.name, c.token); tn != c.tenant || k != c.kind {
			t.Errorf("%s %q → %q, %s; want %q, %s", c.name, c.token, tn, k, c.tenant, c.kind)
		}
	}
	// Another workspace cannot take a token in use: its handshake would be
	// ambiguous.
	err := s.Put(ctx, "t2", "meta", map[string]string{"pixelId": "999"}, map[string]string{"verifyToken": "vt-two"})
	if apperr.KindOf(err) != apperr.Conflict || !strings.Contains(apperr.Message(err), "verify token") {
		t.Fatalf("second workspace reusing the token: %v", err)
	}
	// Removing the token removes its lookup.
	if err := s.Put(ctx, "t1", "meta", map[string]string{"pixelId": "112"}, map[string]string{"verifyToken": ""}); err != nil {
		t.Fatal(err)
	}
	if _, k := tenantFor("meta", "vt-two"); k != apperr.NotFound {
		t.Fatalf("removed token still resolves: %s", k)
	}
	if err := s.Put(ctx, "t2", "meta", map[string]string{"pixelId": "999"}, map[string]string{"verifyToken": "vt-two"}); err != nil {
		t.Fatalf("freed token cannot be used: %v", err)
	}
}

func sha(t *testing.T, s string) string {
	t.Helper()
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	for name, tc := range map[string]struct {
		integ           string
		config, secrets map[string]string
		kind            apperr.Kind
	}{
		"unknown integration": {"mailchimp", nil, nil, apperr.NotFound},
		"unknown config key":  {"shopify", map[string]string{"colour": "x"}, nil, apperr.Invalid},
		"unknown secret":      {"twilio", nil, map[string]string{"password": "x"}, apperr.Invalid},
		"bad shop domain":     {"shopify", map[string]string{"shopDomain": "evil.com"}, nil, apperr.Invalid},
		"bad pixel id":        {"meta", map[string]string{"pixelId": "abc"}, nil, apperr.Invalid},
		"bad page ids":        {"meta", map[string]string{"pageIds": "1,x"}, nil, apperr.Invalid},
	} {
		if err := s.Put(ctx, "t1", tc.integ, tc.config, tc.secrets); apperr.KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want %v", name, err, tc.kind)
		}
	}
}
