package authtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/auth"
)

// Matrix maps each permission to the roles that hold it.
type Matrix map[auth.Permission]map[auth.Role]bool

// Heading is the markdown heading the table follows in docs/security.md.
const Heading = "### Permission matrix"

// ParseMatrix reads the first markdown table after Heading: a header row
// "| permission | <role> | ... |", a separator row, then one row per
// permission whose first word is the permission name and whose cells are
// "✓" (held) or empty (not held). Every role and every permission of
// package auth must appear exactly once.
func ParseMatrix(r io.Reader) (Matrix, error) {
	sc := bufio.NewScanner(r)
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return strings.TrimSpace(sc.Text()), true
	}
	found := false
	for s, ok := next(); ok; s, ok = next() {
		if s == Heading {
			found = true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("authtest.ParseMatrix: heading %q not found", Heading)
	}
	var header string
	for s, ok := next(); ok; s, ok = next() {
		if strings.HasPrefix(s, "|") {
			header = s
			break
		}
	}
	if header == "" {
		return nil, errors.New("authtest.ParseMatrix: no table after the heading")
	}
	cols := cells(header)
	if len(cols) < 2 || cols[0] != "permission" {
		return nil, fmt.Errorf("authtest.ParseMatrix: line %d: header must start with \"| permission |\", got %q", line, header)
	}
	var roles []auth.Role
	for _, c := range cols[1:] {
		role, err := auth.ParseRole(c)
		if err != nil {
			return nil, fmt.Errorf("authtest.ParseMatrix: line %d: column %q: %w", line, c, err)
		}
		for _, seen := range roles {
			if seen == role {
				return nil, fmt.Errorf("authtest.ParseMatrix: line %d: role %q twice", line, role)
			}
		}
		roles = append(roles, role)
	}
	if sep, ok := next(); !ok || len(cells(sep)) != len(cols) || strings.Trim(sep, "|:- ") != "" {
		return nil, fmt.Errorf("authtest.ParseMatrix: line %d: want a separator row of %d columns, got %q", line, len(cols), sep)
	}
	m := Matrix{}
	for s, ok := next(); ok && strings.HasPrefix(s, "|"); s, ok = next() {
		row := cells(s)
		if len(row) != len(cols) {
			return nil, fmt.Errorf("authtest.ParseMatrix: line %d: %d cells, want %d: %q", line, len(row), len(cols), s)
		}
		name, _, _ := strings.Cut(row[0], " ")
		p := auth.Permission(name)
		if !isPermission(p) {
			return nil, fmt.Errorf("authtest.ParseMatrix: line %d: unknown permission %q", line, name)
		}
		if _, dup := m[p]; dup {
			return nil, fmt.Errorf("authtest.ParseMatrix: line %d: permission %q twice", line, p)
		}
		m[p] = map[auth.Role]bool{}
		for i, c := range row[1:] {
			switch c {
			case "✓":
				m[p][roles[i]] = true
			case "":
				m[p][roles[i]] = false
			default:
				return nil, fmt.Errorf("authtest.ParseMatrix: line %d: cell %q for %s/%s must be \"✓\" or empty", line, c, p, roles[i])
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("authtest.ParseMatrix: %w", err)
	}
	for _, p := range auth.Permissions() {
		if _, ok := m[p]; !ok {
			return nil, fmt.Errorf("authtest.ParseMatrix: permission %q has no row", p)
		}
	}
	if len(roles) != len(auth.Roles()) {
		return nil, fmt.Errorf("authtest.ParseMatrix: table has roles %v, want all of %v", roles, auth.Roles())
	}
	return m, nil
}

// cells splits a markdown table row into its trimmed cells.
func cells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	row = strings.TrimSuffix(row, "|")
	parts := strings.Split(row, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func isPermission(p auth.Permission) bool {
	for _, q := range auth.Permissions() {
		if q == p {
			return true
		}
	}
	return false
}

// DocMatrix parses docs/security.md of the repository the test runs in,
// failing the test when the file or its table cannot be read.
func DocMatrix(tb testing.TB) Matrix {
	tb.Helper()
	path := filepath.Join(repoRoot(tb), "docs", "security.md")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("authtest: %v", err)
	}
	defer f.Close()
	m, err := ParseMatrix(f)
	if err != nil {
		tb.Fatalf("authtest: %s: %v", path, err)
	}
	return m
}

// repoRoot is the nearest directory above the working directory holding
// go.mod (go test runs in the package's directory).
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("authtest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("authtest: no go.mod above the working directory")
		}
		dir = parent
	}
}
