package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// fakeSecrets answers GetSecretValue with one fixed value, as Secrets
// Manager does for the stack's JWT secret.
type fakeSecrets struct{ value string }

func (f fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{ARN: in.SecretId, SecretString: aws.String(f.value)}, nil
}

// generatedPassword looks like the stack's GenerateSecretString value:
// 64 characters, letters and digits.
const generatedPassword = "Xq7bT2mLk9VfR4sWz8NcH3jPd6GyE1uAo5KtB0nMiQ2wLr7ZsC4vF9hJx3Dp8Ye6"

func keySetJSON(t *testing.T, entries ...KeyEntry) string {
	t.Helper()
	b, err := json.Marshal(KeyFile{Keys: entries})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSecretsManagerKeys(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	old, cur := NewKeyEntry(now), NewKeyEntry(now.Add(time.Hour))
	tests := []struct {
		name     string
		value    string
		wantKID  string // "" when only checked for stability
		verifies []string
		wantErr  string
	}{
		{name: "generated password derives a key", value: generatedPassword},
		{name: "surrounding whitespace is ignored", value: "\n" + generatedPassword + " \n"},
		{name: "key set: last signs, all verify", value: keySetJSON(t, old, cur), wantKID: cur.KID, verifies: []string{old.KID, cur.KID}},
		{name: "empty", value: "", wantErr: "value is empty"},
		{name: "blank", value: " \n\t", wantErr: "value is empty"},
		{name: "too short to derive from", value: "hunter2", wantErr: "7 characters and not a JSON key set"},
		{name: "broken json", value: `{"keys":[`, wantErr: "not a JSON key set"},
		{name: "json without keys", value: `{"other":1}`, wantErr: "no signing keys"},
		{name: "key set with a bad seed", value: `{"keys":[{"kid":"k1","alg":"EdDSA","privateKey":"AAAA"}]}`, wantErr: "32-byte seed"},
	}
	derived, err := DeriveKeyEntry([]byte(generatedPassword))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			load, err := newKeySource("arn:aws:secretsmanager:us-east-1:1:secret:pulsehub/dev/jwt", fakeSecrets{tt.value})
			if err != nil {
				t.Fatal(err)
			}
			a, err := load(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "pulsehub/dev/jwt") {
					t.Fatalf("err = %v, want one naming the secret and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// A second load stands for another instance, or a cold start.
			b, err := load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if a.signKID != b.signKID || !a.sign.Equal(b.sign) {
				t.Fatalf("loads disagree: kid %q vs %q", a.signKID, b.signKID)
			}
			want := tt.wantKID
			if want == "" {
				want = derived.KID
				if !a.sign.Equal(ed25519.NewKeyFromSeed(derived.PrivateKey)) {
					t.Error("derived signing key differs from DeriveKeyEntry")
				}
			}
			if a.signKID != want {
				t.Errorf("signing kid = %q, want %q", a.signKID, want)
			}
			for _, kid := range append(tt.verifies, want) {
				if _, ok := a.verify[kid]; !ok {
					t.Errorf("kid %q does not verify", kid)
				}
			}
		})
	}
}

func TestDeriveKeyEntry(t *testing.T) {
	a, err := DeriveKeyEntry([]byte(generatedPassword))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.KID, "d-") || len(a.KID) != 14 || a.Alg != "EdDSA" || len(a.PrivateKey) != ed25519.SeedSize {
		t.Fatalf("entry = kid %q alg %q seed %d bytes", a.KID, a.Alg, len(a.PrivateKey))
	}
	// One character changed gives an unrelated key and kid.
	other := []byte(generatedPassword)
	other[0] = 'Y'
	b, err := DeriveKeyEntry(other)
	if err != nil {
		t.Fatal(err)
	}
	if a.KID == b.KID || string(a.PrivateKey) == string(b.PrivateKey) {
		t.Fatal("different secrets derived the same key")
	}
	// The seed is not the secret's bytes: HKDF, not truncation.
	if string(a.PrivateKey) == generatedPassword[:ed25519.SeedSize] {
		t.Fatal("seed is the secret itself")
	}
}

// A token signed on one instance from the generated password verifies on
// another that derived its key independently.
func TestDerivedKeyTokensAcrossInstances(t *testing.T) {
	ctx := context.Background()
	sm := fakeSecrets{generatedPassword}
	one, err := NewTokens(ctx, "pulsehub/dev/jwt", sm, nil)
	if err != nil {
		t.Fatal(err)
	}
	two, err := NewTokens(ctx, "pulsehub/dev/jwt", sm, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := one.Issue(Principal{TenantID: "t1", UserID: "u1", Role: Owner}, "f1")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := two.Parse(ctx, s); err != nil || p.UserID != "u1" {
		t.Fatalf("Parse on the second instance = %+v, %v", p, err)
	}
	if _, err := NewTokens(ctx, "pulsehub/dev/jwt", fakeSecrets{""}, nil); err == nil {
		t.Fatal("empty secret accepted")
	}
}

func FuzzParseKeySecret(f *testing.F) {
	for _, s := range []string{"", generatedPassword, `{"keys":[]}`, `{"keys":[{"kid":"k","alg":"EdDSA","privateKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}`, "{", strings.Repeat("a", 31)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ks, err := parseKeySecret(v)
		if err != nil {
			return
		}
		if ks.sign == nil || ks.verify[ks.signKID] == nil {
			t.Fatalf("key set without a usable signing key for %q", v)
		}
		again, err := parseKeySecret(v)
		if err != nil || again.signKID != ks.signKID || !again.sign.Equal(ks.sign) {
			t.Fatalf("value %q parsed differently twice: %v", v, err)
		}
	})
}
