package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coder/websocket"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// wsCatalog is the system catalog cut down to the WebSocket functions, so
// the test exercises the runtime itself with handlers written here.
func wsCatalog() catalog.Catalog {
	c := catalog.System()
	c.Functions = slices.DeleteFunc(c.Functions, func(f catalog.Function) bool { return !strings.HasPrefix(f.Name, "ws-") })
	return c
}

type conn struct {
	PK, SK string
}

// testFunctions are small handlers with the production shape: they use the
// table and the management API through the SDK with the env the runtime gives.
func testFunctions() map[string]lambdafn.Constructor {
	table := func(d lambdafn.Deps) *store.Table {
		return store.New(dynamodb.NewFromConfig(d.AWS), d.Config.TableName, d.Config.CursorSecret)
	}
	return map[string]lambdafn.Constructor{
		"ws-connect": func(ctx context.Context, d lambdafn.Deps) (any, error) {
			t := table(d)
			return func(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
				id := ev.RequestContext.ConnectionID
				if err := t.Put(ctx, conn{PK: "CONN#" + id, SK: "CONN"}); err != nil {
					return events.APIGatewayProxyResponse{}, err
				}
				return events.APIGatewayProxyResponse{StatusCode: 200}, nil
			}, nil
		},
		"ws-disconnect": func(ctx context.Context, d lambdafn.Deps) (any, error) {
			t := table(d)
			return func(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
				err := t.Delete(ctx, store.Key{PK: "CONN#" + ev.RequestContext.ConnectionID, SK: "CONN"})
				return events.APIGatewayProxyResponse{StatusCode: 200}, err
			}, nil
		},
		"ws-message": func(ctx context.Context, d lambdafn.Deps) (any, error) {
			mgmt := apigatewaymanagementapi.NewFromConfig(d.AWS, func(o *apigatewaymanagementapi.Options) {
				o.BaseEndpoint = aws.String(d.Config.WSEndpoint)
			})
			return func(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
				var msg struct{ Action string }
				_ = json.Unmarshal([]byte(ev.Body), &msg)
				if msg.Action == "panic" {
					panic("handler bug")
				}
				reply := `{"type":"pong"}`
				if msg.Action != "ping" {
					reply = `{"type":"error","error":"unknown action"}`
				}
				_, err := mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
					ConnectionId: aws.String(ev.RequestContext.ConnectionID), Data: []byte(reply),
				})
				return events.APIGatewayProxyResponse{StatusCode: 200}, err
			}, nil
		},
	}
}

func getJSON(t *testing.T, url string) (int, map[string]any, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body, res.Header
}

func newRuntime(t testing.TB, seed func(context.Context, *local.Runtime) error) *local.Runtime {
	testenv.AWSConfig(t) // fails with one line when the emulators are not configured
	return local.New(local.Options{
		Addr: "127.0.0.1:0", StateDir: t.TempDir(), Prefix: testenv.Name(t, "rt"),
		Catalog: wsCatalog(), Functions: testFunctions(), Seed: seed, ReuseEndpoints: true,
		NoSchedules: true, FunctionLogs: io.Discard,
		Logger: slogDiscard(),
	})
}

func TestRuntimeEndToEnd(t *testing.T) {
	var during int
	rt := newRuntime(t, func(ctx context.Context, rt *local.Runtime) error {
		code, body, _ := getJSON(t, rt.URL()+"/healthz")
		if body["status"] != "starting" {
			return fmt.Errorf("healthz during seed: %d %v", code, body)
		}
		during = code
		return nil
	})
	defer rt.Close()
	if err := rt.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if during != http.StatusServiceUnavailable {
		t.Fatalf("healthz during seed = %d, want 503", during)
	}
	if code, body, _ := getJSON(t, rt.URL()+"/healthz"); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz after start: %d %v", code, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsURL := strings.Replace(rt.URL(), "http://", "ws://", 1) + "/ws?token=x"
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"action":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	_, data, err := c.Read(ctx)
	if err != nil || string(data) != `{"type":"pong"}` {
		t.Fatalf("reply %q, %v", data, err)
	}

	// The connection record exists while connected.
	db := dynamodb.NewFromConfig(rt.AWS())
	scanConns := func() int {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(rt.Resources().TableName)})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, it := range out.Items {
			var c conn
			_ = tblDecode(it, &c)
			if strings.HasPrefix(c.PK, "CONN#") {
				n++
			}
		}
		return n
	}
	if n := scanConns(); n != 1 {
		t.Fatalf("%d connection records while connected, want 1", n)
	}

	// A panicking handler is an error, not a crashed runtime: API Gateway
	// tells the client "Internal server error" and the connection stays.
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"action":"panic"}`))
	if _, data, err = c.Read(ctx); err != nil || !strings.Contains(string(data), "Internal server error") {
		t.Fatalf("after a panic: %q, %v", data, err)
	}
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"action":"ping"}`))
	if _, data, err = c.Read(ctx); err != nil || string(data) != `{"type":"pong"}` {
		t.Fatalf("after a panic: %q, %v", data, err)
	}

	// A message over 128 KB closes the connection with 1009.
	big := `{"action":"ping","pad":"` + strings.Repeat("x", 129<<10) + `"}`
	_ = c.Write(ctx, websocket.MessageText, []byte(big))
	_, _, err = c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("oversized message: close status %v (%v), want 1009", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for scanConns() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("$disconnect did not remove the connection record")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Unknown routes: 404 problem+json from the gateway.
	for _, p := range []string{"/v1/nope", "/nope"} {
		code, body, h := getJSON(t, rt.URL()+p)
		if code != 404 || h.Get("Content-Type") != "application/problem+json" || body["status"] != float64(404) {
			t.Fatalf("GET %s: %d %s %v", p, code, h.Get("Content-Type"), body)
		}
	}
	// Built-in console page, outbox and metrics.
	if res, err := http.Get(rt.URL() + "/"); err != nil || res.StatusCode != 200 {
		t.Fatalf("console: %v %v", res, err)
	}
	if code, body, _ := getJSON(t, rt.URL()+"/dev/outbox"); code != 200 || body["items"] == nil {
		t.Fatalf("outbox: %d %v", code, body)
	}
	res, err := http.Get(rt.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`pulsehub_invocations_total{function="ws-message"} 3`, `pulsehub_invocation_errors_total{function="ws-message"} 1`, "pulsehub_websocket_connections 0", "pulsehub_invocation_duration_seconds_bucket"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(rt.URL() + "/healthz"); err == nil {
		t.Fatal("server still answers after Close")
	}
}

func TestRuntimeSeedFailure(t *testing.T) {
	rt := newRuntime(t, func(context.Context, *local.Runtime) error { return errors.New("no demo data") })
	defer rt.Close()
	err := rt.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "seed: no demo data") {
		t.Fatalf("err %v", err)
	}
}

