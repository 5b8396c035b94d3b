package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/httpapi"
)

// tokens maps a bearer token to its principal: the test's Verifier.
type tokens map[string]auth.Principal

func (t tokens) Verify(_ context.Context, token string) (auth.Principal, error) {
	p, ok := t[token]
	if !ok {
		return auth.Principal{}, apperr.E(apperr.Unauthorized, "unknown token")
	}
	return p, nil
}

type limitAll struct{}

func (limitAll) Limit(context.Context, auth.Principal) error {
	return &apperr.Error{Kind: apperr.RateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond}
}

type body struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Tags  []string
}

func newServer(o httpapi.Options) *httpapi.Server {
	if o.Verifier == nil {
		o.Verifier = tokens{
			"viewer": {TenantID: "t1", UserID: "u1", Role: auth.Viewer},
			"admin":  {TenantID: "t1", UserID: "u2", Role: auth.Admin},
		}
	}
	s := httpapi.NewServer(o)
	s.Handle("POST /v1/things", auth.SegmentsWrite, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		var b body
		if err := httpapi.DecodeJSON(r, &b); err != nil {
			return err
		}
		httpapi.WriteJSON(w, 201, map[string]any{"name": b.Name, "tenant": p.TenantID})
		return nil
	})
	s.Handle("GET /v1/things/{id}", auth.SegmentsRead, func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		if r.PathValue("id") == "boom" {
			panic("boom")
		}
		if r.PathValue("id") == "fail" {
			return errFail
		}
		return apperr.E(apperr.NotFound, "thing %s not found", r.PathValue("id"))
	})
	s.HandlePublic("GET /v1/public", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, 200, map[string]string{"ip": httpapi.ClientIP(r)})
	})
	return s
}

var errFail = &apperr.Error{Kind: apperr.Internal, Message: "secret detail", Err: context.Canceled}

func do(t *testing.T, h http.Handler, method, path, token, body string) (*httptest.ResponseRecorder, httpapi.Problem) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p httpapi.Problem
	if rec.Code >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: %d with Content-Type %q, want problem+json", method, path, rec.Code, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Detail == "" || p.Title == "" || p.Type == "" {
			t.Fatalf("bad problem body %s (%v)", rec.Body, err)
		}
	}
	if rec.Header().Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
	return rec, p
}

func TestStrictJSON(t *testing.T) {
	s := newServer(httpapi.Options{MaxBody: 256})
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
		detail     string
	}{
		{"ok", `{"name":"a","count":1}`, 201, "", ""},
		{"ok trailing space", "{\"name\":\"a\"}\n ", 201, "", ""},
		{"unknown field", `{"name":"a","colour":"red"}`, 400, "colour", `unknown field "colour"`},
		{"wrong type", `{"count":"x"}`, 400, "count", "must be a number"},
		{"nested wrong type", `{"Tags":[1]}`, 400, "Tags", "must be a string"},
		{"trailing data", `{"name":"a"} {"name":"b"}`, 400, "", "after the JSON value"},
		{"trailing garbage", `{"name":"a"}x`, 400, "", "after the JSON value"},
		{"empty", ``, 400, "", "empty"},
		{"syntax", `{"name":}`, 400, "", "not valid JSON"},
		{"truncated", `{"name":"a"`, 400, "", "truncated"},
		{"array not object", `[1]`, 400, "", "must be a JSON"},
		{"too large", `{"name":"` + strings.Repeat("x", 300) + `"}`, 413, "", "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, p := do(t, s, "POST", "/v1/things", "admin", tc.body)
			if rec.Code != tc.status || p.Field != tc.field || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("got %d field=%q detail=%q; want %d field=%q detail~%q", rec.Code, p.Field, p.Detail, tc.status, tc.field, tc.detail)
			}
		})
	}
}

func TestTooLargeWithoutContentLength(t *testing.T) {
	s := newServer(httpapi.Options{MaxBody: 64})
	req := httptest.NewRequest("POST", "/v1/things", strings.NewReader(`{"name":"`+strings.Repeat("y", 100)+`"}`))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer admin")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("status %d, want 413", rec.Code)
	}
}

func TestAuthAndErrors(t *testing.T) {
	s := newServer(httpapi.Options{})
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		detail                    string
	}{
		{"no token", "GET", "/v1/things/1", "", 401, "missing Authorization"},
		{"bad token", "GET", "/v1/things/1", "nope", 401, "invalid or expired"},
		{"forbidden role", "POST", "/v1/things", "viewer", 403, "viewer"},
		{"not found from handler", "GET", "/v1/things/7", "viewer", 404, "thing 7 not found"},
		{"internal hides detail", "GET", "/v1/things/fail", "viewer", 500, "internal error"},
		{"panic", "GET", "/v1/things/boom", "viewer", 500, "internal error"},
		{"unknown route", "GET", "/v1/nothing", "", 404, "no route"},
		{"wrong method", "DELETE", "/v1/things/1", "admin", 405, "not allowed"},
		{"public", "GET", "/v1/public", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, p := do(t, s, tc.method, tc.path, tc.token, "")
			if rec.Code != tc.status || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("got %d %q; want %d ~%q", rec.Code, p.Detail, tc.status, tc.detail)
			}
			if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			if rec.Code == 405 && rec.Header().Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
}

func TestRateLimited(t *testing.T) {
	s := newServer(httpapi.Options{Limiter: limitAll{}})
	rec, _ := do(t, s, "GET", "/v1/things/1", "viewer", "")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("got %d Retry-After %q, want 429 and 2", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestRequestIDFromCaller(t *testing.T) {
	s := newServer(httpapi.Options{})
	req := httptest.NewRequest("GET", "/v1/public", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Header().Get("X-Request-Id") != "abc-123" {
		t.Fatal("caller request id not kept")
	}
	req.Header.Set("X-Request-Id", "bad id\n<script>")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " <") {
		t.Fatalf("unsafe request id echoed: %q", got)
	}
}

func TestRoutesListed(t *testing.T) {
	rs := newServer(httpapi.Options{}).Routes()
	if len(rs) != 3 || rs[0] != (httpapi.Route{Method: "POST", Path: "/v1/things", Permission: auth.SegmentsWrite}) {
		t.Fatalf("routes %+v", rs)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1,"Tags":["x"]}`, `{}`, `null`, `{"a":1}`, `{"count":1e400}`, `"x"`, `{"name":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(in))
		req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 1024)
		var b body
		err := httpapi.DecodeJSON(req, &b)
		if err == nil {
			// Whatever was accepted must be one complete, known-field object (or null).
			if !json.Valid([]byte(in)) {
				t.Fatalf("accepted invalid JSON %q", in)
			}
			return
		}
		if k := apperr.KindOf(err); k != apperr.Invalid && k != apperr.TooLarge {
			t.Fatalf("DecodeJSON(%q) error kind %v: %v", in, k, err)
		}
		if apperr.Message(err) == "" || apperr.Message(err) == "internal error" {
			t.Fatalf("no useful message for %q", in)
		}
	})
}
