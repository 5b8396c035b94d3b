package pii

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// KMS is the subset of the KMS client envelope encryption needs.
type KMS interface {
	GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// wrapper creates data keys and unwraps stored ones. The tenant is bound to
// the wrapped key (KMS encryption context / GCM additional data), so a
// wrapped key copied to another tenant's partition does not unwrap.
type wrapper interface {
	generate(ctx context.Context, tenant string) (plain, wrapped []byte, err error)
	unwrap(ctx context.Context, tenant string, wrapped []byte) ([]byte, error)
	source() string
}

type kmsWrapper struct {
	client KMS
	keyID  string
}

func (k kmsWrapper) source() string { return "kms:" + k.keyID }

func (k kmsWrapper) generate(ctx context.Context, tenant string) ([]byte, []byte, error) {
	out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(k.keyID),
		KeySpec:           kmstypes.DataKeySpecAes256,
		EncryptionContext: map[string]string{"tenant": tenant},
	})
	if err != nil {
		return nil, nil, apperr.Wrap(apperr.Transient, err, "pii: KMS GenerateDataKey")
	}
	if len(out.Plaintext) != 32 {
		return nil, nil, fmt.Errorf("pii: KMS returned a %d-byte data key, want 32", len(out.Plaintext))
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

func (k kmsWrapper) unwrap(ctx context.Context, tenant string, wrapped []byte) ([]byte, error) {
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    wrapped,
		KeyId:             aws.String(k.keyID),
		EncryptionContext: map[string]string{"tenant": tenant},
	})
	if err != nil {
		return nil, apperr.Wrap(apperr.Transient, err, "pii: KMS Decrypt")
	}
	return out.Plaintext, nil
}

// fileWrapper wraps data keys with a 256-bit master key kept in a file: the
// development stand-in for KMS. The file is created on first use (0600).
type fileWrapper struct {
	path   string
	master cipher.AEAD
}

const masterFile = "pii-master.key"

func newFileWrapper(dir string) (*fileWrapper, error) {
	if dir == "" {
		return nil, errors.New("pii: PII_KMS_KEY_ID file: needs a directory, e.g. file:.local/keys")
	}
	path := filepath.Join(dir, masterFile)
	key, err := loadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &fileWrapper{path: path, master: aead}, nil
}

func (f *fileWrapper) source() string { return "file:" + f.path }

func (f *fileWrapper) generate(_ context.Context, tenant string) ([]byte, []byte, error) {
	plain := make([]byte, 32)
	rand.Read(plain)
	nonce := make([]byte, f.master.NonceSize())
	rand.Read(nonce)
	return plain, f.master.Seal(nonce, nonce, plain, []byte("pulsehub-dek|"+tenant)), nil
}

func (f *fileWrapper) unwrap(_ context.Context, tenant string, wrapped []byte) ([]byte, error) {
	n := f.master.NonceSize()
	if len(wrapped) < n {
		return nil, errors.New("pii: wrapped data key is truncated")
	}
	plain, err := f.master.Open(nil, wrapped[:n], wrapped[n:], []byte("pulsehub-dek|"+tenant))
	if err != nil {
		return nil, fmt.Errorf("pii: unwrap data key with %s (wrong master key or tenant): %w", f.path, err)
	}
	return plain, nil
}

// loadOrCreateKeyFile reads a hex 256-bit key, creating it atomically when
// absent: several local functions may start at once and must agree on one key.
func loadOrCreateKeyFile(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return parseKeyFile(path, b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("pii: read %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("pii: create key directory: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pii-key-*")
	if err != nil {
		return nil, fmt.Errorf("pii: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("pii: write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("pii: write key file: %w", err)
	}
	// Link fails if another process created the file first; then use theirs.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("pii: install key file %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pii: read %s: %w", path, err)
	}
	return parseKeyFile(path, b)
}

func parseKeyFile(path string, b []byte) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("pii: %s must hold 64 hex characters (a 256-bit key)", path)
	}
	return key, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	return cipher.NewGCM(block)
}
