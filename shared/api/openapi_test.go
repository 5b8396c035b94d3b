package api

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// openAPIPath is the API's published description, relative to this package.
var openAPIPath = filepath.Join("..", "..", "docs", "api", "openapi.yaml")

// documentedOperations reads "METHOD /path" for every operation of an
// OpenAPI document's paths. Operations marked x-local-only (served by the
// local runtime, not by API Gateway) are left out.
func documentedOperations(t *testing.T, path string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	ops := map[string]bool{}
	for p, item := range doc.Paths {
		for key, node := range item {
			if !slices.Contains(methods, key) {
				continue
			}
			var op struct {
				LocalOnly bool `yaml:"x-local-only"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s: %s %s: %v", path, key, p, err)
			}
			if !op.LocalOnly {
				ops[strings.ToUpper(key)+" "+p] = true
			}
		}
	}
	return ops
}

// openAPIPathOf maps a net/http pattern path to OpenAPI's: a trailing
// wildcard {name...} is written {name}.
func openAPIPathOf(p string) string { return strings.ReplaceAll(p, "...}", "}") }

// TestOpenAPIMatchesRoutes keeps docs/api/openapi.yaml in step with what is
// served: every route of the api server and every HTTP route of the
// catalog's functions is documented, and every documented operation is
// served. The api function is mounted as ANY /v1/{proxy+}, so its routes
// come from srv.Routes() and must fall under that proxy.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	documented := documentedOperations(t, openAPIPath)
	h := newHarness(t, Options{})

	served := map[string]string{} // operation → who serves it
	var proxies []string          // path prefixes API Gateway sends to the api function
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
			served[rt.Method+" "+rt.Path] = "function " + fn.Name
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
		if other, dup := served[op]; dup {
			t.Errorf("%s is served by both the api server and %s", op, other)
		}
		served[op] = "api server"
	}

	for op, by := range served {
		if !documented[op] {
			t.Errorf("%s (%s) is not in %s", op, by, openAPIPath)
		}
	}
	for op := range documented {
		if served[op] == "" {
			t.Errorf("%s documents %s, which nothing serves", openAPIPath, op)
		}
	}
	if len(served) < 20 {
		t.Fatalf("only %d operations served; the route lists look wrong", len(served))
	}
}
