package api

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
)

func TestSignupLoginMeRefreshLogout(t *testing.T) {
	h := newHarness(t, Options{})
	s := h.signup("Acme Shop", "Owner@Acme.test")
	if s.str("tenantId") == "" || s.str("accessToken") == "" || len(s.str("refreshToken")) != 43 || s.Body["expiresIn"] != 900.0 {
		t.Fatalf("signup = %s", s.Raw)
	}
	me := h.must(200, "GET", "/v1/me", s.str("accessToken"), "")
	if me.str("email") != "owner@acme.test" || me.str("role") != "owner" || me.str("tenantId") != s.str("tenantId") || me.str("workspace") != "acme-shop" {
		t.Fatalf("me = %s", me.Raw)
	}
	if r := h.call("POST", "/v1/auth/signup", "", `{"workspace":"acme shop","email":"x@y.test","password":"correct-horse-1"}`); r.Status != 409 {
		t.Fatalf("duplicate workspace = %d %s", r.Status, r.Raw)
	}
	for name, body := range map[string]string{
		"short password": `{"workspace":"w2","email":"a@b.test","password":"short"}`,
		"bad email":      `{"workspace":"w2","email":"not-an-email","password":"correct-horse-1"}`,
		"bad workspace":  `{"workspace":"!","email":"a@b.test","password":"correct-horse-1"}`,
		"unknown field":  `{"workspace":"w2","email":"a@b.test","password":"correct-horse-1","plan":"pro"}`,
	} {
		if r := h.call("POST", "/v1/auth/signup", "", body); r.Status != 400 || r.str("detail") == "" {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}

	login := h.must(200, "POST", "/v1/auth/login", "", `{"email":"owner@acme.test","password":"correct-horse-1"}`)
	r1 := h.must(200, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+login.str("refreshToken")+`"}`)
	if r1.str("refreshToken") == login.str("refreshToken") {
		t.Fatal("refresh token not rotated")
	}
	h.must(200, "GET", "/v1/me", r1.str("accessToken"), "")
	// Logout revokes the login: its access and refresh tokens stop working.
	h.must(204, "POST", "/v1/auth/logout", "", `{"refreshToken":"`+r1.str("refreshToken")+`"}`)
	h.must(401, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+r1.str("refreshToken")+`"}`)
	h.must(401, "GET", "/v1/me", r1.str("accessToken"), "")
	// The signup session is independent.
	h.must(200, "GET", "/v1/me", s.str("accessToken"), "")
	h.must(204, "POST", "/v1/auth/logout", "", `{"refreshToken":"never-issued"}`)
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	h := newHarness(t, Options{})
	s := h.signup("reuse", "a@reuse.test")
	first := s.str("refreshToken")
	r1 := h.must(200, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+first+`"}`)
	r2 := h.must(200, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+r1.str("refreshToken")+`"}`)
	// An attacker replays the first (used) token.
	bad := h.must(401, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+first+`"}`)
	if !strings.Contains(bad.str("detail"), "already used") {
		t.Fatalf("reuse detail %q", bad.str("detail"))
	}
	// Every token of that login is revoked, including the newest pair.
	h.must(401, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+r2.str("refreshToken")+`"}`)
	for _, at := range []string{s.str("accessToken"), r1.str("accessToken"), r2.str("accessToken")} {
		h.must(401, "GET", "/v1/me", at, "")
	}
	page, err := h.svc.Audit.List(context.Background(), s.str("tenantId"), "", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if !hasAction(page.Items, "token.reuse") {
		t.Fatalf("no token.reuse audit entry in %+v", page.Items)
	}
}

// TestRevocationAcrossInstances: an instance that checked a login recently
// trusts it for auth.SessionCacheTTL; a logout or a refresh-token reuse
// handled by another instance stops the login there once that has passed
// (an injected clock, no sleeping), and at once on the instance that
// handled it.
func TestRevocationAcrossInstances(t *testing.T) {
	var clockNanos atomic.Int64
	clockNanos.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, clockNanos.Load()) }
	h := newHarness(t, Options{Now: clock})
	other := h.instance()
	for _, tc := range []struct {
		name   string
		revoke func(s response)
	}{
		{"logout", func(s response) {
			h.must(204, "POST", "/v1/auth/logout", "", `{"refreshToken":"`+s.str("refreshToken")+`"}`)
		}},
		{"refresh reuse", func(s response) {
			h.must(200, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+s.str("refreshToken")+`"}`)
			h.must(401, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+s.str("refreshToken")+`"}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t, other.t = t, t
			s := h.signup("revoke-"+strings.ReplaceAll(tc.name, " ", "-"), "a@revoke.test")
			at := s.str("accessToken")
			other.must(200, "GET", "/v1/me", at, "")
			tc.revoke(s)
			h.must(401, "GET", "/v1/me", at, "")
			other.must(200, "GET", "/v1/me", at, "") // the documented delay
			clockNanos.Add(int64(auth.SessionCacheTTL))
			other.must(401, "GET", "/v1/me", at, "")
		})
	}
}

// TestMeCacheAcrossInstances: GET /v1/me answers from a copy of the user
// at most auth.UserCacheTTL old; the instance that changed the role shows
// the new one at once, another after UserCacheTTL (an injected clock).
func TestMeCacheAcrossInstances(t *testing.T) {
	var clockNanos atomic.Int64
	clockNanos.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, clockNanos.Load()) }
	h := newHarness(t, Options{Now: clock})
	other := h.instance()
	owner := h.signup("me-cache", "owner@me-cache.test").str("accessToken")
	id, tok := h.invite(owner, "me-cache", "m@me-cache.test", auth.Marketer)
	for _, inst := range []*harness{h, other} {
		if r := inst.must(200, "GET", "/v1/me", tok, ""); r.str("role") != "marketer" {
			t.Fatalf("me = %s", r.Raw)
		}
	}
	h.must(200, "PATCH", "/v1/users/"+id, owner, `{"role":"analyst"}`)
	if r := h.must(200, "GET", "/v1/me", tok, ""); r.str("role") != "analyst" {
		t.Fatalf("instance that changed the role: me = %s", r.Raw)
	}
	if r := other.must(200, "GET", "/v1/me", tok, ""); r.str("role") != "marketer" {
		t.Fatalf("other instance within UserCacheTTL: me = %s; want the cached copy (else this test no longer measures the delay)", r.Raw)
	}
	clockNanos.Add(int64(auth.UserCacheTTL))
	if r := other.must(200, "GET", "/v1/me", tok, ""); r.str("role") != "analyst" {
		t.Fatalf("other instance after UserCacheTTL: me = %s", r.Raw)
	}
}

func hasAction(items any, action string) bool {
	b, _ := json.Marshal(items)
	return strings.Contains(string(b), `"action":"`+action+`"`)
}

func TestBruteForceThrottled(t *testing.T) {
	// A frozen clock: buckets do not refill while the test runs.
	frozen := time.Now()
	h := newHarness(t, Options{Now: func() time.Time { return frozen }})
	tenant := h.signup("brute", "victim@brute.test").str("tenantId")
	limited := 0
	for i := range auth.AccountRule.Burst + 3 {
		r := h.call("POST", "/v1/auth/login", "", `{"email":"victim@brute.test","password":"guess-`+fmt.Sprint(i)+`"}`, fmt.Sprintf("198.51.100.%d", i))
		switch r.Status {
		case 401:
		case 429:
			limited++
			if r.Headers["Retry-After"] == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Raw)
		}
	}
	if limited != 3 {
		t.Fatalf("%d attempts limited, want 3 (burst %d)", limited, auth.AccountRule.Burst)
	}
	// Even the right password is refused while the account is throttled.
	if r := h.call("POST", "/v1/auth/login", "", `{"email":"victim@brute.test","password":"correct-horse-1"}`); r.Status != 429 {
		t.Fatalf("correct password while throttled: %d", r.Status)
	}
	// Per IP: one address spraying many accounts is throttled too.
	limited = 0
	for i := range auth.IPRule.Burst + 2 {
		r := h.call("POST", "/v1/auth/login", "", fmt.Sprintf(`{"email":"nobody%d@brute.test","password":"whatever-123"}`, i), "192.0.2.1")
		if r.Status == 429 {
			limited++
		}
	}
	if limited != 2 {
		t.Fatalf("per-IP: %d limited, want 2", limited)
	}
	page, _ := h.svc.Audit.List(context.Background(), tenant, "", "", 50)
	if !hasAction(page.Items, "login.failed") {
		t.Fatal("failed logins not audited")
	}
}

func TestJWTAttacks(t *testing.T) {
	h := newHarness(t, Options{})
	s := h.signup("jwt", "a@jwt.test")
	good := s.str("accessToken")
	h.must(200, "GET", "/v1/me", good, "")

	var keys struct {
		Keys []struct {
			KID        string `json:"kid"`
			PrivateKey []byte `json:"privateKey"`
		} `json:"keys"`
	}
	b, err := os.ReadFile(filepath.Join(h.dir, "jwt-signing-keys.json"))
	if err != nil || json.Unmarshal(b, &keys) != nil || len(keys.Keys) != 1 {
		t.Fatalf("read keys: %v", err)
	}
	kid := keys.Keys[0].KID
	priv := ed25519.NewKeyFromSeed(keys.Keys[0].PrivateKey)
	pub := priv.Public().(ed25519.PublicKey)
	parts := strings.Split(good, ".")
	var claims map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(payload, &claims)

	sign := func(method jwt.SigningMethod, key any, kid string, edit func(jwt.MapClaims)) string {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		if edit != nil {
			edit(c)
		}
		tok := jwt.NewWithClaims(method, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherPriv := func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }()
	tampered := func() string {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		c["role"] = "owner"
		c["tid"] = "t-someone-else"
		p, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
	}()
	noneTok := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims))
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	for name, tok := range map[string]string{
		"control: re-signed with the real key": sign(jwt.SigningMethodEdDSA, priv, kid, nil),
		"alg none":                             noneTok,
		"HS256 keyed with the public key":      sign(jwt.SigningMethodHS256, []byte(pub), kid, nil),
		"expired":                              sign(jwt.SigningMethodEdDSA, priv, kid, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
		"no expiry":                            sign(jwt.SigningMethodEdDSA, priv, kid, func(c jwt.MapClaims) { delete(c, "exp") }),
		"wrong audience":                       sign(jwt.SigningMethodEdDSA, priv, kid, func(c jwt.MapClaims) { c["aud"] = "someone-else" }),
		"wrong issuer":                         sign(jwt.SigningMethodEdDSA, priv, kid, func(c jwt.MapClaims) { c["iss"] = "evil" }),
		"unknown role":                         sign(jwt.SigningMethodEdDSA, priv, kid, func(c jwt.MapClaims) { c["role"] = "root" }),
		"tampered payload":                     tampered,
		"unknown kid":                          sign(jwt.SigningMethodEdDSA, priv, "k-unknown", nil),
		"no kid":                               sign(jwt.SigningMethodEdDSA, priv, "", nil),
		"another key, same kid":                sign(jwt.SigningMethodEdDSA, otherPriv, kid, nil),
		"garbage":                              "a.b.c",
	} {
		t.Run(name, func(t *testing.T) {
			want := 401
			if strings.HasPrefix(name, "control") {
				want = 200
			}
			h.must(want, "GET", "/v1/me", tok, "")
		})
	}
}

func TestRotationKeepsOldTokensValid(t *testing.T) {
	h := newHarness(t, Options{})
	s := h.signup("rotate", "a@rotate.test")
	oldKid := kidOf(t, s.str("accessToken"))
	// Append a new key (rotation); a new Services instance signs with it.
	path := filepath.Join(h.dir, "jwt-signing-keys.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f auth.KeyFile
	if err := json.Unmarshal(b, &f); err != nil || len(f.Keys) != 1 || f.Keys[0].KID != oldKid {
		t.Fatalf("key file %s: %d keys, %v; want the one key %s", path, len(f.Keys), err, oldKid)
	}
	next := auth.NewKeyEntry(time.Now())
	f.Keys = append(f.Keys, next)
	if b, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	tok2, err := auth.NewTokens(context.Background(), "file:"+h.dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.svc.Auth.Tokens().Parse(context.Background(), s.str("accessToken"))
	if err != nil {
		t.Fatal(err)
	}
	newTok, _, err := tok2.Issue(p, p.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if kid := kidOf(t, newTok); kid != next.KID || kid == oldKid {
		t.Fatalf("after rotation tokens are signed with kid %q, want the new key %q", kid, next.KID)
	}
	// The running server learns the new kid on first sight, and old tokens still verify.
	h.must(200, "GET", "/v1/me", newTok, "")
	h.must(200, "GET", "/v1/me", s.str("accessToken"), "")
}

// kidOf reads the kid from a JWT's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		t.Fatalf("token has no kid: %s", token)
	}
	return kid
}

// TestRawItemsHoldNoPlaintext scans every item and looks for the personal
// data and secrets that went in.
func TestRawItemsHoldNoPlaintext(t *testing.T) {
	h := newHarness(t, Options{})
	s := h.signup("raw", "Owner.Raw@Example.test")
	h.invite(s.str("accessToken"), "raw", "analyst.raw@example.test", auth.Analyst)
	h.must(200, "PUT", "/v1/integrations/twilio", s.str("accessToken"), `{"accountSid":"AC123","fromNumber":"+15550001111","authToken":"twilio-auth-token-secret"}`)
	raw := scanAll(t, h)
	for _, secret := range []string{"owner.raw@example.test", "Owner.Raw@Example.test", "analyst.raw@example.test", "twilio-auth-token-secret", "correct-horse-1"} {
		if strings.Contains(raw, secret) {
			t.Errorf("raw table holds %q", secret)
		}
	}
	if !strings.Contains(raw, "pii1.") {
		t.Fatal("no sealed values found; is the scan reading the table?")
	}
	// Saving an integration announces it (sync starts its first run).
	if len(h.bus.events) != 1 || h.bus.events[0].DetailType != "integration.connected" || h.bus.events[0].Tenant != s.str("tenantId") {
		t.Fatalf("published %+v", h.bus.events)
	}
}

func scanAll(t *testing.T, h *harness) string {
	t.Helper()
	db := h.svc.Table.Client().(*dynamodb.Client)
	var sb strings.Builder
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(h.svc.Table.Name())})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m)
			sb.Write(append(b, '\n'))
		}
	}
	return sb.String()
}

func TestAPIRateLimit(t *testing.T) {
	h := newHarness(t, Options{TokenLimit: ratelimit.Rule{Rate: 0.01, Burst: 3}, TenantLimit: ratelimit.Rule{Rate: 100, Burst: 100}})
	s := h.signup("limits", "a@limits.test")
	for range 3 {
		h.must(200, "GET", "/v1/me", s.str("accessToken"), "")
	}
	r := h.must(429, "GET", "/v1/me", s.str("accessToken"), "")
	if r.Headers["Retry-After"] == "" {
		t.Fatal("no Retry-After")
	}
	// A new access token of the same tenant has its own bucket.
	r2 := h.must(200, "POST", "/v1/auth/refresh", "", `{"refreshToken":"`+s.str("refreshToken")+`"}`)
	h.must(200, "GET", "/v1/me", r2.str("accessToken"), "")
}

func TestUsersAndRoles(t *testing.T) {
	h := newHarness(t, Options{})
	s := h.signup("team", "owner@team.test")
	owner := s.str("accessToken")
	adminID, admin := h.invite(owner, "team", "admin@team.test", auth.Admin)
	mID, _ := h.invite(admin, "team", "m@team.test", auth.Marketer)
	// Admins cannot mint admins or touch owners/admins; nobody grants owner.
	h.must(403, "POST", "/v1/users", admin, `{"email":"x@team.test","role":"admin"}`)
	h.must(403, "POST", "/v1/users", owner, `{"email":"x@team.test","role":"owner"}`)
	h.must(400, "POST", "/v1/users", owner, `{"email":"x@team.test","role":"god"}`)
	h.must(409, "POST", "/v1/users", owner, `{"email":"M@team.test","role":"viewer"}`)
	h.must(403, "PATCH", "/v1/users/"+adminID, admin, `{"role":"viewer"}`)
	r := h.must(200, "PATCH", "/v1/users/"+mID, admin, `{"role":"viewer"}`)
	if r.str("role") != "viewer" {
		t.Fatal(r.Raw)
	}
	list := h.must(200, "GET", "/v1/users", owner, "")
	if n := len(list.Body["items"].([]any)); n != 3 || !strings.Contains(list.Raw, "m@team.test") {
		t.Fatalf("users = %s", list.Raw)
	}
	a := h.must(200, "GET", "/v1/audit", owner, "")
	for _, action := range []string{"workspace.created", "user.invited", "user.role_changed", "login"} {
		if !strings.Contains(a.Raw, `"action":"`+action+`"`) {
			t.Errorf("audit lacks %s: %s", action, a.Raw)
		}
	}
}

func TestLoginAcrossWorkspaces(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.signup("one", "same@multi.test")
	b := h.signup("two", "same@multi.test")
	r := h.must(400, "POST", "/v1/auth/login", "", `{"email":"same@multi.test","password":"correct-horse-1"}`)
	if r.str("field") != "workspace" {
		t.Fatalf("ambiguous login: %s", r.Raw)
	}
	for ws, want := range map[string]string{"one": a.str("tenantId"), "Two": b.str("tenantId")} {
		r := h.must(200, "POST", "/v1/auth/login", "", `{"email":"same@multi.test","password":"correct-horse-1","workspace":"`+ws+`"}`)
		if r.str("tenantId") != want {
			t.Fatalf("workspace %s → tenant %s, want %s", ws, r.str("tenantId"), want)
		}
	}
	h.must(401, "POST", "/v1/auth/login", "", `{"email":"same@multi.test","password":"correct-horse-1","workspace":"three"}`)
}

// Without a workspace, the password picks the account: a wrong one says
// nothing about the email's workspaces, a right one opens its own.
func TestLoginPicksTheWorkspaceByPassword(t *testing.T) {
	h := newHarness(t, Options{})
	h.signup("one", "same@multi.test")
	h.signup("two", "same@multi.test")
	if r := h.must(401, "POST", "/v1/auth/login", "", `{"email":"same@multi.test","password":"wrong-password-1"}`); strings.Contains(r.Raw, "workspace") {
		t.Fatalf("wrong password revealed workspaces: %s", r.Raw)
	}
	c := h.signup("three", "owner3@multi.test")
	inv := h.must(201, "POST", "/v1/users", c.str("accessToken"), `{"email":"same@multi.test","role":"marketer"}`)
	r := h.must(200, "POST", "/v1/auth/login", "", `{"email":"same@multi.test","password":"`+inv.str("initialPassword")+`"}`)
	if r.str("tenantId") != c.str("tenantId") {
		t.Fatalf("login with workspace three's password went to %s, want %s", r.str("tenantId"), c.str("tenantId"))
	}
}
