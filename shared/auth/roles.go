package auth

import (
	"slices"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Principal is the verified caller of a request: always taken from a
// verified access token, never from the request body.
type Principal struct {
	TenantID string
	UserID   string
	Email    string
	Role     Role
	// TokenID is the access token's jti and SessionID its refresh-token
	// family: rate limits are per token, revocation per session.
	TokenID   string
	SessionID string
}

// Role is a user's role in one workspace.
type Role string

const (
	Owner    Role = "owner"
	Admin    Role = "admin"
	Marketer Role = "marketer"
	Analyst  Role = "analyst"
	Viewer   Role = "viewer"
)

// Roles lists every role, most powerful first.
func Roles() []Role { return []Role{Owner, Admin, Marketer, Analyst, Viewer} }

// ParseRole validates a role name from outside input.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles(), r) {
		return "", &apperr.Error{Kind: apperr.Invalid, Field: "role", Message: "role must be one of owner, admin, marketer, analyst, viewer"}
	}
	return r, nil
}

// Permission is one capability a route requires.
type Permission string

const (
	// Authenticated needs a valid token and nothing else (GET /v1/me).
	Authenticated     Permission = "authenticated"
	CustomersRead     Permission = "customers:read"
	CustomersWrite    Permission = "customers:write"
	CustomersExport   Permission = "customers:export"
	CustomersErase    Permission = "customers:erase"
	SegmentsRead      Permission = "segments:read"
	SegmentsWrite     Permission = "segments:write"
	CampaignsRead     Permission = "campaigns:read"
	CampaignsWrite    Permission = "campaigns:write"
	CampaignsSend     Permission = "campaigns:send"
	ReportsRead       Permission = "reports:read"
	IntegrationsRead  Permission = "integrations:read"
	IntegrationsWrite Permission = "integrations:write"
	UsersRead         Permission = "users:read"
	UsersManage       Permission = "users:manage"
	AuditRead         Permission = "audit:read"
	ChatUse           Permission = "chat:use"
)

// Permissions lists every permission, in the order docs/security.md uses.
func Permissions() []Permission {
	return []Permission{Authenticated, CustomersRead, CustomersWrite, CustomersExport, CustomersErase,
		SegmentsRead, SegmentsWrite, CampaignsRead, CampaignsWrite, CampaignsSend, ReportsRead,
		IntegrationsRead, IntegrationsWrite, UsersRead, UsersManage, AuditRead, ChatUse}
}

// matrix is the permission matrix, the one place roles are mapped to
// capabilities (written out in docs/security.md). Owners and admins hold
// every permission; the difference between them is in who may grant
// which role (CanGrant).
func matrix(r Role) []Permission {
	switch r {
	case Owner, Admin:
		return Permissions()
	case Marketer:
		return []Permission{Authenticated, CustomersRead, CustomersWrite, SegmentsRead, SegmentsWrite,
			CampaignsRead, CampaignsWrite, CampaignsSend, ReportsRead, IntegrationsRead, UsersRead, ChatUse}
	case Analyst:
		return []Permission{Authenticated, CustomersRead, SegmentsRead, SegmentsWrite, CampaignsRead, ReportsRead, UsersRead, ChatUse}
	case Viewer:
		return []Permission{Authenticated, CustomersRead, SegmentsRead, CampaignsRead, ReportsRead}
	}
	return nil
}

// Allowed reports whether role r holds permission p.
func Allowed(r Role, p Permission) bool { return slices.Contains(matrix(r), p) }

// CanGrant reports whether a user with role actor may give role target to
// someone (invite or change): owners grant any role but owner, admins grant
// the roles below admin. Ownership is never granted through the API.
func CanGrant(actor, target Role) bool {
	switch actor {
	case Owner:
		return target != Owner
	case Admin:
		return target == Marketer || target == Analyst || target == Viewer
	}
	return false
}