func TestRuntimeMissingConstructor(t *testing.T) {
	testenv.AWSConfig(t)
	fns := testFunctions()
	delete(fns, "ws-message")
	rt := local.New(local.Options{Addr: "127.0.0.1:0", StateDir: t.TempDir(), Prefix: testenv.Name(t, "rt"),
		Catalog: wsCatalog(), Functions: fns, ReuseEndpoints: true, NoSchedules: true, Logger: slogDiscard()})
	defer rt.Close()
	if err := rt.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no constructor for ws-message") {
		t.Fatalf("err %v", err)
	}
}

// TestRuntimeListensOnLoopbackOnly: the local-only routes have no
// authentication, so an address reachable from other hosts is refused.
func TestRuntimeListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		rt := local.New(local.Options{Addr: addr, StateDir: t.TempDir(), Prefix: testenv.Name(t, "rt"), Logger: slogDiscard()})
		err := rt.Run(context.Background())
		rt.Close()
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("listen on %s: %v", addr, err)
		}
	}
}

// TestFunctionEnvIncludesAWSEnv: the one FunctionEnv call gives a function
// everything it needs, the AWS part (endpoints, region, credentials)
// included, with nothing taken from the process environment.
func TestFunctionEnvIncludesAWSEnv(t *testing.T) {
	cat := catalog.System()
	res := local.Resources{TableName: "pulsehub-main", QueueURLs: map[string]string{}}
	for _, q := range cat.Queues {
		res.QueueURLs[q.Name] = "http://127.0.0.1:9/000000000000/" + q.Name
		res.QueueURLs[q.DLQName()] = "http://127.0.0.1:9/000000000000/" + q.DLQName()
	}
	none := func(string) (string, bool) { return "", false }
	awsEnv := local.Endpoints{DynamoDB: "http://127.0.0.1:8001", SQS: "http://127.0.0.1:9325"}.AWSEnv("http://127.0.0.1:8080/_aws/events", none)
	env := local.FunctionEnv(res, cat, "http://127.0.0.1:8080", t.TempDir(), []byte("cursor-secret"), awsEnv)
	for k, v := range awsEnv {
		if env[k] != v {
			t.Errorf("%s = %q, want %q from the AWS env", k, env[k], v)
		}
	}
	if env[catalog.EnvTable] != "pulsehub-main" {
		t.Errorf("%s = %q", catalog.EnvTable, env[catalog.EnvTable])
	}
	d, err := lambdafn.NewDeps(context.Background(), "webhooks", func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard)
	if err != nil {
		t.Fatalf("deps from the env alone: %v", err)
	}
	if d.AWS.Region != "us-east-1" {
		t.Errorf("region %q, want the AWS env's us-east-1", d.AWS.Region)
	}
}

// BenchmarkRuntimeStart measures runtime start → /healthz 200 against running emulators.
func BenchmarkRuntimeStart(b *testing.B) {
	for b.Loop() {
		rt := newRuntime(b, nil)
		if err := rt.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		if res, err := http.Get(rt.URL() + "/healthz"); err != nil || res.StatusCode != 200 {
			b.Fatalf("healthz: %v %v", res, err)
		}
		rt.Close()
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
