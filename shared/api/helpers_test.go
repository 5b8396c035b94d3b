package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/pulsehub/pulsehub/shared/api/apitest"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/bus"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/config"
	"github.com/pulsehub/pulsehub/shared/httpapi"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// fastArgon2 keeps tests quick; production cost is measured by
// BenchmarkLoginHash in package auth.
var fastArgon2 = auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}

// recordingBus keeps published events; tests have no EventBridge.
type recordingBus struct {
	mu     sync.Mutex
	events []bus.Event
}

func (r *recordingBus) Publish(_ context.Context, evs ...bus.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, evs...)
	return nil
}

type harness struct {
	t   *testing.T
	doc *apitest.Doc // every call is checked against docs/api/openapi.yaml
	bus *recordingBus
	svc *Services
	srv *httpapi.Server
	h   lambda.Handler
	dir string
	d   lambdafn.Deps
	o   Options
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	ctx := context.Background()
	awsCfg := testenv.AWSConfig(t)
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "api")
	if err := store.Provision(ctx, db, catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fn, _ := catalog.System().Function("api")
	cfg, err := config.LoadFrom(func(k string) (string, bool) {
		v, ok := map[string]string{
			catalog.EnvTable: name, catalog.EnvKMSKey: "file:" + dir, catalog.EnvJWTSecret: "file:" + dir,
			catalog.EnvBus: "pulsehub", catalog.EnvSecrets: "file:" + dir, config.EnvCursorSecret: "test-cursor",
		}[k]
		return v, ok
	}, fn)
	if err != nil {
		t.Fatal(err)
	}
	if o.Argon2 == (auth.Argon2Params{}) {
		o.Argon2 = fastArgon2
	}
	if o.TokenLimit == (ratelimit.Rule{}) {
		o.TokenLimit = ratelimit.Rule{Rate: 1000, Burst: 1000}
		o.TenantLimit = ratelimit.Rule{Rate: 1000, Burst: 1000}
	}
	rb := &recordingBus{}
	if o.Bus == nil {
		o.Bus = rb
	}
	d := lambdafn.Deps{Config: cfg, AWS: awsCfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	svc, err := NewServices(ctx, d, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(svc, o)
	return &harness{t: t, doc: apitest.OpenAPI(t), bus: rb, svc: svc, srv: srv, h: lambda.NewHandler(httpadapter.NewV2(srv).ProxyWithContext), dir: dir, d: d, o: o}
}

// instance is another warm instance of the same function: same table,
// keys and options, its own caches.
func (h *harness) instance() *harness {
	h.t.Helper()
	svc, err := NewServices(context.Background(), h.d, h.o)
	if err != nil {
		h.t.Fatal(err)
	}
	srv := NewServer(svc, h.o)
	return &harness{t: h.t, doc: h.doc, bus: h.bus, svc: svc, srv: srv, h: lambda.NewHandler(httpadapter.NewV2(srv).ProxyWithContext), dir: h.dir, d: h.d, o: h.o}
}

type response struct {
	Status  int
	Headers map[string]string
	Body    map[string]any
	Raw     string
}

// call sends one API Gateway HTTP API v2 event through the Lambda handler,
// the production decode path.
func (h *harness) call(method, path, token, body string, ip ...string) response {
	h.t.Helper()
	u, _ := url.Parse(path)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY /v1/{proxy+}", RawPath: u.Path, RawQueryString: u.RawQuery,
		Headers: map[string]string{"content-type": "application/json"}, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + rand.Text()[:10], DomainName: "api.test", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: u.Path, SourceIP: "203.0.113.9"},
		},
	}
	if len(ip) > 0 {
		ev.RequestContext.HTTP.SourceIP = ip[0]
	}
	if token != "" {
		ev.Headers["authorization"] = "Bearer " + token
	}
	payload, _ := json.Marshal(ev)
	out, err := h.h.Invoke(context.Background(), payload)
	if err != nil {
		h.t.Fatalf("%s %s: invoke: %v", method, path, err)
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil {
		h.t.Fatal(err)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	hdr := http.Header{}
	for k, v := range res.Headers {
		hdr.Set(k, v)
	}
	h.doc.Check(h.t, req, []byte(body), res.StatusCode, hdr, []byte(res.Body))
	r := response{Status: res.StatusCode, Headers: res.Headers, Raw: res.Body}
	json.Unmarshal([]byte(res.Body), &r.Body)
	if res.Headers["X-Request-Id"] == "" {
		h.t.Fatalf("%s %s: no X-Request-Id header", method, path)
	}
	if res.StatusCode >= 400 && res.Headers["Content-Type"] != "application/problem+json" {
		h.t.Fatalf("%s %s: %d with Content-Type %q", method, path, res.StatusCode, res.Headers["Content-Type"])
	}
	return r
}

func (h *harness) must(status int, method, path, token, body string) response {
	h.t.Helper()
	r := h.call(method, path, token, body)
	if r.Status != status {
		h.t.Fatalf("%s %s = %d %s; want %d", method, path, r.Status, r.Raw, status)
	}
	return r
}

func (r response) str(k string) string { s, _ := r.Body[k].(string); return s }

// signup creates a workspace and returns the owner's token pair.
func (h *harness) signup(workspace, email string) response {
	h.t.Helper()
	return h.must(201, "POST", "/v1/auth/signup", "", `{"workspace":"`+workspace+`","email":"`+email+`","password":"correct-horse-1"}`)
}

// invite adds a user with role and logs them in, returning the access token.
func (h *harness) invite(ownerToken, workspace, email string, role auth.Role) (userID, token string) {
	h.t.Helper()
	inv := h.must(201, "POST", "/v1/users", ownerToken, `{"email":"`+email+`","role":"`+string(role)+`"}`)
	login := h.must(200, "POST", "/v1/auth/login", "", `{"email":"`+email+`","password":"`+inv.str("initialPassword")+`","workspace":"`+workspace+`"}`)
	return inv.str("userId"), login.str("accessToken")
}
