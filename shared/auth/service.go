package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Session lifetimes: a refresh token lives 30 days, a login at most 90.
const (
	RefreshTokenTTL = 30 * 24 * time.Hour
	SessionMaxAge   = 90 * 24 * time.Hour
)

// systemTenant keys the blind index of user emails in global items
// (LOGIN#…), which must be found before the tenant is known.
const systemTenant = "_system"

// Auditor records security events.
type Auditor interface {
	Record(ctx context.Context, tenant string, e audit.Entry) error
}

// Throttle takes a token from a rate-limit bucket (shared/ratelimit).
type Throttle interface {
	Take(ctx context.Context, scope, key string, r ratelimit.Rule) (time.Duration, error)
}

// Login throttling rules, checked before any password hashing.
var (
	AccountRule = ratelimit.Rule{Rate: 1.0 / 60, Burst: 5} // per email: 5 tries, then 1 a minute
	IPRule      = ratelimit.Rule{Rate: 1, Burst: 60}       // per client IP
)

// Service is the identity service.
type Service struct {
	table    *store.Table
	cipher   *pii.Cipher
	hasher   *Hasher
	tokens   *Tokens
	throttle Throttle
	audit    Auditor
	now      func() time.Time
	verifier *Verifier

	cacheMu sync.Mutex
	slugs   map[string]string     // tenant → workspace slug (immutable)
	users   map[string]cachedUser // tenant#user → /v1/me answer (UserCacheTTL)
}

// cacheMax bounds each of the Service's caches; a full one is emptied.
const cacheMax = 4096

// NewService wires the identity service.
func NewService(t *store.Table, c *pii.Cipher, h *Hasher, tok *Tokens, th Throttle, a Auditor, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{table: t, cipher: c, hasher: h, tokens: tok, throttle: th, audit: a, now: now, verifier: NewVerifier(tok, t, SessionCacheTTL), slugs: map[string]string{}, users: map[string]cachedUser{}}
}

// Tokens returns the access-token issuer/parser.
func (s *Service) Tokens() *Tokens { return s.tokens }

// Items (docs/data-model.md).
type tenantItem struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	ID        string    `dynamodbav:"id"`
	Name      string    `dynamodbav:"name"`
	Slug      string    `dynamodbav:"slug"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
}

type slugItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Tenant string `dynamodbav:"tenant"`
}

type userItem struct {
	PK           string    `dynamodbav:"PK"`
	SK           string    `dynamodbav:"SK"`
	GSI1PK       string    `dynamodbav:"GSI1PK"`
	GSI1SK       string    `dynamodbav:"GSI1SK"`
	ID           string    `dynamodbav:"id"`
	Tenant       string    `dynamodbav:"tenant"`
	Email        string    `dynamodbav:"email"` // sealed
	EmailHash    string    `dynamodbav:"emailHash"`
	PasswordHash string    `dynamodbav:"passwordHash"`
	Role         Role      `dynamodbav:"role"`
	InvitedBy    string    `dynamodbav:"invitedBy,omitempty"`
	CreatedAt    time.Time `dynamodbav:"createdAt"`
}

type loginItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Tenant string `dynamodbav:"tenant"`
	UserID string `dynamodbav:"userId"`
}

type refreshItem struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	GSI1PK    string    `dynamodbav:"GSI1PK"`
	GSI1SK    string    `dynamodbav:"GSI1SK"`
	Tenant    string    `dynamodbav:"tenant"`
	UserID    string    `dynamodbav:"userId"`
	Family    string    `dynamodbav:"family"`
	Used      bool      `dynamodbav:"used"`
	ExpiresAt time.Time `dynamodbav:"expiresAt"`
	TTL       int64     `dynamodbav:"ttl"`
}

type familyItem struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Tenant    string    `dynamodbav:"tenant"`
	UserID    string    `dynamodbav:"userId"`
	Revoked   bool      `dynamodbav:"revoked"`
	Reason    string    `dynamodbav:"reason,omitempty"`
	ExpiresAt time.Time `dynamodbav:"expiresAt"`
	TTL       int64     `dynamodbav:"ttl"`
}

func userKey(t, u string) store.Key   { return store.Key{PK: "T#" + t, SK: "USER#" + u} }
func familyKey(t, f string) store.Key { return store.Key{PK: "T#" + t + "#FAM#" + f, SK: "FAM"} }
func refreshKey(token string) store.Key {
	h := sha256.Sum256([]byte(token))
	return store.Key{PK: "RT#" + hex.EncodeToString(h[:]), SK: "RT"}
}

func newID(prefix string) string { return prefix + strings.ToLower(rand.Text()[:20]) }

// TokenPair is what signup, login and refresh return.
type TokenPair struct {
	TenantID     string `json:"tenantId"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int    `json:"expiresIn"` // seconds
}

