package pii_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/store/storetest"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

func newTable(t *testing.T) *store.Table {
	t.Helper()
	return storetest.Table(t, "pii")
}

func newFileCipher(t *testing.T, tbl *store.Table, dir string) *pii.Cipher {
	t.Helper()
	c, err := pii.New(context.Background(), "file:"+dir, tbl, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t)
	dir := t.TempDir()
	c := newFileCipher(t, tbl, dir)
	for _, in := range []string{"ann@example.com", "+4915112345678", "Zoë Ünïcode 🚀", strings.Repeat("x", 10000)} {
		sealed, err := c.Seal(ctx, "t1", in)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sealed, in) || !pii.IsSealed(sealed) {
			t.Fatalf("sealed value %q leaks or lacks prefix", sealed)
		}
		// A second Cipher (another Lambda instance) with the same key file opens it.
		got, err := newFileCipher(t, tbl, dir).Open(ctx, "t1", sealed)
		if err != nil || got != in {
			t.Fatalf("Open = %q, %v; want %q", got, err, in)
		}
	}
	if s, err := c.Seal(ctx, "t1", ""); s != "" || err != nil {
		t.Fatalf("Seal(\"\") = %q, %v", s, err)
	}
	a, _ := c.Seal(ctx, "t1", "same")
	b, _ := c.Seal(ctx, "t1", "same")
	if a == b {
		t.Fatal("two seals of the same value are equal: nonce reuse")
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	c := newFileCipher(t, newTable(t), t.TempDir())
	sealed, err := c.Seal(ctx, "t1", "secret@example.com")
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 'A' ^ 'B'
	for name, tc := range map[string]struct{ tenant, value string }{
		"other tenant":  {"t2", sealed},
		"tampered":      {"t1", string(tampered)},
		"not sealed":    {"t1", "plain"},
		"unknown key":   {"t1", strings.Replace(sealed, "pii1.0001.", "pii1.0009.", 1)},
		"bad base64":    {"t1", "pii1.0001.***"},
		"truncated":     {"t1", "pii1.0001.AAAA"},
		"missing keyid": {"t1", "pii1..AAAA"},
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := c.Open(ctx, tc.tenant, tc.value); err == nil {
				t.Fatalf("Open accepted %q → %q", tc.value, got)
			}
		})
	}
}

func TestBlindIndex(t *testing.T) {
	ctx := context.Background()
	c := newFileCipher(t, newTable(t), t.TempDir())
	idx := func(tenant, kind, v string) string {
		t.Helper()
		s, err := c.BlindIndex(ctx, tenant, kind, v)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := idx("t1", pii.KindEmail, " Ann@Example.COM ")
	if a != idx("t1", pii.KindEmail, "ann@example.com") {
		t.Fatal("email index is not normalised")
	}
	if len(a) != 64 || strings.Contains(a, "ann") {
		t.Fatalf("index %q is not a hex HMAC", a)
	}
	if a == idx("t2", pii.KindEmail, "ann@example.com") {
		t.Fatal("indexes of two tenants are equal")
	}
	if idx("t1", pii.KindPhone, "+49 151 1234-5678") != idx("t1", pii.KindPhone, "004915112345678") {
		t.Fatal("phone index is not normalised")
	}
	if _, err := c.BlindIndex(ctx, "t1", pii.KindPhone, "0151 1234"); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("bad phone: %v, want invalid", err)
	}
	if _, err := c.BlindIndex(ctx, "t1", pii.KindEmail, "  "); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("empty email: %v, want invalid", err)
	}
}

func TestShred(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t)
	dir := t.TempDir()
	c := newFileCipher(t, tbl, dir)
	sealed, _ := c.Seal(ctx, "t1", "ann@example.com")
	other, _ := c.Seal(ctx, "t2", "bob@example.com")
	if err := c.Shred(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	for _, cc := range []*pii.Cipher{c, newFileCipher(t, tbl, dir)} {
		if _, err := cc.Open(ctx, "t1", sealed); !errors.Is(err, pii.ErrShredded) {
			t.Fatalf("Open after shred: %v, want ErrShredded", err)
		}
		if _, err := cc.Seal(ctx, "t1", "new"); !errors.Is(err, pii.ErrShredded) {
			t.Fatalf("Seal after shred: %v, want ErrShredded", err)
		}
		if got, err := cc.Open(ctx, "t2", other); err != nil || got != "bob@example.com" {
			t.Fatalf("other tenant after shred: %q, %v", got, err)
		}
	}
}

func TestConcurrentFirstKey(t *testing.T) {
	ctx := context.Background()
	tbl := newTable(t)
	dir := t.TempDir()
	var wg sync.WaitGroup
	idx := make([]string, 8)
	for i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := newFileCipher(t, tbl, dir).BlindIndex(ctx, "race", pii.KindEmail, "a@b.c")
			if err != nil {
				t.Error(err)
			}
			idx[i] = s
		}()
	}
	wg.Wait()
	for _, s := range idx[1:] {
		if s != idx[0] {
			t.Fatal("instances created different first keys")
		}
	}
}

