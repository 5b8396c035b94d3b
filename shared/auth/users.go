package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
)

// User is a user as the API shows it.
type User struct {
	UserID    string    `json:"userId"`
	TenantID  string    `json:"tenantId"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	Workspace string    `json:"workspace,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Invitation is the answer to an invite: the new user and a one-time
// initial password shown only here.
type Invitation struct {
	User
	InitialPassword string `json:"initialPassword"`
}

func (s *Service) user(ctx context.Context, u userItem) (User, error) {
	email, err := s.cipher.Open(ctx, u.Tenant, u.Email)
	if err != nil {
		return User{}, fmt.Errorf("auth: user %s email: %w", u.ID, err)
	}
	return User{UserID: u.ID, TenantID: u.Tenant, Email: email, Role: u.Role, CreatedAt: u.CreatedAt}, nil
}

// UserCacheTTL is how long an instance answers GET /v1/me from a copy of
// the user it read: a role changed through another instance shows there
// after at most this long (the role a request is authorised with comes
// from its access token anyway).
const UserCacheTTL = 2 * time.Second

type cachedUser struct {
	u  User
	at time.Time
}

// Me returns the caller.
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	key := p.TenantID + "#" + p.UserID
	now := s.now()
	s.cacheMu.Lock()
	c, ok := s.users[key]
	s.cacheMu.Unlock()
	if ok && !now.Before(c.at) && now.Sub(c.at) < UserCacheTTL {
		return c.u, nil
	}
	var u userItem
	if err := s.table.Get(ctx, userKey(p.TenantID, p.UserID), &u); err != nil {
		return User{}, fmt.Errorf("auth.Me: %w", err)
	}
	out, err := s.user(ctx, u)
	if err != nil {
		return User{}, err
	}
	out.Workspace = s.workspaceSlug(ctx, p.TenantID)
	s.cacheMu.Lock()
	if len(s.users) >= cacheMax {
		clear(s.users)
	}
	s.users[key] = cachedUser{u: out, at: now}
	s.cacheMu.Unlock()
	return out, nil
}

// workspaceSlug is the tenant's slug, or "" if it cannot be read. Slugs
// never change, so each process reads a tenant's once.
func (s *Service) workspaceSlug(ctx context.Context, tenant string) string {
	s.cacheMu.Lock()
	slug, ok := s.slugs[tenant]
	s.cacheMu.Unlock()
	if ok {
		return slug
	}
	var t tenantItem
	if err := s.table.Get(ctx, store.Key{PK: "TENANT#" + tenant, SK: "TENANT"}, &t); err != nil {
		return ""
	}
	s.cacheMu.Lock()
	if len(s.slugs) >= cacheMax {
		clear(s.slugs)
	}
	s.slugs[tenant] = t.Slug
	s.cacheMu.Unlock()
	return t.Slug
}

// Users lists the workspace's users.
func (s *Service) Users(ctx context.Context, tenant string) ([]User, error) {
	items, err := store.QueryAll[userItem](ctx, s.table, store.Query{PK: "T#" + tenant, SKPrefix: "USER#"}, 1000)
	if err != nil {
		return nil, fmt.Errorf("auth.Users: %w", err)
	}
	out := make([]User, 0, len(items))
	for _, it := range items {
		u, err := s.user(ctx, it)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// Invite adds a user with role to the caller's workspace and returns a
// generated initial password (shown once).
func (s *Service) Invite(ctx context.Context, actor Principal, email string, role Role, ip string) (Invitation, error) {
	email, err := checkEmail(email)
	if err != nil {
		return Invitation{}, err
	}
	if !CanGrant(actor.Role, role) {
		return Invitation{}, apperr.E(apperr.Forbidden, "a %s cannot grant the %s role", actor.Role, role)
	}
	emailHash, err := s.cipher.BlindIndex(ctx, systemTenant, pii.KindEmail, email)
	if err != nil {
		return Invitation{}, err
	}
	password := strings.ToLower(newRefreshToken()[:20])
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Invitation{}, err
	}
	sealed, err := s.cipher.Seal(ctx, actor.TenantID, email)
	if err != nil {
		return Invitation{}, err
	}
	id := newID("u")
	now := s.now().UTC()
	u := userItem{PK: "T#" + actor.TenantID, SK: "USER#" + id, GSI1PK: "T#" + actor.TenantID + "#USERS", GSI1SK: emailHash, ID: id, Tenant: actor.TenantID,
		Email: sealed, EmailHash: emailHash, PasswordHash: hash, Role: role, InvitedBy: actor.UserID, CreatedAt: now}
	err = s.table.Transact(ctx,
		s.table.TxPut(loginItem{PK: "LOGIN#" + emailHash, SK: "T#" + actor.TenantID, Tenant: actor.TenantID, UserID: id}, store.IfAbsent()),
		s.table.TxPut(u, store.IfAbsent()),
	)
	if apperr.KindOf(err) == apperr.Conflict {
		return Invitation{}, &apperr.Error{Kind: apperr.Conflict, Field: "email", Message: "a user with this email is already in the workspace", Err: err}
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("auth.Invite: %w", err)
	}
	if err := s.audit.Record(ctx, actor.TenantID, audit.Entry{Action: audit.UserInvited, ActorID: actor.UserID, Target: id, IP: ip, Detail: map[string]string{"role": string(role)}}); err != nil {
		return Invitation{}, err
	}
	return Invitation{User: User{UserID: id, TenantID: actor.TenantID, Email: email, Role: role, CreatedAt: now}, InitialPassword: password}, nil
}

// ChangeRole gives user id a new role. Both the old and the new role must
// be ones the actor may grant, and nobody changes their own role.
func (s *Service) ChangeRole(ctx context.Context, actor Principal, id string, role Role, ip string) (User, error) {
	var u userItem
	if err := s.table.Get(ctx, userKey(actor.TenantID, id), &u); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return User{}, apperr.E(apperr.NotFound, "user %s not found", id)
		}
		return User{}, fmt.Errorf("auth.ChangeRole: %w", err)
	}
	if id == actor.UserID {
		return User{}, apperr.E(apperr.Forbidden, "you cannot change your own role")
	}
	if !CanGrant(actor.Role, u.Role) || !CanGrant(actor.Role, role) {
		return User{}, apperr.E(apperr.Forbidden, "a %s cannot change a %s into a %s", actor.Role, u.Role, role)
	}
	from := u.Role
	if err := s.table.Update(ctx, userKey(actor.TenantID, id), expression.Set(expression.Name("role"), expression.Value(role)), &u, store.IfExists()); err != nil {
		return User{}, fmt.Errorf("auth.ChangeRole: %w", err)
	}
	s.cacheMu.Lock()
	delete(s.users, actor.TenantID+"#"+id)
	s.cacheMu.Unlock()
	if err := s.audit.Record(ctx, actor.TenantID, audit.Entry{Action: audit.UserRoleChanged, ActorID: actor.UserID, Target: id, IP: ip,
		Detail: map[string]string{"from": string(from), "to": string(role)}}); err != nil {
		return User{}, err
	}
	return s.user(ctx, u)
}