// Slugify turns a workspace name into its slug: lowercase letters, digits
// and single dashes.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

func checkEmail(email string) (string, error) {
	e := pii.NormalizeEmail(email)
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || len(e) > 254 || !strings.Contains(e[strings.IndexByte(e, '@')+1:], ".") {
		return "", &apperr.Error{Kind: apperr.Invalid, Field: "email", Message: "email must be an address like name@example.com"}
	}
	return e, nil
}

func (s *Service) take(ctx context.Context, scope, key string, r ratelimit.Rule) error {
	wait, err := s.throttle.Take(ctx, scope, key, r)
	if err != nil {
		return err
	}
	if wait > 0 {
		return &apperr.Error{Kind: apperr.RateLimited, Message: "too many attempts; retry later", RetryAfter: wait}
	}
	return nil
}

// Signup creates a workspace and its owner, and signs the owner in.
func (s *Service) Signup(ctx context.Context, workspace, email, password, ip string) (TokenPair, error) {
	slug := Slugify(workspace)
	if len(slug) < 2 || len(slug) > 40 {
		return TokenPair{}, &apperr.Error{Kind: apperr.Invalid, Field: "workspace", Message: "workspace must have 2 to 40 letters or digits"}
	}
	email, err := checkEmail(email)
	if err != nil {
		return TokenPair{}, err
	}
	if err := CheckPassword(password); err != nil {
		return TokenPair{}, err
	}
	if err := s.take(ctx, "signup-ip", ip, IPRule); err != nil {
		return TokenPair{}, err
	}
	tenant, user := newID("t"), newID("u")
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return TokenPair{}, err
	}
	emailHash, err := s.cipher.BlindIndex(ctx, systemTenant, pii.KindEmail, email)
	if err != nil {
		return TokenPair{}, err
	}
	sealed, err := s.cipher.Seal(ctx, tenant, email)
	if err != nil {
		return TokenPair{}, err
	}
	now := s.now().UTC()
	u := userItem{PK: "T#" + tenant, SK: "USER#" + user, GSI1PK: "T#" + tenant + "#USERS", GSI1SK: emailHash, ID: user, Tenant: tenant,
		Email: sealed, EmailHash: emailHash, PasswordHash: hash, Role: Owner, CreatedAt: now}
	err = s.table.Transact(ctx,
		s.table.TxPut(slugItem{PK: "SLUG#" + slug, SK: "SLUG", Tenant: tenant}, store.IfAbsent()),
		s.table.TxPut(tenantItem{PK: "TENANT#" + tenant, SK: "TENANT", ID: tenant, Name: strings.TrimSpace(workspace), Slug: slug, CreatedAt: now}, store.IfAbsent()),
		s.table.TxPut(u, store.IfAbsent()),
		s.table.TxPut(loginItem{PK: "LOGIN#" + emailHash, SK: "T#" + tenant, Tenant: tenant, UserID: user}, store.IfAbsent()),
	)
	if apperr.KindOf(err) == apperr.Conflict {
		return TokenPair{}, &apperr.Error{Kind: apperr.Conflict, Field: "workspace", Message: fmt.Sprintf("workspace %q is taken", slug), Err: err}
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth.Signup: %w", err)
	}
	if err := s.audit.Record(ctx, tenant, audit.Entry{Action: audit.Signup, ActorID: user, Target: slug, IP: ip}); err != nil {
		return TokenPair{}, err
	}
	return s.startSession(ctx, Principal{TenantID: tenant, UserID: user, Role: Owner})
}

// TenantBySlug resolves a workspace slug.
func (s *Service) TenantBySlug(ctx context.Context, slug string) (string, error) {
	var it slugItem
	if err := s.table.Get(ctx, store.Key{PK: "SLUG#" + Slugify(slug), SK: "SLUG"}, &it); err != nil {
		return "", err
	}
	return it.Tenant, nil
}

var errBadLogin = apperr.E(apperr.Unauthorized, "email or password is wrong")

