package pii

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Prefix starts every sealed value, so exports and erasure can recognise
// sealed attributes without knowing each item's schema.
const Prefix = "pii1."

// Data keys are unwrapped at most once per cacheTTL per process; the cache
// holds at most cacheMax tenants' keys.
const (
	cacheTTL = 5 * time.Minute
	cacheMax = 1024
)

// firstKeyID is the id of a tenant's first data key. A rotation adds
// "0002", …; Seal uses the newest, Open the one named in the value, and
// blind indexes always use the first so that index entries stay stable.
const firstKeyID = "0001"

// ErrShredded is returned for a tenant whose data keys were destroyed.
var ErrShredded = apperr.E(apperr.NotFound, "the workspace's encryption keys were destroyed")

// Cipher seals and opens personal data for any tenant.
type Cipher struct {
	table *store.Table
	wrap  wrapper
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]cachedKey // tenant + "/" + keyId, or tenant + "/" for the newest
}

type cachedKey struct {
	id      string
	aead    cipher.AEAD
	index   []byte
	expires time.Time
}

// dekItem is a wrapped data key.
type dekItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	KeyID     string `dynamodbav:"keyId"`
	Wrapped   []byte `dynamodbav:"wrapped,omitempty"`
	Source    string `dynamodbav:"source"`
	CreatedAt string `dynamodbav:"createdAt"`
	Shredded  bool   `dynamodbav:"shredded,omitempty"`
}

func dekKey(tenant, id string) store.Key {
	return store.Key{PK: "T#" + tenant, SK: "DEK#" + id}
}

// New returns a Cipher. keyID is a KMS key id, ARN or alias (kms must then
// be non-nil), or "file:DIR" for a local master key file in DIR.
func New(ctx context.Context, keyID string, t *store.Table, kms KMS, now func() time.Time) (*Cipher, error) {
	if now == nil {
		now = time.Now
	}
	c := &Cipher{table: t, now: now, cache: map[string]cachedKey{}}
	switch {
	case strings.HasPrefix(keyID, "file:"):
		w, err := newFileWrapper(strings.TrimPrefix(keyID, "file:"))
		if err != nil {
			return nil, err
		}
		c.wrap = w
	case keyID == "":
		return nil, errors.New("pii: no key id (set PII_KMS_KEY_ID to a KMS key or file:DIR)")
	case kms == nil:
		return nil, fmt.Errorf("pii: key %q needs a KMS client", keyID)
	default:
		c.wrap = kmsWrapper{client: kms, keyID: keyID}
	}
	return c, nil
}

// Seal encrypts plaintext under the tenant's newest data key. The empty
// string stays empty, so optional fields need no special casing.
func (c *Cipher) Seal(ctx context.Context, tenant, plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	k, err := c.key(ctx, tenant, "")
	if err != nil {
		return "", fmt.Errorf("pii.Seal: %w", err)
	}
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	sealed := k.aead.Seal(nonce, nonce, []byte(plaintext), aad(tenant, k.id))
	return Prefix + k.id + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value produced by Seal for the same tenant.
func (c *Cipher) Open(ctx context.Context, tenant, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	id, body, err := parseSealed(sealed)
	if err != nil {
		return "", err
	}
	k, err := c.key(ctx, tenant, id)
	if err != nil {
		return "", fmt.Errorf("pii.Open: %w", err)
	}
	n := k.aead.NonceSize()
	if len(body) < n+k.aead.Overhead() {
		return "", apperr.E(apperr.Invalid, "pii: sealed value is truncated")
	}
	plain, err := k.aead.Open(nil, body[:n], body[n:], aad(tenant, id))
	if err != nil {
		return "", apperr.Wrap(apperr.Invalid, err, "pii: sealed value does not authenticate for this workspace")
	}
	return string(plain), nil
}

// IsSealed reports whether s looks like a value produced by Seal.
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

func parseSealed(s string) (keyID string, body []byte, err error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return "", nil, apperr.E(apperr.Invalid, "pii: value is not sealed")
	}
	keyID, b64, ok := strings.Cut(rest, ".")
	if !ok || keyID == "" || len(keyID) > 16 || strings.ContainsAny(keyID, "#/") {
		return "", nil, apperr.E(apperr.Invalid, "pii: sealed value has no valid key id")
	}
	body, err = base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return "", nil, apperr.E(apperr.Invalid, "pii: sealed value is not base64url")
	}
	return keyID, body, nil
}

func aad(tenant, keyID string) []byte { return []byte("pulsehub-pii|" + tenant + "|" + keyID) }

// Index kinds with a normalisation rule; any other kind is trimmed only.
const (
	KindEmail = "email"
	KindPhone = "phone"
)

