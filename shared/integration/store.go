package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Settings are one integration's settings with secrets decrypted; they
// stay on the server side.
type Settings struct {
	Name      string
	Config    map[string]string
	Secrets   map[string]string
	UpdatedAt time.Time
}

// Store reads and writes integration settings.
type Store struct {
	table  *store.Table
	cipher *pii.Cipher
	now    func() time.Time
}

// NewStore returns a Store sealing secrets with cipher.
func NewStore(t *store.Table, cipher *pii.Cipher, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{table: t, cipher: cipher, now: now}
}

type settingsItem struct {
	PK        string            `dynamodbav:"PK"`
	SK        string            `dynamodbav:"SK"`
	Name      string            `dynamodbav:"name"`
	Config    map[string]string `dynamodbav:"config,omitempty"`
	Secrets   map[string]string `dynamodbav:"secrets,omitempty"` // sealed values
	Lookups   []string          `dynamodbav:"lookups,omitempty"` // PKs of the global lookup items this owns
	UpdatedAt time.Time         `dynamodbav:"updatedAt"`
}

type lookupItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Tenant string `dynamodbav:"tenant"`
}

func settingsKey(tenant, name string) store.Key {
	return store.Key{PK: "T#" + tenant, SK: "INTEG#" + name}
}

// Get returns the tenant's settings for name; apperr.NotFound when never set.
func (s *Store) Get(ctx context.Context, tenant, name string) (Settings, error) {
	if _, ok := schemaOf(name); !ok {
		return Settings{}, apperr.E(apperr.NotFound, "unknown integration %q", name)
	}
	var it settingsItem
	if err := s.table.Get(ctx, settingsKey(tenant, name), &it); err != nil {
		return Settings{}, fmt.Errorf("integration.Get %s: %w", name, err)
	}
	out := Settings{Name: name, Config: it.Config, Secrets: make(map[string]string, len(it.Secrets)), UpdatedAt: it.UpdatedAt}
	if out.Config == nil {
		out.Config = map[string]string{}
	}
	for k, sealed := range it.Secrets {
		v, err := s.cipher.Open(ctx, tenant, sealed)
		if err != nil {
			return Settings{}, fmt.Errorf("integration.Get %s secret %s: %w", name, k, err)
		}
		out.Secrets[k] = v
	}
	return out, nil
}

// Put replaces the configuration of name and merges secrets into the stored
// ones: a secret absent from secrets is kept, one set to "" is removed. The
// global lookups (shop domain, write key, Meta and WhatsApp ids) follow in
// the same transaction; a lookup already owned by another tenant is
// apperr.Conflict.
func (s *Store) Put(ctx context.Context, tenant, name string, config, secrets map[string]string) error {
	if err := validate(name, config, secrets); err != nil {
		return err
	}
	key := settingsKey(tenant, name)
	var old settingsItem
	if err := s.table.Get(ctx, key, &old); err != nil && apperr.KindOf(err) != apperr.NotFound {
		return fmt.Errorf("integration.Put %s: %w", name, err)
	}
	sealed := maps.Clone(old.Secrets)
	if sealed == nil {
		sealed = map[string]string{}
	}
	plain := map[string]string{}
	for k, v := range secrets {
		if v == "" {
			delete(sealed, k)
			continue
		}
		c, err := s.cipher.Seal(ctx, tenant, v)
		if err != nil {
			return fmt.Errorf("integration.Put %s seal %s: %w", name, k, err)
		}
		sealed[k] = c
		plain[k] = v
	}
	// Lookups come from the new config and, for the write key and the
	// verify token, the new or kept secret.
	var secret string
	if k := lookupSecret(name); k != "" {
		secret = plain[k]
		if _, kept := sealed[k]; kept && secret == "" {
			if secret, _ = s.cipher.Open(ctx, tenant, sealed[k]); secret == "" {
				return fmt.Errorf("integration.Put %s: stored %s unreadable", name, k)
			}
		}
	}
	lookups := lookupKeys(name, config, secret)
	item := settingsItem{PK: key.PK, SK: key.SK, Name: name, Config: config, Secrets: sealed, Lookups: lookups, UpdatedAt: s.now().UTC()}
	ops := []store.TxOp{s.table.TxPut(item)}
	mine := expression.Name("tenant").Equal(expression.Value(tenant))
	for _, pk := range lookups {
		c := expression.AttributeNotExists(expression.Name("PK")).Or(mine)
		ops = append(ops, s.table.TxPut(lookupItem{PK: pk, SK: lookupSK(pk), Tenant: tenant}, store.If(c)))
	}
	for _, pk := range old.Lookups {
		if !slices.Contains(lookups, pk) {
			ops = append(ops, s.table.TxDelete(store.Key{PK: pk, SK: lookupSK(pk)}, store.If(mine)))
		}
	}
	if err := s.table.Transact(ctx, ops...); err != nil {
		if apperr.KindOf(err) == apperr.Conflict {
			if name == Meta || name == WhatsApp {
				return apperr.Wrap(apperr.Conflict, err, "an id or the verify token in these %s settings is already used by another workspace; choose another verify token (a long random one) if the ids are yours", name)
			}
			return apperr.Wrap(apperr.Conflict, err, "a %s account in these settings is already connected to another workspace", name)
		}
		return fmt.Errorf("integration.Put %s: %w", name, err)
	}
	return nil
}

