package api

import (
	"context"
	"encoding/json"
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
// ids of every kind of workspace A's objects (users, customers, a merged
// customer and its merge, compliance requests, integrations): nothing of A
// may leak, ids of A are 404 (never 403, which would confirm they exist),
// and every item of A in the table is unchanged.
func TestTenantWalk(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Options{})
	a := h.signup("walk-a", "owner@walk-a.test")
	tenantA, aOwner := a.str("tenantId"), a.str("accessToken")
	aUser, _ := h.invite(aOwner, "walk-a", "marketer@walk-a.test", auth.Marketer)
	h.must(200, "PUT", "/v1/integrations/shopify", aOwner, `{"shopDomain":"walk-a.myshopify.com","webhookSecret":"walk-a-webhook-secret"}`)
	aMe := h.must(200, "GET", "/v1/me", aOwner, "")
	ps := profile.NewStore(h.svc.Table, h.svc.Cipher, time.Now)
	resolve := func(email, first string) string {
		t.Helper()
		c, err := ps.Resolve(ctx, tenantA, profile.Identity{Email: email})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ps.UpdateFields(ctx, tenantA, c.CustomerID, profile.Fields{Email: email, FirstName: first}, time.Now()); err != nil {
			t.Fatal(err)
		}
		return c.CustomerID
	}
	cust := resolve("customer@walk-a.test", "Walkerina")
	survivor, merged := resolve("survivor@walk-a.test", "Survivia"), resolve("merged@walk-a.test", "Mergeling")
	if err := ps.Merge(ctx, tenantA, survivor, merged, "walk"); err != nil {
		t.Fatal(err)
	}
	const complianceID = "shopify-data-request-walk"
	if err := ps.SaveComplianceRequest(ctx, tenantA, profile.ComplianceRequest{ID: complianceID, Source: "shopify", Topic: "customers/data_request",
		ReceivedAt: time.Now().UTC().Format(time.RFC3339), CustomerIDs: []string{cust}, Outcome: "exported"}, []byte(`{"customers":[{"email":"customer@walk-a.test"}]}`)); err != nil {
		t.Fatal(err)
	}
	h.must(200, "GET", "/v1/compliance-requests/"+complianceID, aOwner, "") // A itself sees it

	// Every route parameter gets every value of A that it could name.
	values := map[string][]string{
		"id":       {aUser, aMe.str("userId"), cust, survivor, merged, complianceID},
		"mergedId": {merged},
		"name":     {"shopify"},
	}
	markers := []string{tenantA, aUser, aMe.str("userId"), cust, survivor, merged, complianceID, "owner@walk-a.test", "marketer@walk-a.test",
		"customer@walk-a.test", "survivor@walk-a.test", "merged@walk-a.test", "Walkerina", "Survivia", "Mergeling", "walk-a.myshopify.com", "walk-a-webhook-secret"}
	before := itemsMentioning(t, h, tenantA)
	if len(before) < 10 {
		t.Fatalf("only %d items of workspace A; the snapshot looks wrong", len(before))
	}

	b := h.signup("walk-b", "owner@walk-b.test").str("accessToken")
	walked := 0
	for _, rt := range h.srv.Routes() {
		if rt.Permission == "" {
			continue
		}
		for _, path := range expand(rt.Path, values) {
			hasID := strings.Contains(rt.Path, "{id}") || strings.Contains(rt.Path, "{mergedId}")
			walked++
			t.Run(rt.Method+" "+path, func(t *testing.T) {
				r := h.call(rt.Method, path, b, walkBody(rt.Method+" "+rt.Path))
				for _, m := range markers {
					if !strings.Contains(path, m) && strings.Contains(r.Raw, m) { // echoing an id asked for is no leak
						t.Fatalf("response leaks %q of workspace A: %s", m, r.Raw)
					}
				}
				if r.Status == 403 {
					t.Fatalf("403 for another workspace's object (confirms it exists): %s", r.Raw)
				}
				if hasID && r.Status != 404 {
					t.Fatalf("status %d for another workspace's id, want 404: %s", r.Status, r.Raw)
				}
			})
		}
	}
	if walked < len(h.srv.Routes()) {
		t.Fatalf("walked %d calls for %d routes", walked, len(h.srv.Routes()))
	}

	// Workspace A is unchanged, item for item.
	after := itemsMentioning(t, h, tenantA)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("workspace A's item changed by B's calls:\nbefore %s\nafter  %s", v, after[k])
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("B's calls created an item of workspace A: %s", v)
		}
	}
}

// expand fills a route pattern's parameters with every combination of
// values (a route without parameters is itself).
func expand(path string, values map[string][]string) []string {
	m := wildcard.FindStringSubmatch(path)
	if m == nil {
		return []string{path}
	}
	var out []string
	for _, v := range values[m[1]] {
		out = append(out, expand(strings.Replace(path, m[0], v, 1), values)...)
	}
	return out
}

// itemsMentioning is every item of the table that names tenant (its
// partition, or a lookup pointing at it), as JSON by "PK|SK".
func itemsMentioning(t *testing.T, h *harness, tenant string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(scanAll(t, h)), "\n") {
		if !strings.Contains(line, tenant) {
			continue
		}
		var key struct{ PK, SK string }
		if err := json.Unmarshal([]byte(line), &key); err != nil {
			t.Fatal(err)
		}
		out[key.PK+"|"+key.SK] = line
	}
	return out
}
