package authtest

import (
	"strings"
	"testing"
)

const good = `# Security
### Permission matrix
intro

| permission | owner | admin | marketer | analyst | viewer |
|---|:-:|:-:|:-:|:-:|:-:|
| authenticated (` + "`GET /v1/me`" + `) | ✓ | ✓ | ✓ | ✓ | ✓ |
| customers:read | ✓ | ✓ | ✓ | ✓ | ✓ |
| customers:write | ✓ | ✓ | ✓ | | |
| customers:export (GDPR export) | ✓ | ✓ | | | |
| customers:erase | ✓ | ✓ | | | |
| segments:read | ✓ | ✓ | ✓ | ✓ | ✓ |
| segments:write | ✓ | ✓ | ✓ | ✓ | |
| campaigns:read | ✓ | ✓ | ✓ | ✓ | ✓ |
| campaigns:write | ✓ | ✓ | ✓ | | |
| campaigns:send | ✓ | ✓ | ✓ | | |
| reports:read | ✓ | ✓ | ✓ | ✓ | ✓ |
| integrations:read | ✓ | ✓ | ✓ | | |
| integrations:write | ✓ | ✓ | | | |
| users:read | ✓ | ✓ | ✓ | ✓ | |
| users:manage | ✓ | ✓ | | | |
| audit:read | ✓ | ✓ | | | |
| chat:use | ✓ | ✓ | ✓ | ✓ | |

## Next
`

func TestParseMatrix(t *testing.T) {
	m, err := ParseMatrix(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if !m["customers:write"]["marketer"] || m["customers:write"]["analyst"] || !m["authenticated"]["viewer"] || m["chat:use"]["viewer"] {
		t.Fatalf("wrong cells: %v", m)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"no heading", "### Permission matrix", "### Roles", "heading"},
		{"unknown role", "| viewer |\n|---", "| root |\n|---", "root"},
		{"unknown permission", "| chat:use |", "| chat:abuse |", "chat:abuse"},
		{"bad cell", "| audit:read | ✓ | ✓ | | | |", "| audit:read | ✓ | ✓ | x | | |", `"x"`},
		{"short row", "| audit:read | ✓ | ✓ | | | |", "| audit:read | ✓ | ✓ |", "cells"},
		{"missing permission", "| audit:read | ✓ | ✓ | | | |\n", "", "audit:read"},
		{"duplicate permission", "| audit:read |", "| chat:use |", "twice"},
		{"no separator", "|---|:-:|:-:|:-:|:-:|:-:|\n", "", "separator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(good, tc.from, tc.to, 1)
			if doc == good {
				t.Fatal("test edit changed nothing")
			}
			_, err := ParseMatrix(strings.NewReader(doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %s", err, tc.want)
			}
		})
	}
}

func FuzzParseMatrix(f *testing.F) {
	f.Add(good)
	f.Add("### Permission matrix\n| permission | owner |\n|---|---|\n| chat:use | ✓ |\n")
	f.Fuzz(func(t *testing.T, doc string) {
		m, err := ParseMatrix(strings.NewReader(doc))
		if err != nil {
			return
		}
		// A parsed matrix is complete: every role has a definite answer
		// for every permission.
		ref, _ := ParseMatrix(strings.NewReader(good))
		for p, roles := range ref {
			for r := range roles {
				if _, ok := m[p][r]; !ok {
					t.Fatalf("parsed matrix lacks %s/%s", p, r)
				}
			}
		}
	})
}
