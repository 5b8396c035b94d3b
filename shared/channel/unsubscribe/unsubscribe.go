// Package unsubscribe signs and verifies the unsubscribe links carried by
// marketing messages (the List-Unsubscribe header of an email and the link
// in its footer): PUBLIC_BASE_URL/unsubscribe/{token}, where the token
// names the workspace, the customer, the channel and the campaign, and is
// signed with a key of that workspace, so nobody can forge one for
// another customer and no lookup table is needed. The landing route
// (webhooks function) verifies it; the opt-out itself travels the usual
// consent path through the ingest queue.
package unsubscribe

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Keys computes a keyed MAC per workspace (pii.Cipher.BlindIndex: HMAC-SHA256
// under the workspace's index key, separated by kind). Links die with the
// workspace's keys (crypto-shred), which is what erasure wants.
type Keys interface {
	BlindIndex(ctx context.Context, tenant, kind, value string) (string, error)
}

// kind separates unsubscribe MACs from every blind index.
const kind = "unsubscribe-link"

// Claims is what an unsubscribe link says.
type Claims struct {
	Tenant     string `json:"t"`
	CustomerID string `json:"c"`
	Channel    string `json:"ch"`
	CampaignID string `json:"cp,omitempty"`
	Variant    string `json:"v,omitempty"`
}

// Path is the landing route's prefix.
const Path = "/unsubscribe/"

// MaxToken bounds a token's length: claims are a few ids.
const MaxToken = 1024

// Signer makes and checks tokens.
type Signer struct {
	keys Keys
	base string // PUBLIC_BASE_URL
}

// New returns a Signer; publicURL is PUBLIC_BASE_URL (only URL needs it).
func New(keys Keys, publicURL string) *Signer {
	return &Signer{keys: keys, base: strings.TrimRight(publicURL, "/")}
}

var b64 = base64.RawURLEncoding

// Token signs c: base64url(JSON claims) "." base64url(MAC).
func (s *Signer) Token(ctx context.Context, c Claims) (string, error) {
	if c.Tenant == "" || c.CustomerID == "" || c.Channel == "" {
		return "", fmt.Errorf("unsubscribe: a token needs tenant, customer and channel")
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("unsubscribe: %w", err)
	}
	payload := b64.EncodeToString(body)
	mac, err := s.mac(ctx, c.Tenant, payload)
	if err != nil {
		return "", err
	}
	return payload + "." + b64.EncodeToString(mac), nil
}

// URL is the landing page of c's token under PUBLIC_BASE_URL.
func (s *Signer) URL(ctx context.Context, c Claims) (string, error) {
	t, err := s.Token(ctx, c)
	if err != nil {
		return "", err
	}
	return s.base + Path + t, nil
}

// errInvalid is the one answer for every bad token (forged, truncated,
// another workspace's): apperr.NotFound, so the page says the link is not
// valid without telling why.
var errInvalid = apperr.E(apperr.NotFound, "this unsubscribe link is not valid")

// Verify checks token and returns its claims.
func (s *Signer) Verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > MaxToken {
		return Claims{}, errInvalid
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, errInvalid
	}
	body, err1 := b64.DecodeString(payload)
	got, err2 := b64.DecodeString(sig)
	var c Claims
	if err1 != nil || err2 != nil || json.Unmarshal(body, &c) != nil || c.Tenant == "" || c.CustomerID == "" || c.Channel == "" || strings.Contains(c.Tenant, "#") {
		return Claims{}, errInvalid
	}
	want, err := s.mac(ctx, c.Tenant, payload)
	if err != nil {
		if k := apperr.KindOf(err); k == apperr.NotFound || k == apperr.Invalid {
			return Claims{}, errInvalid // e.g. the workspace's keys were destroyed
		}
		return Claims{}, err
	}
	if !hmac.Equal(got, want) {
		return Claims{}, errInvalid
	}
	return c, nil
}

func (s *Signer) mac(ctx context.Context, tenant, payload string) ([]byte, error) {
	h, err := s.keys.BlindIndex(ctx, tenant, kind, payload)
	if err != nil {
		return nil, fmt.Errorf("unsubscribe: key of %s: %w", tenant, err)
	}
	return hex.DecodeString(h)
}