// Login checks a password and starts a session. Attempts are throttled
// per account and per IP before any hashing.
func (s *Service) Login(ctx context.Context, email, password, workspace, ip string) (TokenPair, error) {
	if strings.TrimSpace(email) == "" {
		return TokenPair{}, &apperr.Error{Kind: apperr.Invalid, Field: "email", Message: "email is required"}
	}
	if password == "" {
		return TokenPair{}, &apperr.Error{Kind: apperr.Invalid, Field: "password", Message: "password is required"}
	}
	emailHash, err := s.cipher.BlindIndex(ctx, systemTenant, pii.KindEmail, email)
	if err != nil {
		return TokenPair{}, err
	}
	if err := s.take(ctx, "login-ip", ip, IPRule); err != nil {
		return TokenPair{}, err
	}
	if err := s.take(ctx, "login-account", emailHash, AccountRule); err != nil {
		return TokenPair{}, err
	}
	logins, err := store.QueryAll[loginItem](ctx, s.table, store.Query{PK: "LOGIN#" + emailHash, Consistent: true}, 100)
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth.Login: %w", err)
	}
	if workspace != "" {
		tenant, err := s.TenantBySlug(ctx, workspace)
		if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return TokenPair{}, err
		}
		var match []loginItem
		for _, l := range logins {
			if l.Tenant == tenant {
				match = append(match, l)
			}
		}
		logins = match
	}
	if len(logins) == 0 {
		// Spend the same work as a real check so timing does not reveal
		// whether the account exists.
		s.hasher.Verify(ctx, password, dummyHash)
		return TokenPair{}, errBadLogin
	}
	if len(logins) > maxLoginCandidates {
		logins = logins[:maxLoginCandidates]
	}
	// Without a workspace, the password picks among the email's accounts:
	// nothing about them is said before a password is proven.
	var matched []userItem
	for _, l := range logins {
		u, ok, err := s.checkPassword(ctx, l, password, ip)
		if err != nil {
			return TokenPair{}, err
		}
		if ok {
			matched = append(matched, u)
		}
	}
	switch {
	case len(matched) == 0:
		return TokenPair{}, errBadLogin
	case len(matched) > 1:
		return TokenPair{}, &apperr.Error{Kind: apperr.Invalid, Field: "workspace", Message: "this email and password open several workspaces; say which one in \"workspace\""}
	}
	u := matched[0]
	if err := s.audit.Record(ctx, u.Tenant, audit.Entry{Action: audit.Login, ActorID: u.ID, IP: ip}); err != nil {
		return TokenPair{}, err
	}
	return s.startSession(ctx, Principal{TenantID: u.Tenant, UserID: u.ID, Role: u.Role})
}

// maxLoginCandidates bounds the password checks one login attempt may cost
// when an email belongs to several workspaces and none is named.
const maxLoginCandidates = 5

// checkPassword verifies password against the user behind login l and
// audits a failure.
func (s *Service) checkPassword(ctx context.Context, l loginItem, password, ip string) (userItem, bool, error) {
	var u userItem
	if err := s.table.Get(ctx, userKey(l.Tenant, l.UserID), &u); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			s.hasher.Verify(ctx, password, dummyHash)
			return userItem{}, false, nil
		}
		return userItem{}, false, fmt.Errorf("auth.Login: %w", err)
	}
	ok, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return userItem{}, false, fmt.Errorf("auth.Login user %s: %w", u.ID, err)
	}
	if !ok {
		if err := s.audit.Record(ctx, u.Tenant, audit.Entry{Action: audit.LoginFailed, Target: u.ID, IP: ip}); err != nil {
			return userItem{}, false, err
		}
	}
	return u, ok, nil
}

// dummyHash is verified when no account matches (parameters = DefaultArgon2()).
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$0b2Q6cCvTqI9v1sQ8o3n0sC0v1mPZt7hQ1yZkzv8Yf4"

func newRefreshToken() string {
	b := make([]byte, 32) // 256 bits
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// startSession opens a refresh-token family and issues the first pair.
func (s *Service) startSession(ctx context.Context, p Principal) (TokenPair, error) {
	now := s.now().UTC()
	fam := newID("f")
	exp := now.Add(SessionMaxAge)
	fk := familyKey(p.TenantID, fam)
	rt := newRefreshToken()
	err := s.table.Transact(ctx,
		s.table.TxPut(familyItem{PK: fk.PK, SK: fk.SK, Tenant: p.TenantID, UserID: p.UserID, ExpiresAt: exp, TTL: store.TTL(exp)}, store.IfAbsent()),
		s.table.TxPut(s.refreshItem(rt, p, fam, now, exp), store.IfAbsent()),
	)
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth: start session: %w", err)
	}
	return s.pair(p, fam, rt)
}

func (s *Service) refreshItem(token string, p Principal, fam string, now, familyExp time.Time) refreshItem {
	k := refreshKey(token)
	exp := now.Add(RefreshTokenTTL)
	if exp.After(familyExp) {
		exp = familyExp
	}
	return refreshItem{PK: k.PK, SK: k.SK, GSI1PK: "T#" + p.TenantID + "#FAM#" + fam, GSI1SK: "RT#" + now.Format(time.RFC3339Nano),
		Tenant: p.TenantID, UserID: p.UserID, Family: fam, ExpiresAt: exp, TTL: store.TTL(exp)}
}

