package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// TestUndoMerge: a marketer undoes an identity merge through the API; the
// merged customer comes back with its own identifier, the undo is audited,
// repeating it answers the same (a client may retry), and an analyst may
// not do it.
func TestUndoMerge(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Options{})
	s := h.signup("merges", "owner@merges.test")
	owner, tenant := s.str("accessToken"), s.str("tenantId")
	_, marketer := h.invite(owner, "merges", "m@merges.test", auth.Marketer)
	_, analyst := h.invite(owner, "merges", "a@merges.test", auth.Analyst)

	ps := profile.NewStore(h.svc.Table, h.svc.Cipher, time.Now)
	anon, err := ps.Resolve(ctx, tenant, profile.Identity{AnonymousID: "anon-merge"})
	if err != nil {
		t.Fatal(err)
	}
	known, err := ps.Resolve(ctx, tenant, profile.Identity{Email: "pat@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ps.Resolve(ctx, tenant, profile.Identity{AnonymousID: "anon-merge", Email: "pat@example.com"})
	if err != nil || len(m.Merged) != 1 {
		t.Fatalf("no merge to undo: %+v %v", m, err)
	}
	survivor, merged := m.CustomerID, m.Merged[0]
	if survivor != known.CustomerID && survivor != anon.CustomerID {
		t.Fatalf("survivor %s is neither customer", survivor)
	}
	path := "/v1/customers/" + survivor + "/merges/" + merged + "/undo"

	h.must(403, "POST", path, analyst, "")
	r := h.must(200, "POST", path, marketer, "")
	if r.str("customerId") != survivor || r.str("restoredId") != merged {
		t.Fatalf("undo answered %s", r.Raw)
	}
	if again := h.must(200, "POST", path, marketer, ""); again.Raw != r.Raw {
		t.Fatalf("a repeated undo answered %s, want the same as the first: %s", again.Raw, r.Raw)
	}
	if a := h.must(200, "GET", "/v1/audit", owner, ""); !strings.Contains(a.Raw, `"action":"customer.unmerged"`) || !strings.Contains(a.Raw, merged) {
		t.Fatalf("the undo is not in the audit log: %s", a.Raw)
	}
	back, err := ps.Resolve(ctx, tenant, profile.Identity{AnonymousID: "anon-merge"})
	if err != nil || back.CustomerID == survivor {
		t.Fatalf("after the undo the anonymous id resolves to %s (%v), want its own customer", back.CustomerID, err)
	}
	h.must(200, "GET", "/v1/customers/"+back.CustomerID, marketer, "")
	h.must(404, "POST", "/v1/customers/"+survivor+"/merges/c_nobody/undo", marketer, "")
}
