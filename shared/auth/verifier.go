package auth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// SessionCacheTTL is how long the api function trusts a login it found
// valid: the longest a logout or a refresh-token reuse handled by another
// instance takes to stop that login's access tokens here
// (docs/security.md). A revoked login is refused as soon as it is seen.
const SessionCacheTTL = 2 * time.Second

// sessionsMax bounds the remembered logins; when full the cache is emptied
// (the cost is one read per active login).
const sessionsMax = 4096

var errRevoked = apperr.E(apperr.Unauthorized, "session was revoked; sign in again")

// Verifier checks access tokens for the HTTP API (httpapi.Verifier) and the
// WebSocket $connect handler: the signature and claims, then that the
// login (refresh-token family) was not revoked by logout or token reuse.
type Verifier struct {
	tokens   *Tokens
	table    *store.Table
	cacheFor time.Duration

	mu       sync.Mutex
	sessions map[string]session // by tenant + "#" + session id
}

// session is what the verifier last learned about a login.
type session struct {
	user    string
	checked time.Time
	revoked bool // final: a family is never un-revoked
}

// NewVerifier returns a Verifier that trusts a valid login for cacheFor
// after reading it (0: read on every call). Revoked logins are remembered
// as revoked.
func NewVerifier(tok *Tokens, t *store.Table, cacheFor time.Duration) *Verifier {
	return &Verifier{tokens: tok, table: t, cacheFor: cacheFor, sessions: map[string]session{}}
}

// Verify returns the token's principal or an apperr.Unauthorized error.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	p, err := v.tokens.Parse(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	key := p.TenantID + "#" + p.SessionID
	now := v.tokens.now()
	v.mu.Lock()
	s, ok := v.sessions[key]
	v.mu.Unlock()
	if ok && s.revoked {
		return Principal{}, errRevoked
	}
	if ok && s.user == p.UserID && !now.Before(s.checked) && now.Sub(s.checked) < v.cacheFor {
		return p, nil
	}
	var fam familyItem
	if err := v.table.Get(ctx, familyKey(p.TenantID, p.SessionID), &fam); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			// Families are written before their first token and go only
			// when expired (reads are consistent): this is final too.
			v.remember(key, session{revoked: true})
			return Principal{}, apperr.E(apperr.Unauthorized, "session not found")
		}
		return Principal{}, fmt.Errorf("auth.Verify: %w", err)
	}
	if fam.Revoked {
		v.remember(key, session{revoked: true})
		return Principal{}, errRevoked
	}
	if fam.UserID != p.UserID {
		return Principal{}, errRevoked
	}
	if v.cacheFor > 0 {
		v.remember(key, session{user: p.UserID, checked: now})
	}
	return p, nil
}

// revoked records that this process revoked a login, so its tokens stop
// here at once rather than after SessionCacheTTL.
func (v *Verifier) revoked(tenant, sid string) {
	v.remember(tenant+"#"+sid, session{revoked: true})
}

func (v *Verifier) remember(key string, s session) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.sessions) >= sessionsMax {
		clear(v.sessions)
	}
	v.sessions[key] = s
}
