package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Verifier checks access tokens for the HTTP API (httpapi.Verifier) and the
// WebSocket $connect handler: the signature and claims, then that the
// login (refresh-token family) was not revoked by logout or token reuse.
type Verifier struct {
	tokens *Tokens
	table  *store.Table
}

// NewVerifier returns a Verifier.
func NewVerifier(tok *Tokens, t *store.Table) *Verifier { return &Verifier{tokens: tok, table: t} }

// VerifierFromDeps builds a Verifier for a function whose catalog entry has
// the table and JWT_SIGNING_SECRET_ID (e.g. ws-connect).
func VerifierFromDeps(ctx context.Context, d lambdafn.Deps) (*Verifier, error) {
	var sm SecretsManager
	if !strings.HasPrefix(d.Config.JWTSecretID, "file:") {
		sm = secretsmanager.NewFromConfig(d.AWS)
	}
	tok, err := NewTokens(ctx, d.Config.JWTSecretID, sm, nil)
	if err != nil {
		return nil, err
	}
	return NewVerifier(tok, store.New(dynamodb.NewFromConfig(d.AWS), d.Config.TableName, d.Config.CursorSecret)), nil
}

// Verify returns the token's principal or an apperr.Unauthorized error.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	p, err := v.tokens.Parse(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	var fam familyItem
	if err := v.table.Get(ctx, familyKey(p.TenantID, p.SessionID), &fam); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return Principal{}, apperr.E(apperr.Unauthorized, "session not found")
		}
		return Principal{}, fmt.Errorf("auth.Verify: %w", err)
	}
	if fam.Revoked || fam.UserID != p.UserID {
		return Principal{}, apperr.E(apperr.Unauthorized, "session was revoked; sign in again")
	}
	return p, nil
}