func TestNewRejectsBadKeyIDs(t *testing.T) {
	for _, id := range []string{"", "file:", "arn:aws:kms:us-east-1:1:key/x"} {
		if _, err := pii.New(context.Background(), id, nil, nil, nil); err == nil {
			t.Errorf("New(%q) accepted", id)
		}
	}
}

// TestKMSEnvelope runs the real KMS client against a local server speaking
// KMS's JSON protocol, checking the encryption context binds the tenant.
func TestKMSEnvelope(t *testing.T) {
	ctx := context.Background()
	srv := newKMSServer(t)
	client := kms.New(kms.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	tbl := newTable(t)
	c, err := pii.New(ctx, "alias/pulsehub-pii", tbl, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Seal(ctx, "t1", "+15551234567")
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := pii.New(ctx, "alias/pulsehub-pii", tbl, client, nil)
	if got, err := c2.Open(ctx, "t1", sealed); err != nil || got != "+15551234567" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Cached: many opens, one Decrypt per instance.
	for range 10 {
		if _, err := c2.Open(ctx, "t1", sealed); err != nil {
			t.Fatal(err)
		}
	}
	if srv.calls["GenerateDataKey"] != 1 || srv.calls["Decrypt"] != 1 {
		t.Fatalf("KMS calls %v, want 1 GenerateDataKey and 1 Decrypt", srv.calls)
	}

	// The wrapped data key is bound to its tenant by the encryption
	// context: t1's wrapped key filed under t2 (a misfiled or copied item)
	// does not unwrap for t2, so t2 cannot read t1's data.
	var deks []map[string]any
	deks, err = store.QueryAll[map[string]any](ctx, tbl, store.Query{PK: "T#t1", SKPrefix: "DEK#", Consistent: true}, 0)
	if err != nil || len(deks) != 1 {
		t.Fatalf("t1's data keys: %d, %v", len(deks), err)
	}
	moved := deks[0]
	moved["PK"] = "T#t2"
	if err := tbl.Put(ctx, moved); err != nil {
		t.Fatal(err)
	}
	c3, err := pii.New(ctx, "alias/pulsehub-pii", tbl, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c3.Open(ctx, "t2", sealed); err == nil {
		t.Fatalf("t1's value opened under t2: %q", got)
	}
	if srv.refused != 1 {
		t.Fatalf("KMS refused %d unwraps, want 1: t1's data key must not unwrap under t2's encryption context", srv.refused)
	}
	if got, err := c3.Open(ctx, "t1", sealed); err != nil || got != "+15551234567" {
		t.Fatalf("Open under t1 after the refusal = %q, %v", got, err)
	}
	if srv.calls["Decrypt"] != 3 {
		t.Fatalf("KMS calls %v, want 3 Decrypts (t1, refused t2, t1)", srv.calls)
	}
}

type kmsServer struct {
	*httptest.Server
	mu      sync.Mutex
	calls   map[string]int
	refused int // Decrypts refused for a wrong encryption context or blob
}

func newKMSServer(t *testing.T) *kmsServer {
	master := make([]byte, 32)
	rand.Read(master)
	block, _ := aes.NewCipher(master)
	aead, _ := cipher.NewGCM(block)
	s := &kmsServer{calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
		s.mu.Lock()
		s.calls[op]++
		s.mu.Unlock()
		var in struct {
			KeyId             string
			KeySpec           string
			CiphertextBlob    []byte
			EncryptionContext map[string]string
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		ctxAAD := []byte(in.EncryptionContext["tenant"])
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch op {
		case "GenerateDataKey":
			if in.KeySpec != "AES_256" {
				http.Error(w, "bad key spec", 400)
				return
			}
			plain := make([]byte, 32)
			rand.Read(plain)
			nonce := make([]byte, 12)
			rand.Read(nonce)
			json.NewEncoder(w).Encode(map[string]any{"KeyId": in.KeyId, "Plaintext": plain, "CiphertextBlob": aead.Seal(nonce, nonce, plain, ctxAAD)})
		case "Decrypt":
			plain, err := aead.Open(nil, in.CiphertextBlob[:12], in.CiphertextBlob[12:], ctxAAD)
			if err != nil {
				s.mu.Lock()
				s.refused++
				s.mu.Unlock()
				w.WriteHeader(400)
				json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidCiphertextException", "message": "bad"})
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"KeyId": in.KeyId, "Plaintext": plain})
		default:
			http.Error(w, "unknown op "+op, 400)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func BenchmarkSealOpen(b *testing.B) {
	ctx := context.Background()
	db := testenv.DynamoDB(b)
	name := testenv.Name(b, "piibench")
	if err := store.Provision(ctx, db, catalog.System().Table, name); err != nil {
		b.Fatal(err)
	}
	c, err := pii.New(ctx, "file:"+b.TempDir(), store.New(db, name, nil), nil, func() time.Time { return time.Unix(0, 0) })
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, _ := c.Seal(ctx, "t1", "ann@example.com")
		if _, err := c.Open(ctx, "t1", s); err != nil {
			b.Fatal(err)
		}
	}
}
