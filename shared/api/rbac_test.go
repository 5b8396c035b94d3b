package api

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/auth/authtest"
	"github.com/pulsehub/pulsehub/shared/profile"
)

var wildcard = regexp.MustCompile(`\{([a-zA-Z]+)(\.\.\.)?\}`)

func fill(path string, value func(param string) string) string {
	return wildcard.ReplaceAllStringFunc(path, func(m string) string {
		return value(wildcard.FindStringSubmatch(m)[1])
	})
}

// TestRBACMatrix calls every registered route with a token of every role
// and checks that exactly the roles without the route's permission get 403.
// Who holds the permission comes from the matrix in docs/security.md, not
// from auth.Allowed, so a wrong matrix in code fails here.
func TestRBACMatrix(t *testing.T) {
	doc := authtest.DocMatrix(t)
	h := newHarness(t, Options{})
	owner := h.signup("matrix", "owner@matrix.test").str("accessToken")
	tokens := map[auth.Role]string{auth.Owner: owner}
	for _, r := range auth.Roles()[1:] {
		_, tokens[r] = h.invite(owner, "matrix", string(r)+"@matrix.test", r)
	}
	routes := h.srv.Routes()
	if len(routes) < 10 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		path := fill(rt.Path, func(string) string { return "nope" })
		if rt.Permission == "" {
			t.Run("public "+rt.Method+" "+rt.Path, func(t *testing.T) {
				// Public routes never ask for a bearer token (refresh may
				// still answer 401 for a bad refresh token).
				if r := h.call(rt.Method, path, "", "{}"); r.Headers["WWW-Authenticate"] != "" || r.Status == 403 || r.Status == 405 {
					t.Fatalf("public route answered %d %v", r.Status, r.Headers)
				}
			})
			continue
		}
		holders, ok := doc[rt.Permission]
		if !ok {
			t.Fatalf("%s %s declares permission %q, which docs/security.md does not list", rt.Method, rt.Path, rt.Permission)
		}
		t.Run(rt.Method+" "+rt.Path+" without token", func(t *testing.T) {
			h.must(401, rt.Method, path, "", "{}")
		})
		for _, role := range auth.Roles() {
			t.Run(rt.Method+" "+rt.Path+" as "+string(role), func(t *testing.T) {
				r := h.call(rt.Method, path, tokens[role], "{}")
				allowed := holders[role]
				if allowed && r.Status == 403 {
					t.Fatalf("%s holds %s but got 403: %s", role, rt.Permission, r.Raw)
				}
				if !allowed && r.Status != 403 {
					t.Fatalf("%s lacks %s but got %d: %s", role, rt.Permission, r.Status, r.Raw)
				}
			})
		}
	}
}

// walkBody is a valid request body for the routes that take an id and a
// body, so the walk reaches the lookup by id (and its 404) instead of
// stopping at a 400 for the body.
func walkBody(route string) string {
	switch route {
	case "PATCH /v1/users/{id}":
		return `{"role":"viewer"}`
	}
	return "{}"
}

// TestTenantWalk calls every route as the owner of workspace B with the
// ids of workspace A's objects: nothing of A may leak, ids of A are 404
// (never 403, which would confirm they exist), and A is unchanged.
func TestTenantWalk(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.signup("walk-a", "owner@walk-a.test")
	aOwner := a.str("accessToken")
	aUser, _ := h.invite(aOwner, "walk-a", "marketer@walk-a.test", auth.Marketer)
	h.must(200, "PUT", "/v1/integrations/shopify", aOwner, `{"shopDomain":"walk-a.myshopify.com","webhookSecret":"walk-a-webhook-secret"}`)
	aMe := h.must(200, "GET", "/v1/me", aOwner, "")
	ps := profile.NewStore(h.svc.Table, h.svc.Cipher, time.Now)
	cust, err := ps.Resolve(context.Background(), a.str("tenantId"), profile.Identity{Email: "customer@walk-a.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.UpdateFields(context.Background(), a.str("tenantId"), cust.CustomerID, profile.Fields{Email: "customer@walk-a.test", FirstName: "Walkerina"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ids := map[string][]string{"id": {aUser, aMe.str("userId"), cust.CustomerID}}
	markers := []string{a.str("tenantId"), aUser, aMe.str("userId"), cust.CustomerID, "owner@walk-a.test", "marketer@walk-a.test", "customer@walk-a.test", "Walkerina", "walk-a.myshopify.com", "walk-a-webhook-secret"}

	b := h.signup("walk-b", "owner@walk-b.test").str("accessToken")
	for _, rt := range h.srv.Routes() {
		if rt.Permission == "" {
			continue
		}
		params := wildcard.FindAllStringSubmatch(rt.Path, -1)
		values := []string{""}
		hasID := false
		for _, p := range params {
			if p[1] == "id" {
				hasID = true
				values = ids["id"]
			}
		}
		for _, v := range values {
			path := fill(rt.Path, func(param string) string {
				if param == "id" {
					return v
				}
				return "shopify"
			})
			t.Run(rt.Method+" "+path, func(t *testing.T) {
				r := h.call(rt.Method, path, b, walkBody(rt.Method+" "+rt.Path))
				for _, m := range markers {
					if m != v && strings.Contains(r.Raw, m) { // echoing the id asked for is no leak
						t.Fatalf("response leaks %q of workspace A: %s", m, r.Raw)
					}
				}
				if r.Status == 403 {
					t.Fatalf("403 for another workspace's object (confirms it exists): %s", r.Raw)
				}
				if hasID {
					if r.Status != 404 {
						t.Fatalf("status %d for another workspace's id, want 404: %s", r.Status, r.Raw)
					}
				}
			})
		}
	}
	// Workspace A is intact.
	users := h.must(200, "GET", "/v1/users", aOwner, "")
	if !strings.Contains(users.Raw, `"role":"marketer"`) || !strings.Contains(users.Raw, "marketer@walk-a.test") {
		t.Fatalf("A's users changed: %s", users.Raw)
	}
	shop := h.must(200, "GET", "/v1/integrations/shopify", aOwner, "")
	if !strings.Contains(shop.Raw, "walk-a.myshopify.com") {
		t.Fatalf("A's integration changed: %s", shop.Raw)
	}
}
