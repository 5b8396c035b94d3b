package unsubscribe_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/channel/channeltest"
	"github.com/pulsehub/pulsehub/shared/channel/unsubscribe"
)

func TestTokenRoundTripAndTampering(t *testing.T) {
	ctx := context.Background()
	s := unsubscribe.New(channeltest.Keys{}, "https://api.pulsehub.test/")
	c := unsubscribe.Claims{Tenant: "t1", CustomerID: "c-9", Channel: "email", CampaignID: "camp", Variant: "B"}
	tok, err := s.Token(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Token(ctx, c)
	if tok != again {
		t.Fatal("tokens are not deterministic: the header and the body's link would differ")
	}
	u, _ := s.URL(ctx, c)
	if u != "https://api.pulsehub.test/unsubscribe/"+tok || strings.ContainsAny(tok, "/+=?#") {
		t.Fatalf("URL %q", u)
	}
	got, err := s.Verify(ctx, tok)
	if err != nil || got != c {
		t.Fatalf("Verify = %+v, %v", got, err)
	}

	payload, sig, _ := strings.Cut(tok, ".")
	other := c
	other.CustomerID = "c-10"
	forged, _ := s.Token(ctx, other)
	otherPayload, _, _ := strings.Cut(forged, ".")
	b64 := base64.RawURLEncoding
	anotherTenant := b64.EncodeToString([]byte(`{"t":"t2","c":"c-9","ch":"email"}`))
	for name, bad := range map[string]string{
		"other customer, old signature": otherPayload + "." + sig,
		"truncated signature":           payload + "." + sig[:len(sig)-2],
		"no signature":                  payload,
		"another tenant, old signature": anotherTenant + "." + sig,
		"not base64":                    "%%%." + sig,
		"empty claims":                  b64.EncodeToString([]byte(`{}`)) + "." + sig,
		"tenant with a key separator":   b64.EncodeToString([]byte(`{"t":"a#b","c":"c","ch":"email"}`)) + "." + sig,
		"far too long":                  strings.Repeat("a", unsubscribe.MaxToken+1),
	} {
		if _, err := s.Verify(ctx, bad); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("%s: Verify = %v, want not found", name, err)
		}
	}
	if _, err := s.Token(ctx, unsubscribe.Claims{Tenant: "t1"}); err == nil {
		t.Error("a token without customer and channel")
	}
}

func FuzzVerify(f *testing.F) {
	s := unsubscribe.New(channeltest.Keys{}, "https://x.test")
	tok, _ := s.Token(context.Background(), unsubscribe.Claims{Tenant: "t", CustomerID: "c", Channel: "email"})
	for _, seed := range []string{tok, "", ".", "a.b", tok + "x", strings.Replace(tok, "e", "f", 1)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Verify(context.Background(), token)
		if err == nil {
			// Only the one genuine token verifies.
			if token != tok || c.CustomerID != "c" {
				t.Fatalf("forged token %q verified as %+v", token, c)
			}
		} else if apperr.KindOf(err) != apperr.NotFound {
			t.Fatalf("Verify(%q) = %v", token, err)
		}
	})
}
