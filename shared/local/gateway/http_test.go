package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestHTTPEventGolden pins the payload 2.0 event the gateway builds.
func TestHTTPEventGolden(t *testing.T) {
	inv := newFakeInvoker()
	inv.handle("shopify", func(context.Context, []byte) ([]byte, error) { return []byte(`{"statusCode":200}`), nil })
	fixed := time.Date(2025, 3, 12, 19, 3, 58, 123e6, time.UTC)
	g := New(testCatalog(), inv, Options{Now: func() time.Time { return fixed }})

	r := httptest.NewRequest("POST", "http://api.pulsehub.test:8080/webhooks/shopify?shop=demo&tag=a&tag=b&q=a%20b", strings.NewReader(`{"id":1}`))
	r.RemoteAddr = "192.0.2.10:52100"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "Shopify-Captain-Hook")
	r.Header.Set("X-Shopify-Topic", "orders/create")
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("Cookie", "c=3")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	calls := inv.callsTo("shopify")
	if len(calls) != 1 {
		t.Fatalf("%d invocations of shopify, want 1", len(calls))
	}
	var ev map[string]any
	if err := json.Unmarshal(calls[0].payload, &ev); err != nil {
		t.Fatal(err)
	}
	// Random parts are checked for shape, then pinned.
	rc := ev["requestContext"].(map[string]any)
	id := rc["requestId"].(string)
	if len(id) != 16 || !strings.HasSuffix(id, "=") {
		t.Errorf("requestId %q is not shaped like API Gateway's", id)
	}
	if got := w.Header().Get("Apigw-Requestid"); got != id {
		t.Errorf("apigw-requestid header %q, want the event's requestId %q", got, id)
	}
	rc["requestId"] = "REQUEST-ID"
	headers := ev["headers"].(map[string]any)
	if !strings.HasPrefix(headers["x-amzn-trace-id"].(string), "Root=1-67d1da9e-") {
		t.Errorf("x-amzn-trace-id %q", headers["x-amzn-trace-id"])
	}
	headers["x-amzn-trace-id"] = "TRACE-ID"

	got, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "http_event.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("event differs from %s:\n%s", golden, got)
	}
	// The golden file itself must decode into the aws-lambda-go type.
	var typed events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(want, &typed); err != nil || typed.RouteKey != "POST /webhooks/shopify" || typed.RequestContext.HTTP.SourceIP != "192.0.2.10" {
		t.Errorf("golden does not decode as APIGatewayV2HTTPRequest: %v %+v", err, typed)
	}
}

func TestHTTPBinaryBody(t *testing.T) {
	inv := newFakeInvoker()
	var got events.APIGatewayV2HTTPRequest
	inv.handle("shopify", func(_ context.Context, p []byte) ([]byte, error) {
		if err := json.Unmarshal(p, &got); err != nil {
			return nil, err
		}
		// Echo the bytes back as a binary response.
		return jsonOut(events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: got.Body, IsBase64Encoded: true,
			Headers: map[string]string{"content-type": "application/octet-stream"}}), nil
	})
	_, srv := startGateway(t, inv, Limits{})
	body := []byte{0x00, 0xff, 0x10, 'P', 'K', 0x03, 0x04}
	res, err := http.Post(srv.URL+"/webhooks/shopify", "application/zip", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	back, _ := io.ReadAll(res.Body)
	if !got.IsBase64Encoded || got.Body != base64.StdEncoding.EncodeToString(body) {
		t.Errorf("event body %q isBase64Encoded=%v, want base64 of the bytes", got.Body, got.IsBase64Encoded)
	}
	if res.StatusCode != 201 || !bytes.Equal(back, body) {
		t.Errorf("response %d %x, want 201 %x", res.StatusCode, back, body)
	}
}

func TestHTTPTextBodyIsPlain(t *testing.T) {
	inv := newFakeInvoker()
	var got events.APIGatewayV2HTTPRequest
	inv.handle("collect", func(_ context.Context, p []byte) ([]byte, error) {
		return []byte(`{"statusCode":202}`), json.Unmarshal(p, &got)
	})
	_, srv := startGateway(t, inv, Limits{})
	res, err := http.Post(srv.URL+"/collect", "application/x-www-form-urlencoded", strings.NewReader("a=1&b=2"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 202 || got.IsBase64Encoded || got.Body != "a=1&b=2" {
		t.Errorf("status %d body %q base64=%v", res.StatusCode, got.Body, got.IsBase64Encoded)
	}
}

func TestConvertResponse(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		status  int
		body    string
		headers map[string]string
		cookies []string
		wantErr bool
	}{
		{name: "simple object", out: `{"status":"ok"}`, status: 200, body: `{"status":"ok"}`, headers: map[string]string{"content-type": "application/json"}},
		{name: "simple string", out: `"Hello from Lambda!"`, status: 200, body: "Hello from Lambda!"},
		{name: "simple number", out: `42`, status: 200, body: "42"},
		{name: "simple null", out: `null`, status: 200, body: "null"},
		{name: "structured", out: `{"statusCode":404,"headers":{"content-type":"application/problem+json"},"body":"{}"}`, status: 404, body: "{}",
			headers: map[string]string{"content-type": "application/problem+json"}},
		{name: "cookies", out: `{"statusCode":200,"cookies":["a=1; Path=/","b=2"]}`, status: 200, cookies: []string{"a=1; Path=/", "b=2"}},
		{name: "base64", out: `{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`, status: 200, body: "hi"},
		{name: "bad base64", out: `{"statusCode":200,"isBase64Encoded":true,"body":"!!"}`, wantErr: true},
		{name: "bad status", out: `{"statusCode":1000}`, wantErr: true},
		{name: "status not a number", out: `{"statusCode":"200"}`, wantErr: true},
		{name: "not json", out: `oops`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := convertResponse([]byte(tt.out))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.StatusCode != tt.status || got.Body != tt.body {
				t.Errorf("got %d %q, want %d %q", got.StatusCode, got.Body, tt.status, tt.body)
			}
			for k, v := range tt.headers {
				if got.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, got.Headers[k], v)
				}
			}
			if strings.Join(got.Cookies, "|") != strings.Join(tt.cookies, "|") {
				t.Errorf("cookies %v, want %v", got.Cookies, tt.cookies)
			}
		})
	}
}