func (s *Service) pair(p Principal, fam, rt string) (TokenPair, error) {
	at, ttl, err := s.tokens.Issue(p, fam)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{TenantID: p.TenantID, AccessToken: at, RefreshToken: rt, ExpiresIn: int(ttl.Seconds())}, nil
}

var errBadRefresh = apperr.E(apperr.Unauthorized, "refresh token is invalid, expired or revoked")

// Refresh rotates a refresh token. Presenting a token that was already
// used revokes its whole family (every token of that login) and fails.
func (s *Service) Refresh(ctx context.Context, token, ip string) (TokenPair, error) {
	if len(token) != 43 {
		return TokenPair{}, errBadRefresh
	}
	now := s.now().UTC()
	var rt refreshItem
	if err := s.table.Get(ctx, refreshKey(token), &rt); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return TokenPair{}, errBadRefresh
		}
		return TokenPair{}, fmt.Errorf("auth.Refresh: %w", err)
	}
	if now.After(rt.ExpiresAt) {
		return TokenPair{}, errBadRefresh
	}
	fk := familyKey(rt.Tenant, rt.Family)
	var fam familyItem
	if err := s.table.Get(ctx, fk, &fam); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return TokenPair{}, errBadRefresh
		}
		return TokenPair{}, fmt.Errorf("auth.Refresh: %w", err)
	}
	if fam.Revoked {
		return TokenPair{}, errBadRefresh
	}
	if rt.Used {
		return TokenPair{}, s.reuse(ctx, rt, ip)
	}
	var u userItem
	if err := s.table.Get(ctx, userKey(rt.Tenant, rt.UserID), &u); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return TokenPair{}, errBadRefresh
		}
		return TokenPair{}, fmt.Errorf("auth.Refresh: %w", err)
	}
	p := Principal{TenantID: u.Tenant, UserID: u.ID, Role: u.Role}
	next := newRefreshToken()
	notRevoked := expression.Name("revoked").Equal(expression.Value(false))
	err := s.table.Transact(ctx,
		s.table.TxUpdate(refreshKey(token), expression.Set(expression.Name("used"), expression.Value(true)),
			store.If(expression.Name("used").Equal(expression.Value(false)))),
		s.table.TxPut(s.refreshItem(next, p, rt.Family, now, fam.ExpiresAt), store.IfAbsent()),
		s.table.TxCheck(fk, store.If(notRevoked)),
	)
	if apperr.KindOf(err) == apperr.Conflict {
		// Someone used the token (or revoked the family) between our read
		// and write: treat as reuse.
		return TokenPair{}, s.reuse(ctx, rt, ip)
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth.Refresh: %w", err)
	}
	return s.pair(p, rt.Family, next)
}

func (s *Service) reuse(ctx context.Context, rt refreshItem, ip string) error {
	if err := s.revokeFamily(ctx, rt.Tenant, rt.Family, "refresh token reused"); err != nil {
		return err
	}
	if err := s.audit.Record(ctx, rt.Tenant, audit.Entry{Action: audit.RefreshReuse, Target: rt.UserID, IP: ip, Detail: map[string]string{"session": rt.Family}}); err != nil {
		return err
	}
	return apperr.E(apperr.Unauthorized, "refresh token was already used; every token of this login is now revoked — sign in again")
}

func (s *Service) revokeFamily(ctx context.Context, tenant, fam, reason string) error {
	upd := expression.Set(expression.Name("revoked"), expression.Value(true)).Set(expression.Name("reason"), expression.Value(reason))
	if err := s.table.Update(ctx, familyKey(tenant, fam), upd, nil, store.IfExists()); err != nil && apperr.KindOf(err) != apperr.Conflict {
		return fmt.Errorf("auth: revoke session %s: %w", fam, err)
	}
	s.verifier.revoked(tenant, fam)
	return nil
}

// Logout revokes the login the refresh token belongs to. Unknown tokens
// are ignored, so logout is idempotent and reveals nothing.
func (s *Service) Logout(ctx context.Context, token, ip string) error {
	if token == "" {
		return &apperr.Error{Kind: apperr.Invalid, Field: "refreshToken", Message: "refreshToken is required: the refresh token of the login to end"}
	}
	var rt refreshItem
	if err := s.table.Get(ctx, refreshKey(token), &rt); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return nil
		}
		return fmt.Errorf("auth.Logout: %w", err)
	}
	if err := s.revokeFamily(ctx, rt.Tenant, rt.Family, "logout"); err != nil {
		return err
	}
	return s.audit.Record(ctx, rt.Tenant, audit.Entry{Action: audit.Logout, ActorID: rt.UserID, IP: ip})
}

// Verify verifies an access token and that its login is still valid; see
// Verifier.
func (s *Service) Verify(ctx context.Context, token string) (Principal, error) {
	return s.verifier.Verify(ctx, token)
}
