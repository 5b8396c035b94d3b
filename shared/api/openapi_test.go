package api

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/api/apitest"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/catalog"
)

// openAPIPathOf maps a net/http pattern path to OpenAPI's: a trailing
// wildcard {name...} is written {name}.
func openAPIPathOf(p string) string { return strings.ReplaceAll(p, "...}", "}") }

// TestOpenAPIMatchesRoutes keeps docs/api/openapi.yaml in step with what is
// served: every route of the api server and every HTTP route of the
// catalog's functions is documented (with an operationId, and for api
// routes the x-permission the route checks), and every documented
// operation is served. The api function is mounted as ANY /v1/{proxy+}, so
// its routes come from srv.Routes() and must fall under that proxy. What
// each request and response may contain is checked on every call the
// tests make (apitest.Doc.Check in the harness).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := apitest.OpenAPI(t)
	h := newHarness(t, Options{})

	type served struct {
		by   string
		perm auth.Permission // api routes only
	}
	serving := map[string]served{} // "METHOD /path" → who serves it
	var proxies []string           // path prefixes API Gateway sends to the api function
	for _, fn := range catalog.System().Functions {
		for _, rt := range fn.HTTP {
			if prefix, ok := strings.CutSuffix(rt.Path, "{proxy+}"); ok {
				if fn.Name != "api" {
					t.Errorf("function %s has proxy route %s; this test only knows the api function's routes", fn.Name, rt)
				}
				proxies = append(proxies, prefix)
				continue
			}
			if rt.Method == "ANY" {
				t.Errorf("function %s: route %s: document each method, ANY is only used with {proxy+}", fn.Name, rt)
				continue
			}
			serving[rt.Method+" "+rt.Path] = served{by: "function " + fn.Name}
		}
	}
	if len(proxies) == 0 {
		t.Fatal("no {proxy+} route for the api function in the catalog")
	}
	for _, rt := range h.srv.Routes() {
		op := rt.Method + " " + openAPIPathOf(rt.Path)
		if !slices.ContainsFunc(proxies, func(prefix string) bool { return strings.HasPrefix(rt.Path, prefix) }) {
			t.Errorf("api route %s is outside the api function's proxy routes %v: API Gateway never sends it there", op, proxies)
		}
		if other, dup := serving[op]; dup {
			t.Errorf("%s is served by both the api server and %s", op, other.by)
		}
		serving[op] = served{by: "api server", perm: rt.Permission}
	}

	documented := map[string]bool{}
	for path, item := range doc.T.Paths.Map() {
		for method, o := range item.Operations() {
			op := method + " " + path
			documented[op] = true
			s, ok := serving[op]
			switch {
			case !ok:
				t.Errorf("%s documents %s, which nothing serves: remove it or serve it", apitest.OpenAPIPath, op)
				continue
			case o.OperationID == "":
				t.Errorf("%s: %s has no operationId: add one (lowerCamelCase verb and noun, e.g. listSegments)", apitest.OpenAPIPath, op)
			}
			perm, _ := o.Extensions["x-permission"].(string)
			if s.by == "api server" && s.perm != "" && perm != string(s.perm) {
				t.Errorf("%s: %s has x-permission %q, but the route checks %q", apitest.OpenAPIPath, op, perm, s.perm)
			}
			if s.perm == "" && perm != "" {
				t.Errorf("%s: %s has x-permission %q, but the route is public", apitest.OpenAPIPath, op, perm)
			}
		}
	}
	for op, s := range serving {
		if !documented[op] {
			method, path, _ := strings.Cut(op, " ")
			hint := ""
			if s.perm != "" {
				hint = ", x-permission: " + string(s.perm)
			}
			t.Errorf("%s (%s) is not in %s: add paths → %s → %s with an operationId%s, its parameters, request body and responses",
				op, s.by, apitest.OpenAPIPath, path, strings.ToLower(method), hint)
		}
	}
	if len(serving) < 20 {
		t.Fatalf("only %d operations served; the route lists look wrong", len(serving))
	}
}

// TestOpenAPILint runs Redocly CLI (pinned in docs/api/package.json, with
// docs/api/redocly.yaml) over the document: any error or warning fails.
func TestOpenAPILint(t *testing.T) {
	root, err := apitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "docs", "api")
	bin := filepath.Join(dir, "node_modules", ".bin", "redocly")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Redocly CLI is not installed in docs/api: run `make deps` (or `cd docs/api && npm ci`)")
	}
	cmd := exec.Command(bin, "lint", "--format=json")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var report struct {
		Totals struct{ Errors, Warnings, Ignored int }
	}
	if jerr := json.Unmarshal(out, &report); jerr != nil {
		// No report at all: redocly crashed or was not started.
		t.Fatalf("redocly lint gave no report (%v, %v):\n%s\n%s", err, jerr, out, stderr.Bytes())
	}
	if report.Totals.Errors+report.Totals.Warnings > 0 || err != nil {
		stylish := exec.Command(bin, "lint", "--format=stylish")
		stylish.Dir = dir
		text, _ := stylish.Output() // stderr holds only banners
		t.Fatalf("redocly lint docs/api/openapi.yaml: %d errors, %d warnings (exit: %v); fix them (or, for a deliberate exception, "+
			"add it to docs/api/.redocly.lint-ignore.yaml):\n%s", report.Totals.Errors, report.Totals.Warnings, err, text)
	}
}
