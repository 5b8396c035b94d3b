package gateway

import (
	"net/url"
	"strings"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Segment kinds, ordered by specificity: API Gateway prefers a literal
// segment to a {param} and a {param} to a greedy {proxy+}.
const (
	segGreedy = iota + 1
	segParam
	segLiteral
)

type segment struct {
	kind  int
	value string // literal text, or the parameter name
}

// route is one HTTP API route bound to its function.
type route struct {
	key      string // "POST /webhooks/shopify"
	method   string // upper case, or "ANY"
	segments []segment
	function string
}

func newRoute(r catalog.Route, function string) route {
	rt := route{key: r.String(), method: strings.ToUpper(r.Method), function: function}
	for _, s := range splitPath(r.Path) {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}"):
			rt.segments = append(rt.segments, segment{segGreedy, s[1 : len(s)-2]})
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			rt.segments = append(rt.segments, segment{segParam, s[1 : len(s)-1]})
		default:
			rt.segments = append(rt.segments, segment{segLiteral, s})
		}
	}
	return rt
}

// splitPath splits "/a/b" into ["a","b"]; "/" gives no segments and a
// trailing slash gives a final empty segment, which only a greedy variable
// can absorb (API Gateway treats /a and /a/ as different paths).
func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match reports whether the route matches the escaped request path and
// returns its path parameters, decoded.
func (rt route) match(method string, rawSegs []string) (map[string]string, bool) {
	if rt.method != "ANY" && rt.method != method {
		return nil, false
	}
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, s := range rt.segments {
		if s.kind == segGreedy {
			rest := rawSegs[min(i, len(rawSegs)):]
			if len(rest) == 0 || (len(rest) == 1 && rest[0] == "") {
				return nil, false // a greedy variable needs at least one non-empty segment
			}
			v, err := url.PathUnescape(strings.Join(rest, "/"))
			if err != nil {
				return nil, false
			}
			set(s.value, v)
			return params, true
		}
		if i >= len(rawSegs) {
			return nil, false
		}
		v, err := url.PathUnescape(rawSegs[i])
		if err != nil {
			return nil, false
		}
		switch s.kind {
		case segLiteral:
			if v != s.value {
				return nil, false
			}
		case segParam:
			if v == "" {
				return nil, false
			}
			set(s.value, v)
		}
	}
	if len(rawSegs) != len(rt.segments) {
		return nil, false
	}
	return params, true
}

// moreSpecific reports whether a should win over b when both match: compare
// segment kinds left to right (literal > param > greedy, so of two greedy
// routes the longer prefix wins), then a declared method beats ANY.
func moreSpecific(a, b route) bool {
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		if a.segments[i].kind != b.segments[i].kind {
			return a.segments[i].kind > b.segments[i].kind
		}
	}
	if len(a.segments) != len(b.segments) {
		return len(a.segments) > len(b.segments)
	}
	return a.method != "ANY" && b.method == "ANY"
}

// matchRoute finds the most specific route for method and escaped path.
func matchRoute(routes []route, method, escapedPath string) (route, map[string]string, bool) {
	segs := splitPath(escapedPath)
	var best route
	var bestParams map[string]string
	found := false
	for _, rt := range routes {
		params, ok := rt.match(method, segs)
		if !ok {
			continue
		}
		if !found || moreSpecific(rt, best) {
			best, bestParams, found = rt, params, true
		}
	}
	return best, bestParams, found
}