// BlindIndex returns HMAC-SHA256 (hex) of the normalised value under the
// tenant's index key: equal inputs give equal indexes, nobody without the
// key can test a guess, and indexes differ between tenants and kinds.
func (c *Cipher) BlindIndex(ctx context.Context, tenant, kind, value string) (string, error) {
	switch kind {
	case KindEmail:
		value = NormalizeEmail(value)
	case KindPhone:
		v, err := NormalizePhone(value)
		if err != nil {
			return "", err
		}
		value = v
	default:
		value = strings.TrimSpace(value)
	}
	if value == "" {
		return "", apperr.E(apperr.Invalid, "%s is empty", kind)
	}
	k, err := c.key(ctx, tenant, firstKeyID)
	if err != nil {
		return "", fmt.Errorf("pii.BlindIndex: %w", err)
	}
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// Shred destroys the tenant's data keys: every value sealed for the tenant
// and every blind index becomes useless, and later Seals fail. The key items
// are replaced by tombstones so a new key cannot be created by accident.
func (c *Cipher) Shred(ctx context.Context, tenant string) error {
	items, err := store.QueryAll[dekItem](ctx, c.table, store.Query{PK: "T#" + tenant, SKPrefix: "DEK#", Consistent: true}, 0)
	if err != nil {
		return fmt.Errorf("pii.Shred %s: %w", tenant, err)
	}
	if len(items) == 0 {
		items = []dekItem{{KeyID: firstKeyID}}
	}
	for _, it := range items {
		tomb := dekItem{PK: "T#" + tenant, SK: "DEK#" + it.KeyID, KeyID: it.KeyID, Source: "shredded", CreatedAt: c.now().UTC().Format(time.RFC3339), Shredded: true}
		if err := c.table.Put(ctx, tomb); err != nil {
			return fmt.Errorf("pii.Shred %s key %s: %w", tenant, it.KeyID, err)
		}
	}
	c.mu.Lock()
	for k := range c.cache {
		if strings.HasPrefix(k, tenant+"/") {
			delete(c.cache, k)
		}
	}
	c.mu.Unlock()
	return nil
}

// key returns the tenant's data key id (or the newest when id is "").
func (c *Cipher) key(ctx context.Context, tenant, id string) (cachedKey, error) {
	if tenant == "" || strings.Contains(tenant, "#") {
		return cachedKey{}, fmt.Errorf("pii: invalid tenant %q", tenant)
	}
	ck := tenant + "/" + id
	now := c.now()
	c.mu.Lock()
	k, ok := c.cache[ck]
	c.mu.Unlock()
	if ok && now.Before(k.expires) {
		return k, nil
	}
	item, plain, err := c.loadItem(ctx, tenant, id)
	if err != nil {
		return cachedKey{}, err
	}
	if item.Shredded {
		return cachedKey{}, ErrShredded
	}
	if plain == nil {
		if plain, err = c.wrap.unwrap(ctx, tenant, item.Wrapped); err != nil {
			return cachedKey{}, err
		}
	}
	k, err = deriveKey(item.KeyID, plain, now.Add(cacheTTL))
	clear(plain)
	if err != nil {
		return cachedKey{}, err
	}
	c.mu.Lock()
	if len(c.cache) >= cacheMax {
		for key, v := range c.cache {
			if !now.Before(v.expires) || len(c.cache) >= cacheMax {
				delete(c.cache, key)
			}
		}
	}
	c.cache[ck] = k
	c.cache[tenant+"/"+k.id] = k
	c.mu.Unlock()
	return k, nil
}

// loadItem reads the wrapped key id, or the newest key when id is "",
// creating the tenant's first key when it has none (then it also returns
// the plaintext key, saving an unwrap).
func (c *Cipher) loadItem(ctx context.Context, tenant, id string) (dekItem, []byte, error) {
	for attempt := 0; attempt < 2; attempt++ {
		var item dekItem
		if id == "" {
			items, err := store.QueryAll[dekItem](ctx, c.table, store.Query{PK: "T#" + tenant, SKPrefix: "DEK#", Desc: true, Limit: 1, Consistent: true}, 1)
			if err != nil {
				return dekItem{}, nil, err
			}
			if len(items) == 1 {
				return items[0], nil, nil
			}
		} else {
			err := c.table.Get(ctx, dekKey(tenant, id), &item)
			if err == nil {
				return item, nil, nil
			}
			if apperr.KindOf(err) != apperr.NotFound {
				return dekItem{}, nil, err
			}
			if id != firstKeyID {
				return dekItem{}, nil, apperr.E(apperr.NotFound, "data key %s does not exist", id)
			}
		}
		// No key yet: create the first one. A concurrent creator wins the
		// conditional put and we read theirs on the second attempt.
		plain, wrapped, err := c.wrap.generate(ctx, tenant)
		if err != nil {
			return dekItem{}, nil, err
		}
		k := dekKey(tenant, firstKeyID)
		item = dekItem{PK: k.PK, SK: k.SK, KeyID: firstKeyID, Wrapped: wrapped, Source: c.wrap.source(), CreatedAt: c.now().UTC().Format(time.RFC3339)}
		err = c.table.Put(ctx, item, store.If(expression.AttributeNotExists(expression.Name("PK"))))
		if err == nil {
			return item, plain, nil
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return dekItem{}, nil, err
		}
	}
	return dekItem{}, nil, fmt.Errorf("pii: data key for %s vanished while being created", tenant)
}

func deriveKey(id string, material []byte, expires time.Time) (cachedKey, error) {
	if len(material) != 32 {
		return cachedKey{}, fmt.Errorf("pii: data key %s has %d bytes, want 32", id, len(material))
	}
	enc, err := hkdf.Key(sha256.New, material, nil, "pulsehub/pii/enc", 32)
	if err != nil {
		return cachedKey{}, err
	}
	idx, err := hkdf.Key(sha256.New, material, nil, "pulsehub/pii/index", 32)
	if err != nil {
		return cachedKey{}, err
	}
	aead, err := newGCM(enc)
	if err != nil {
		return cachedKey{}, err
	}
	return cachedKey{id: id, aead: aead, index: idx, expires: expires}, nil
}
