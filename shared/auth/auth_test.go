package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(Argon2Params{Memory: 1024, Time: 1, Threads: 1})
	enc, err := h.Hash(ctx, "correct-horse-1")
	if err != nil || !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("Hash = %q, %v", enc, err)
	}
	if ok, err := h.Verify(ctx, "correct-horse-1", enc); !ok || err != nil {
		t.Fatalf("Verify right password = %v, %v", ok, err)
	}
	if ok, _ := h.Verify(ctx, "correct-horse-2", enc); ok {
		t.Fatal("wrong password verified")
	}
	// Hashes made with other parameters keep verifying (cost can rise).
	if ok, _ := NewHasher(DefaultArgon2()).Verify(ctx, "correct-horse-1", enc); !ok {
		t.Fatal("hash with old parameters does not verify")
	}
	if _, _, _, err := parseHash(dummyHash); err != nil {
		t.Fatalf("dummy hash does not parse: %v", err)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5"} {
		if _, err := h.Verify(ctx, "x", bad); err == nil {
			t.Errorf("Verify accepted malformed hash %q", bad)
		}
	}
}

func TestCheckPasswordAndSlug(t *testing.T) {
	if CheckPassword("short") == nil || CheckPassword(strings.Repeat("x", 300)) == nil || CheckPassword("demo-password-1") != nil {
		t.Fatal("password length rules")
	}
	for in, want := range map[string]string{"Acme Shop": "acme-shop", "  demo ": "demo", "Café & Co!!": "caf-co", "--x--": "x"} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoleMatrix(t *testing.T) {
	for _, p := range Permissions() {
		if !Allowed(Owner, p) || !Allowed(Admin, p) {
			t.Errorf("owner/admin lack %s", p)
		}
	}
	for _, tc := range []struct {
		r    Role
		p    Permission
		want bool
	}{
		{Viewer, CustomersRead, true}, {Viewer, CustomersWrite, false}, {Viewer, ChatUse, false},
		{Analyst, SegmentsWrite, true}, {Analyst, CampaignsSend, false}, {Analyst, CustomersExport, false},
		{Marketer, CampaignsSend, true}, {Marketer, IntegrationsWrite, false}, {Marketer, UsersManage, false},
		{Marketer, CustomersErase, false}, {Role("root"), Authenticated, false},
	} {
		if got := Allowed(tc.r, tc.p); got != tc.want {
			t.Errorf("Allowed(%s, %s) = %v", tc.r, tc.p, got)
		}
	}
	if CanGrant(Admin, Admin) || CanGrant(Owner, Owner) || !CanGrant(Owner, Admin) || CanGrant(Marketer, Viewer) {
		t.Fatal("CanGrant rules")
	}
}

func newTestTokens(tb testing.TB, now func() time.Time) *Tokens {
	tok, err := NewTokens(context.Background(), "file:"+tb.TempDir(), nil, now)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestIssueParse(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	tok := newTestTokens(t, clock)
	p := Principal{TenantID: "t1", UserID: "u1", Role: Marketer}
	s, ttl, err := tok.Issue(p, "f1")
	if err != nil || ttl != 15*time.Minute {
		t.Fatal(err)
	}
	got, err := tok.Parse(context.Background(), s)
	if err != nil || got.TenantID != "t1" || got.UserID != "u1" || got.Role != Marketer || got.SessionID != "f1" || got.TokenID == "" {
		t.Fatalf("Parse = %+v, %v", got, err)
	}
	now = now.Add(16 * time.Minute)
	// Expired, although verified (and cached) a moment ago.
	if _, err := tok.Parse(context.Background(), s); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired token: %v", err)
	}
	// Another key set (another deployment) does not verify it.
	now = now.Add(-16 * time.Minute)
	if _, err := newTestTokens(t, clock).Parse(context.Background(), s); err == nil {
		t.Fatal("token verified under a foreign key set")
	}
}

func FuzzParseToken(f *testing.F) {
	tok := newTestTokens(f, nil)
	good, _, err := tok.Issue(Principal{TenantID: "t1", UserID: "u1", Role: Viewer}, "f1")
	if err != nil {
		f.Fatal(err)
	}
	var issued Claims
	if _, _, err := jwt.NewParser().ParseUnverified(good, &issued); err != nil || issued.ID == "" {
		f.Fatalf("issued token has no jti: %v", err)
	}
	want, err := tok.Parse(context.Background(), good)
	if err != nil || want != (Principal{TenantID: "t1", UserID: "u1", Role: Viewer, SessionID: "f1", TokenID: issued.ID}) {
		f.Fatalf("Parse(good) = %+v, %v", want, err)
	}
	for _, s := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good + "x", strings.Replace(good, ".", "..", 1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := tok.Parse(context.Background(), s)
		if err != nil {
			if p != (Principal{}) {
				t.Fatalf("Parse(%q) failed (%v) but returned %+v", s, err, p)
			}
			return
		}
		// Only the good token, or a re-encoding of it that verifies (base64
		// padding bits), may pass; it must carry every claim of the good
		// one: tenant, user, role, token id and session.
		if p != want {
			t.Fatalf("Parse(%q) = %+v, want the good token's claims %+v", s, p, want)
		}
	})
}

// BenchmarkVerifyToken: a token seen before (the common case: a client
// reuses its token for 15 minutes).
func BenchmarkVerifyToken(b *testing.B) {
	tok := newTestTokens(b, nil)
	s, _, _ := tok.Issue(Principal{TenantID: "t1", UserID: "u1", Role: Viewer}, "f1")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tok.Parse(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyTokenCold: every token new, so every call checks the
// Ed25519 signature and the claims.
func BenchmarkVerifyTokenCold(b *testing.B) {
	tok := newTestTokens(b, nil)
	tokens := make([]string, 2048)
	for i := range tokens {
		tokens[i], _, _ = tok.Issue(Principal{TenantID: "t1", UserID: "u1", Role: Viewer}, "f1")
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%len(tokens) == 0 {
			clear(tok.verified)
		}
		if _, err := tok.Parse(ctx, tokens[i%len(tokens)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSignatureFloor is the signature check alone, on a token-sized
// message: the floor under BenchmarkVerifyTokenCold for the algorithms the
// issue allows (EdDSA, which tokens use, and ES256).
func BenchmarkSignatureFloor(b *testing.B) {
	msg := []byte(strings.Repeat("eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.", 8))
	b.Run("Ed25519", func(b *testing.B) {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		sig := ed25519.Sign(priv, msg)
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("signature does not verify")
			}
		}
	})
	b.Run("ES256", func(b *testing.B) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.Sum256(msg)
		sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			h := sha256.Sum256(msg)
			if !ecdsa.VerifyASN1(&k.PublicKey, h[:], sig) {
				b.Fatal("signature does not verify")
			}
		}
	})
}

func BenchmarkLoginHash(b *testing.B) {
	h := NewHasher(DefaultArgon2())
	enc, _ := h.Hash(context.Background(), "correct-horse-1")
	for b.Loop() {
		h.Verify(context.Background(), "correct-horse-1", enc)
	}
}
