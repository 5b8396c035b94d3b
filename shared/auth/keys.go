package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsManager is the subset of the Secrets Manager client key loading needs.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// KeyFile is the JSON form of the signing keys, in a local file or a
// Secrets Manager secret string. The last key signs; all keys verify, so
// a rotation appends a key, and drops the old one 15 minutes later. A
// secret holding a plain random string instead is read by DeriveKeyEntry.
type KeyFile struct {
	Keys []KeyEntry `json:"keys"`
}

type KeyEntry struct {
	KID        string    `json:"kid"`
	Alg        string    `json:"alg"`        // "EdDSA"
	PrivateKey []byte    `json:"privateKey"` // Ed25519 seed, base64
	CreatedAt  time.Time `json:"createdAt"`
}

// KeySet holds the signing key and every verification key.
type KeySet struct {
	signKID string
	sign    ed25519.PrivateKey
	verify  map[string]ed25519.PublicKey
}

func (f KeyFile) keySet() (*KeySet, error) {
	ks := &KeySet{verify: map[string]ed25519.PublicKey{}}
	for _, k := range f.Keys {
		if k.Alg != "EdDSA" || len(k.PrivateKey) != ed25519.SeedSize || k.KID == "" {
			return nil, fmt.Errorf("auth: signing key %q: want alg EdDSA with a 32-byte seed", k.KID)
		}
		priv := ed25519.NewKeyFromSeed(k.PrivateKey)
		ks.verify[k.KID] = priv.Public().(ed25519.PublicKey)
		ks.signKID, ks.sign = k.KID, priv
	}
	if ks.sign == nil {
		return nil, errors.New("auth: no signing keys")
	}
	return ks, nil
}

// keySource loads the current key set.
type keySource func(ctx context.Context) (*KeySet, error)

// newKeySource returns the loader for JWT_SIGNING_SECRET_ID: "file:DIR"
// (keys generated on first use under DIR) or a Secrets Manager secret id.
func newKeySource(secretID string, sm SecretsManager) (keySource, error) {
	if dir, ok := strings.CutPrefix(secretID, "file:"); ok {
		if dir == "" {
			return nil, errors.New("auth: JWT_SIGNING_SECRET_ID file: needs a directory")
		}
		path := filepath.Join(dir, "jwt-signing-keys.json")
		return func(context.Context) (*KeySet, error) { return loadOrCreateKeys(path) }, nil
	}
	if secretID == "" {
		return nil, errors.New("auth: no JWT_SIGNING_SECRET_ID")
	}
	if sm == nil {
		return nil, fmt.Errorf("auth: secret %q needs a Secrets Manager client", secretID)
	}
	return func(ctx context.Context) (*KeySet, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
		if err != nil {
			return nil, fmt.Errorf("auth: read signing keys %s: %w", secretID, err)
		}
		ks, err := parseKeySecret(aws.ToString(out.SecretString))
		if err != nil {
			return nil, fmt.Errorf("auth: signing keys secret %s: %w", secretID, err)
		}
		return ks, nil
	}, nil
}

// MinDerivedSecretLen is the shortest secret value a signing key is derived
// from: the stack generates 64 characters, and a short value would make the
// key guessable.
const MinDerivedSecretLen = 32

// parseKeySecret reads a Secrets Manager signing-keys value: a JSON key set
// (what rotation needs), or any other string of at least MinDerivedSecretLen
// characters (the random password a fresh stack generates), from which one
// key is derived.
func parseKeySecret(v string) (*KeySet, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return nil, errors.New("value is empty: want a JSON key set {\"keys\":[…]} or a random string of at least 32 characters")
	case strings.HasPrefix(v, "{"):
		var f KeyFile
		if err := json.Unmarshal([]byte(v), &f); err != nil {
			return nil, fmt.Errorf("value is not a JSON key set {\"keys\":[…]}: %w", err)
		}
		return f.keySet()
	}
	e, err := DeriveKeyEntry([]byte(v))
	if err != nil {
		return nil, err
	}
	return KeyFile{Keys: []KeyEntry{e}}.keySet()
}

// derivedKeyInfo labels the HKDF output, so the same secret used for
// anything else yields an unrelated key.
const derivedKeyInfo = "pulsehub jwt signing key v1"

// DeriveKeyEntry derives the signing key from a secret string: the Ed25519
// seed is HKDF-SHA256 of the secret, the kid a short hash of the public key.
// Every instance derives the same key, so a fresh deploy serves logins with
// no one writing a key set first, and no instances racing to write one.
func DeriveKeyEntry(secret []byte) (KeyEntry, error) {
	if len(secret) < MinDerivedSecretLen {
		return KeyEntry{}, fmt.Errorf("auth: signing secret is %d characters and not a JSON key set: want a key set {\"keys\":[…]} or a random string of at least %d characters", len(secret), MinDerivedSecretLen)
	}
	seed, err := hkdf.Key(sha256.New, secret, nil, derivedKeyInfo, ed25519.SeedSize)
	if err != nil {
		return KeyEntry{}, fmt.Errorf("auth: derive signing key: %w", err)
	}
	sum := sha256.Sum256(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	return KeyEntry{KID: "d-" + hex.EncodeToString(sum[:6]), Alg: "EdDSA", PrivateKey: seed}, nil
}

// NewKeyEntry returns a fresh key entry, for generating and rotating secrets.
func NewKeyEntry(now time.Time) KeyEntry {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	return KeyEntry{KID: "k" + now.UTC().Format("20060102") + "-" + strings.ToLower(rand.Text()[:6]), Alg: "EdDSA", PrivateKey: seed, CreatedAt: now.UTC()}
}

func loadOrCreateKeys(path string) (*KeySet, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createOnce(path, KeyFile{Keys: []KeyEntry{NewKeyEntry(time.Now())}}); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read %s: %w", path, err)
	}
	var f KeyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("auth: %s is not {\"keys\":[…]}: %w", path, err)
	}
	return f.keySet()
}

// createOnce writes v to path unless it exists; concurrent creators agree
// on the first file linked into place.
func createOnce(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("auth: create key directory: %w", err)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".jwt-keys-*")
	if err != nil {
		return fmt.Errorf("auth: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		return fmt.Errorf("auth: write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("auth: install key file %s: %w", path, err)
	}
	return nil
}

// keyRing caches the key set and reloads it when a token names an unknown
// kid (a rotation), at most once a minute.
type keyRing struct {
	load keySource
	now  func() time.Time

	mu       sync.RWMutex
	set      *KeySet
	reloaded time.Time
}

func (k *keyRing) current() *KeySet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set
}

func (k *keyRing) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, bool) {
	if pk, ok := k.current().verify[kid]; ok {
		return pk, true
	}
	k.mu.Lock()
	if k.now().Sub(k.reloaded) < time.Minute {
		k.mu.Unlock()
		return nil, false
	}
	k.reloaded = k.now()
	k.mu.Unlock()
	set, err := k.load(ctx)
	if err != nil {
		return nil, false
	}
	k.mu.Lock()
	k.set = set
	k.mu.Unlock()
	pk, ok := set.verify[kid]
	return pk, ok
}