// lookupSecret names the secret a lookup item is derived from, if any.
func lookupSecret(name string) string {
	switch name {
	case GTM:
		return "writeKey"
	case Meta, WhatsApp:
		return "verifyToken"
	}
	return ""
}

// Lookup kinds derived from a verify token: the Meta and WhatsApp callbacks
// are separate subscriptions, so one workspace may use one token for both
// and changing one leaves the other's lookup alone.
const (
	metaVerifyKind     = "METAVERIFY"
	whatsAppVerifyKind = "WAVERIFY"
)

// lookupKeys are the global items pointing at the tenant for these
// settings. secret is the integration's lookupSecret (write key or verify
// token), stored only as its SHA-256.
func lookupKeys(name string, config map[string]string, secret string) []string {
	var out []string
	switch name {
	case Shopify:
		if d := config["shopDomain"]; d != "" {
			out = append(out, "SHOP#"+d)
		}
	case GTM:
		if secret != "" {
			out = append(out, "WRITEKEY#"+hashKey(secret))
		}
	case Meta:
		if secret != "" {
			out = append(out, metaVerifyKind+"#"+hashKey(secret))
		}
		for _, k := range []string{"appId", "pixelId"} {
			if v := config[k]; v != "" {
				out = append(out, "META#"+v)
			}
		}
		for _, id := range splitList(config["pageIds"]) {
			out = append(out, "META#"+id)
		}
	case WhatsApp:
		if v := config["phoneNumberId"]; v != "" {
			out = append(out, "WAPHONE#"+v)
		}
		if secret != "" {
			out = append(out, whatsAppVerifyKind+"#"+hashKey(secret))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lookupSK is the sort key of a lookup item: its kind, e.g. "SHOP".
func lookupSK(pk string) string {
	for i := range pk {
		if pk[i] == '#' {
			return pk[:i]
		}
	}
	return pk
}

func hashKey(k string) string {
	h := sha256.Sum256([]byte(k))
	return hex.EncodeToString(h[:])
}

func (s *Store) tenantFor(ctx context.Context, pk, what string) (string, error) {
	var it lookupItem
	if err := s.table.Get(ctx, store.Key{PK: pk, SK: lookupSK(pk)}, &it); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return "", apperr.E(apperr.NotFound, "no workspace is connected to this %s", what)
		}
		return "", fmt.Errorf("integration: tenant for %s: %w", what, err)
	}
	return it.Tenant, nil
}

// TenantForShop returns the tenant connected to a Shopify shop domain.
func (s *Store) TenantForShop(ctx context.Context, shopDomain string) (string, error) {
	return s.tenantFor(ctx, "SHOP#"+shopDomain, "shop domain")
}

// TenantForWriteKey returns the tenant owning a collect write key.
func (s *Store) TenantForWriteKey(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", apperr.E(apperr.Unauthorized, "write key missing")
	}
	return s.tenantFor(ctx, "WRITEKEY#"+hashKey(key), "write key")
}

// TenantForMeta returns the tenant connected to a Meta app, pixel or page id.
func (s *Store) TenantForMeta(ctx context.Context, objectID string) (string, error) {
	return s.tenantFor(ctx, "META#"+objectID, "Meta id")
}

// TenantForWhatsApp returns the tenant connected to a WhatsApp phone number id.
func (s *Store) TenantForWhatsApp(ctx context.Context, phoneNumberID string) (string, error) {
	return s.tenantFor(ctx, "WAPHONE#"+phoneNumberID, "WhatsApp phone number id")
}

// TenantForVerifyToken returns the tenant whose Meta (name Meta) or
// WhatsApp (name WhatsApp) settings hold this webhook verify token. The
// lookup is by the token's SHA-256, so finding a tenant proves the token
// matches; an empty or unknown token is apperr.NotFound.
func (s *Store) TenantForVerifyToken(ctx context.Context, name, token string) (string, error) {
	kind := metaVerifyKind
	switch {
	case name == WhatsApp:
		kind = whatsAppVerifyKind
	case name != Meta:
		return "", apperr.E(apperr.Invalid, "integration: %s has no verify token", name)
	}
	if token == "" {
		return "", apperr.E(apperr.NotFound, "no workspace is connected to an empty verify token")
	}
	return s.tenantFor(ctx, kind+"#"+hashKey(token), name+" verify token")
}

// Config returns the tenant's configuration (no secrets, nothing to
// decrypt) for name; apperr.NotFound when never set.
func (s *Store) Config(ctx context.Context, tenant, name string) (map[string]string, error) {
	if _, ok := schemaOf(name); !ok {
		return nil, apperr.E(apperr.NotFound, "unknown integration %q", name)
	}
	var it settingsItem
	if err := s.table.Get(ctx, settingsKey(tenant, name), &it); err != nil {
		return nil, fmt.Errorf("integration.Config %s: %w", name, err)
	}
	if it.Config == nil {
		it.Config = map[string]string{}
	}
	return it.Config, nil
}