func FuzzConvertResponse(f *testing.F) {
	for _, s := range []string{`{"statusCode":200}`, `"x"`, `{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`, `[1]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		resp, err := convertResponse(out)
		if err == nil && (resp.StatusCode < 100 || resp.StatusCode > 599) {
			t.Fatalf("accepted status %d", resp.StatusCode)
		}
	})
}

func TestHTTPResponseWritten(t *testing.T) {
	inv := newFakeInvoker()
	inv.handle("me", func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"statusCode":200,"headers":{"content-type":"application/json","x-one":"1"},
			"multiValueHeaders":{"x-many":["a","b"]},"cookies":["sid=1; HttpOnly","theme=dark"],"body":"{\"userId\":\"u1\"}"}`), nil
	})
	inv.handle("customer", func(context.Context, []byte) ([]byte, error) { return []byte(`{"id":"c-1"}`), nil })
	_, srv := startGateway(t, inv, Limits{})

	res, err := http.Get(srv.URL + "/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != `{"userId":"u1"}` || res.Header.Get("X-One") != "1" ||
		strings.Join(res.Header.Values("X-Many"), ",") != "a,b" || len(res.Cookies()) != 2 || res.Header.Get("Apigw-Requestid") == "" {
		t.Errorf("got %d %s %v", res.StatusCode, body, res.Header)
	}

	res, err = http.Get(srv.URL + "/v1/customers/c-1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != `{"id":"c-1"}` || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("simple response: got %d %s %v", res.StatusCode, body, res.Header)
	}
}

// AWS's own answers: errors, timeouts, limits and unknown routes.
func TestHTTPGatewayErrors(t *testing.T) {
	inv := newFakeInvoker()
	inv.handle("me", func(context.Context, []byte) ([]byte, error) { return nil, errors.New("boom") })
	inv.handle("customer", func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done() // a function that outlives the integration timeout
		return nil, ctx.Err()
	})
	inv.handle("twilio", func(ctx context.Context, _ []byte) ([]byte, error) {
		time.Sleep(300 * time.Millisecond) // ignores its context entirely
		return []byte(`{"statusCode":200}`), nil
	})
	inv.handle("collect", func(context.Context, []byte) ([]byte, error) { return []byte(`not json`), nil })
	g := New(testCatalog(), inv, Options{Limits: Limits{MaxPayload: 1024, IntegrationTimeout: 100 * time.Millisecond}})
	g.routes = g.routes[:len(g.routes)-1] // drop the catch-all so unknown paths reach the 404

	tests := []struct {
		name, method, path, body string
		status                   int
		contentType, want        string
	}{
		{"function error", "GET", "/v1/me", "", 500, "application/json", `{"message":"Internal Server Error"}`},
		{"timeout", "GET", "/v1/customers/c1", "", 503, "application/json", `{"message":"Service Unavailable"}`},
		{"timeout ignoring ctx", "POST", "/webhooks/twilio/t1", "", 503, "application/json", `{"message":"Service Unavailable"}`},
		{"malformed output", "POST", "/collect", "", 500, "application/json", `{"message":"Internal Server Error"}`},
		{"too large", "POST", "/webhooks/shopify", strings.Repeat("x", 1025), 413, "application/problem+json", `"status":413`},
		{"no route", "GET", "/nope", "", 404, "application/problem+json", `"detail":"no route for GET /nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			g.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if w.Code != tt.status || w.Header().Get("Content-Type") != tt.contentType || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("got %d %s %s, want %d %s containing %s", w.Code, w.Header().Get("Content-Type"), w.Body, tt.status, tt.contentType, tt.want)
			}
			if w.Header().Get("Apigw-Requestid") == "" {
				t.Error("no apigw-requestid header")
			}
		})
	}
	if n := len(inv.callsTo("shopify")); n != 0 {
		t.Errorf("an oversized request reached the function %d times", n)
	}
}
