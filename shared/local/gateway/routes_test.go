package gateway

import (
	"maps"
	"testing"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

func TestMatchRoute(t *testing.T) {
	var routes []route
	for _, f := range testCatalog().Deployable() {
		for _, r := range f.HTTP {
			routes = append(routes, newRoute(r, f.Name))
		}
	}
	tests := []struct {
		method, path string
		want         string // route key; "" for no match
		params       map[string]string
	}{
		{"GET", "/v1/me", "GET /v1/me", nil},
		{"POST", "/v1/me", "ANY /v1/{proxy+}", map[string]string{"proxy": "me"}},
		{"GET", "/v1/customers/c-1", "GET /v1/customers/{id}", map[string]string{"id": "c-1"}},
		{"GET", "/v1/customers/c%2F1", "GET /v1/customers/{id}", map[string]string{"id": "c/1"}},
		{"DELETE", "/v1/customers/c-1", "ANY /v1/{proxy+}", map[string]string{"proxy": "customers/c-1"}},
		{"GET", "/v1/customers/c-1/export", "ANY /v1/{proxy+}", map[string]string{"proxy": "customers/c-1/export"}},
		{"GET", "/v1/customers/", "ANY /v1/{proxy+}", map[string]string{"proxy": "customers/"}},
		{"POST", "/webhooks/shopify", "POST /webhooks/shopify", nil},
		{"GET", "/webhooks/shopify", "ANY /{proxy+}", map[string]string{"proxy": "webhooks/shopify"}},
		{"POST", "/webhooks/twilio/t-9", "POST /webhooks/twilio/{tenantId}", map[string]string{"tenantId": "t-9"}},
		{"POST", "/webhooks/twilio/", "ANY /{proxy+}", map[string]string{"proxy": "webhooks/twilio/"}},
		{"OPTIONS", "/collect", "OPTIONS /collect", nil},
		{"POST", "/collect", "POST /collect", nil},
		{"GET", "/v1", "ANY /{proxy+}", map[string]string{"proxy": "v1"}},
		{"GET", "/", "", nil},
		{"GET", "/planned", "ANY /{proxy+}", map[string]string{"proxy": "planned"}}, // planned functions are not mounted
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rt, params, ok := matchRoute(routes, tt.method, tt.path)
			if tt.want == "" {
				if ok {
					t.Fatalf("matched %s, want no match", rt.key)
				}
				return
			}
			if !ok || rt.key != tt.want {
				t.Fatalf("matched %q (ok=%v), want %q", rt.key, ok, tt.want)
			}
			if !maps.Equal(params, tt.params) {
				t.Errorf("params = %v, want %v", params, tt.params)
			}
		})
	}
}

func TestMatchRouteWithoutCatchAll(t *testing.T) {
	routes := []route{newRoute(routeOf("POST", "/collect"), "c"), newRoute(routeOf("ANY", "/v1/{proxy+}"), "api")}
	for _, p := range []string{"/collect/", "/v1", "/v1/", "/other"} {
		if rt, _, ok := matchRoute(routes, "POST", p); ok {
			t.Errorf("%s matched %s, want none", p, rt.key)
		}
	}
}

func FuzzMatchRoute(f *testing.F) {
	var routes []route
	for _, fn := range testCatalog().Deployable() {
		for _, r := range fn.HTTP {
			routes = append(routes, newRoute(r, fn.Name))
		}
	}
	for _, s := range []string{"/v1/me", "/v1/customers/%zz", "//", "/webhooks/twilio/a%2Fb", ""} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, params, ok := matchRoute(routes, method, path)
		if !ok {
			return
		}
		for _, s := range rt.segments {
			if s.kind != segLiteral && params[s.value] == "" {
				t.Fatalf("%s matched %s with empty %s", path, rt.key, s.value)
			}
		}
	})
}

func routeOf(method, path string) catalog.Route { return catalog.Route{Method: method, Path: path} }
