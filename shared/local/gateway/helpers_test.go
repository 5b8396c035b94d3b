package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// testCatalog has one function per route kind the tests exercise.
func testCatalog() catalog.Catalog {
	fn := func(name string, http []catalog.Route, ws ...string) catalog.Function {
		return catalog.Function{Name: name, MemoryMB: 128, Timeout: time.Second, HTTP: http, WebSocket: ws}
	}
	return catalog.Catalog{Functions: []catalog.Function{
		fn("api", []catalog.Route{{Method: "ANY", Path: "/v1/{proxy+}"}}),
		fn("me", []catalog.Route{{Method: "GET", Path: "/v1/me"}}),
		fn("customer", []catalog.Route{{Method: "GET", Path: "/v1/customers/{id}"}}),
		fn("shopify", []catalog.Route{{Method: "POST", Path: "/webhooks/shopify"}}),
		fn("twilio", []catalog.Route{{Method: "POST", Path: "/webhooks/twilio/{tenantId}"}}),
		fn("collect", []catalog.Route{{Method: "POST", Path: "/collect"}, {Method: "OPTIONS", Path: "/collect"}}),
		fn("root", []catalog.Route{{Method: "ANY", Path: "/{proxy+}"}}),
		fn("conn", nil, "$connect"),
		fn("disc", nil, "$disconnect"),
		fn("msg", nil, "$default"),
		fn("chat", nil, "chat.send"),
		{Name: "planned", MemoryMB: 128, Timeout: time.Second, HTTP: []catalog.Route{{Method: "GET", Path: "/planned"}}, Planned: true},
	}}
}

// call is one recorded invocation.
type call struct {
	function string
	payload  []byte
}

// fakeInvoker runs per-function Go funcs in place of Lambda handlers and
// records every invocation.
type fakeInvoker struct {
	mu       sync.Mutex
	calls    []call
	handlers map[string]func(ctx context.Context, payload []byte) ([]byte, error)
	notify   chan call
}

func newFakeInvoker() *fakeInvoker {
	return &fakeInvoker{
		handlers: map[string]func(context.Context, []byte) ([]byte, error){},
		notify:   make(chan call, 4096),
	}
}

func (f *fakeInvoker) handle(name string, h func(ctx context.Context, payload []byte) ([]byte, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[name] = h
}

func (f *fakeInvoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{function, payload})
	h := f.handlers[function]
	f.mu.Unlock()
	var out []byte
	var err error
	if h == nil {
		out = []byte(`{"statusCode":200}`)
	} else {
		out, err = h(ctx, payload)
	}
	select {
	case f.notify <- call{function, payload}:
	default:
	}
	return out, err
}

func (f *fakeInvoker) callsTo(function string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.function == function {
			out = append(out, c)
		}
	}
	return out
}

// waitFor waits for the next invocation of function.
func (f *fakeInvoker) waitFor(t testing.TB, function string) call {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case c := <-f.notify:
			if c.function == function {
				return c
			}
		case <-timeout:
			t.Fatalf("no invocation of %s within 5s", function)
		}
	}
}

func startGateway(t testing.TB, inv Invoker, limits Limits) (*Gateway, *httptest.Server) {
	t.Helper()
	g := New(testCatalog(), inv, Options{Limits: limits})
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("gateway close: %v", err)
		}
		srv.Close()
	})
	return g, srv
}

// mgmtClient is the real SDK client pointed at the gateway, as Lambda code
// is with WS_ENDPOINT.
func mgmtClient(srvURL string) *apigatewaymanagementapi.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
	return apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(srvURL + "/ws")
	})
}

func decodeWS(t testing.TB, payload []byte) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("decode websocket event: %v", err)
	}
	return ev
}

func jsonOut(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint("jsonOut: ", err))
	}
	return b
}
