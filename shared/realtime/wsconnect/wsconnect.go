// Package wsconnect is the ws-connect function: realtime's $connect handler
// with the identity service's token verifier. It is a package of its own so
// that only ws-connect links the identity code (JWT keys from Secrets
// Manager, KMS for personal data); ws-message and ws-disconnect stay small
// and start faster.
package wsconnect

import (
	"context"
	"fmt"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/realtime"
)

// NewFunction builds the ws-connect handler (lambdafn.Constructor).
func NewFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	tok, err := auth.OpenTokens(ctx, d.AWS, d.Config.JWTSecretID, nil)
	if err != nil {
		return nil, fmt.Errorf("ws-connect: %w", err)
	}
	// The login is read on every connect (no session cache): a WebSocket
	// connects once and then lives for hours, so the check is rare and
	// should be fresh.
	v := auth.NewVerifier(tok, d.Table(), 0)
	return realtime.NewConnectHandler(realtime.ConnectionStore(d), verifier{v}, d.Logger).Handle, nil
}

// verifier adapts auth.Verifier (signature, claims, revoked logins) to
// realtime.TokenVerifier.
type verifier struct{ v *auth.Verifier }

func (a verifier) Verify(ctx context.Context, token string) (realtime.Principal, error) {
	p, err := a.v.Verify(ctx, token)
	return realtime.Principal{TenantID: p.TenantID, UserID: p.UserID, Role: string(p.Role)}, err
}
