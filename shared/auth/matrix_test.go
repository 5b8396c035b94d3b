package auth_test

import (
	"testing"

	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/auth/authtest"
)

// TestAllowedMatchesDoc checks every role × permission cell of
// auth.Allowed against the matrix written in docs/security.md, an
// expectation that does not come from the code under test.
func TestAllowedMatchesDoc(t *testing.T) {
	doc := authtest.DocMatrix(t)
	for _, p := range auth.Permissions() {
		for _, r := range auth.Roles() {
			if got, want := auth.Allowed(r, p), doc[p][r]; got != want {
				t.Errorf("Allowed(%s, %s) = %v, docs/security.md says %v", r, p, got, want)
			}
		}
		if auth.Allowed(auth.Role("root"), p) || auth.Allowed("", p) {
			t.Errorf("an unknown role holds %s", p)
		}
	}
}
