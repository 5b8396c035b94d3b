package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Token claims constants: every access token names the issuer and audience
// so a token minted for something else is refused.
const (
	Issuer         = "pulsehub"
	Audience       = "pulsehub-api"
	AccessTokenTTL = 15 * time.Minute
	clockSkew      = 30 * time.Second
)

// Claims are an access token's claims.
type Claims struct {
	TenantID  string `json:"tid"`
	Role      Role   `json:"role"`
	SessionID string `json:"sid"` // refresh-token family
	jwt.RegisteredClaims
}

// Tokens issues and parses access tokens.
type Tokens struct {
	ring   *keyRing
	now    func() time.Time
	parser *jwt.Parser

	// verified caches the principals of recently verified tokens by their
	// exact text: a client sends the same token for 15 minutes, and the
	// signature check is the expensive part. Expiry is checked on every hit.
	mu       sync.Mutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	p   Principal
	exp time.Time
}

// verifiedMax bounds the cache; when full it is emptied (simple, and the
// cost is one signature check per active token).
const verifiedMax = 4096

// OpenTokens loads the signing keys named by secretID
// (JWT_SIGNING_SECRET_ID): "file:DIR", or a Secrets Manager id read through
// a client built from cfg. Every function that issues or checks tokens
// opens them this way.
func OpenTokens(ctx context.Context, cfg aws.Config, secretID string, now func() time.Time) (*Tokens, error) {
	var sm SecretsManager
	if !strings.HasPrefix(secretID, "file:") {
		sm = secretsmanager.NewFromConfig(cfg)
	}
	return NewTokens(ctx, secretID, sm, now)
}

// NewTokens loads the signing keys named by secretID ("file:DIR" or a
// Secrets Manager id; sm may be nil for file:).
func NewTokens(ctx context.Context, secretID string, sm SecretsManager, now func() time.Time) (*Tokens, error) {
	if now == nil {
		now = time.Now
	}
	load, err := newKeySource(secretID, sm)
	if err != nil {
		return nil, err
	}
	set, err := load(ctx)
	if err != nil {
		return nil, err
	}
	return &Tokens{
		ring:     &keyRing{load: load, now: now, set: set},
		now:      now,
		verified: map[string]verifiedToken{},
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithIssuer(Issuer), jwt.WithAudience(Audience),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
			jwt.WithLeeway(clockSkew), jwt.WithTimeFunc(now),
		),
	}, nil
}

// Issue signs an access token for p in session sid.
func (t *Tokens) Issue(p Principal, sid string) (string, time.Duration, error) {
	set := t.ring.current()
	now := t.now()
	c := Claims{TenantID: p.TenantID, Role: p.Role, SessionID: sid, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Audience: jwt.ClaimStrings{Audience}, Subject: p.UserID, ID: rand.Text(),
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(AccessTokenTTL)),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = set.signKID
	s, err := tok.SignedString(set.sign)
	if err != nil {
		return "", 0, fmt.Errorf("auth: sign token: %w", err)
	}
	return s, AccessTokenTTL, nil
}

// Parse verifies an access token's signature (EdDSA only, key chosen by
// kid), issuer, audience and lifetime, and returns its principal.
func (t *Tokens) Parse(ctx context.Context, token string) (Principal, error) {
	if len(token) > 4096 {
		return Principal{}, apperr.E(apperr.Unauthorized, "token too long")
	}
	t.mu.Lock()
	v, ok := t.verified[token]
	t.mu.Unlock()
	if ok && t.now().Before(v.exp.Add(clockSkew)) {
		return v.p, nil
	}
	var c Claims
	_, err := t.parser.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		pk, ok := t.ring.publicKey(ctx, kid)
		if !ok {
			return nil, fmt.Errorf("unknown signing key %q", kid)
		}
		return pk, nil
	})
	if err != nil {
		msg := "access token is invalid"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "access token expired; refresh it"
		}
		return Principal{}, apperr.Wrap(apperr.Unauthorized, err, "%s", msg)
	}
	if c.TenantID == "" || c.Subject == "" || c.SessionID == "" || c.ID == "" {
		return Principal{}, apperr.E(apperr.Unauthorized, "access token lacks tid, sub, sid or jti")
	}
	if _, err := ParseRole(string(c.Role)); err != nil {
		return Principal{}, apperr.E(apperr.Unauthorized, "access token has an unknown role")
	}
	p := Principal{TenantID: c.TenantID, UserID: c.Subject, Role: c.Role, TokenID: c.ID, SessionID: c.SessionID}
	t.mu.Lock()
	if len(t.verified) >= verifiedMax {
		clear(t.verified)
	}
	t.verified[token] = verifiedToken{p: p, exp: c.ExpiresAt.Time}
	t.mu.Unlock()
	return p, nil
}
