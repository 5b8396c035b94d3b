package realtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"

	"github.com/pulsehub/pulsehub/shared/api/apitest"
	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/config"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/local/gateway"
	"github.com/pulsehub/pulsehub/shared/realtime"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

type env struct {
	deps  lambdafn.Deps
	db    *dynamodb.Client
	conns *wsapi.ConnectionStore
}

func newEnv(t *testing.T, wsEndpoint string) env {
	t.Helper()
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "realtime")
	if err := store.Provision(context.Background(), db, catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	secret := []byte("test-cursor")
	return env{
		deps: lambdafn.Deps{
			Config: config.Config{TableName: name, WSEndpoint: wsEndpoint, CursorSecret: secret, LogFormat: "text"},
			AWS:    testenv.AWSConfig(t),
			Logger: slog.New(slog.DiscardHandler),
		},
		db:    db,
		conns: wsapi.NewConnectionStore(store.New(db, name, secret)),
	}
}

// invoke runs a constructor's handler on a sample event through the
// production decode path.
func invoke(t *testing.T, build lambdafn.Constructor, d lambdafn.Deps, event []byte) events.APIGatewayProxyResponse {
	t.Helper()
	h, err := build(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(h).Invoke(context.Background(), event)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const sampleConnID = "Jp9QxFYJoAMCJ4Q="

func TestConnectAndDisconnectSampleEvents(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if resp := invoke(t, anyTokenConnect, e.deps, sample(t, "connect.json")); resp.StatusCode != 200 {
		t.Fatalf("connect: %+v", resp)
	}
	got, err := e.conns.Get(ctx, sampleConnID)
	// The sample connected in 2025, so its record has expired: read the raw item.
	if apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("expired sample connection: %+v %v", got, err)
	}
	raw, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(e.deps.Config.TableName),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "CONN#" + sampleConnID},
			"SK": &types.AttributeValueMemberS{Value: "CONN"},
		},
	})
	if err != nil || raw.Item == nil {
		t.Fatalf("raw item: %v", err)
	}
	if ttl := raw.Item["ttl"].(*types.AttributeValueMemberN).Value; ttl != fmt.Sprint(1741806238+7200) {
		t.Errorf("ttl = %s, want connectedAt + 2 h", ttl)
	}
	if _, ok := raw.Item["GSI1PK"]; ok {
		t.Error("an anonymous connection was put in a tenant's index")
	}
	if resp := invoke(t, realtime.NewDisconnectFunction, e.deps, sample(t, "disconnect.json")); resp.StatusCode != 200 {
		t.Fatalf("disconnect: %+v", resp)
	}
	raw, err = e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.deps.Config.TableName),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "CONN#" + sampleConnID},
			"SK": &types.AttributeValueMemberS{Value: "CONN"},
		}})
	if err != nil || raw.Item != nil {
		t.Errorf("record after disconnect: %v %v", raw.Item, err)
	}
}

type fakeVerifier map[string]realtime.Principal

func (v fakeVerifier) Verify(_ context.Context, token string) (realtime.Principal, error) {
	switch token {
	case "forbidden":
		return realtime.Principal{}, apperr.E(apperr.Forbidden, "workspace suspended")
	case "broken":
		return realtime.Principal{}, errors.New("key store unreachable")
	}
	p, ok := v[token]
	if !ok {
		return realtime.Principal{}, apperr.E(apperr.Unauthorized, "invalid access token")
	}
	return p, nil
}

func TestConnectWithVerifier(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	v := fakeVerifier{"good": {TenantID: "t1", UserID: "u1", Role: "owner"}}
	h := realtime.NewConnectHandler(e.conns, v, e.deps.Logger)
	now := time.Now()
	tests := []struct {
		token   string
		status  int
		message string
		wantErr bool
	}{
		{"", 401, "missing access token", false},
		{"nope", 401, "invalid access token", false},
		{"forbidden", 403, "workspace suspended", false},
		{"broken", 0, "", true},
		{"good", 200, "", false},
	}
	for i, tt := range tests {
		ev := events.APIGatewayWebsocketProxyRequest{RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			ConnectionID: fmt.Sprintf("conn-%d", i), ConnectedAt: now.UnixMilli(), RouteKey: "$connect", EventType: "CONNECT",
		}}
		if tt.token != "" {
			ev.QueryStringParameters = map[string]string{"token": tt.token}
		}
		resp, err := h.Handle(ctx, ev)
		if tt.wantErr {
			if err == nil {
				t.Errorf("%q: want an error", tt.token)
			}
			continue
		}
		if err != nil || resp.StatusCode != tt.status || !strings.Contains(resp.Body, tt.message) {
			t.Errorf("%q: got %+v %v, want %d %q", tt.token, resp, err, tt.status, tt.message)
		}
		_, gerr := e.conns.Get(ctx, ev.RequestContext.ConnectionID)
		if stored := gerr == nil; stored != (tt.status == 200) {
			t.Errorf("%q: stored=%v", tt.token, stored)
		}
	}
	list, err := e.conns.ListByTenant(ctx, "t1")
	if err != nil || len(list) != 1 || list[0].UserID != "u1" || list[0].Role != "owner" {
		t.Errorf("ListByTenant = %+v %v", list, err)
	}
}

// handlerInvoker is what the local runtime does: each function's handler
// behind lambda.NewHandler(h).Invoke. Invocations of one handler are
// serialized and the output copied before the next one: aws-lambda-go
// v1.55.1 returns a slice of a pooled buffer that the handler's next
// invocation overwrites (aws/aws-lambda-go#639).
type handlerInvoker struct {
	mu       sync.Mutex
	handlers map[string]lambda.Handler
}

func (i *handlerInvoker) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	h := i.handlers[fn]
	if h == nil {
		return nil, fmt.Errorf("no handler for %s", fn)
	}
	out, err := h.Invoke(ctx, payload)
	return bytes.Clone(out), err
}

// TestRealtimeThroughTheGateway runs the three functions behind the local
// gateway, against DynamoDB Local, with a real WebSocket client.
func TestRealtimeThroughTheGateway(t *testing.T) {
	ctx := context.Background()
	inv := &handlerInvoker{handlers: map[string]lambda.Handler{}}
	g := gateway.New(catalog.System(), inv, gateway.Options{})
	srv := httptest.NewServer(g)
	defer srv.Close()
	defer g.Close(ctx)

	e := newEnv(t, srv.URL+"/ws")
	for name, build := range map[string]lambdafn.Constructor{
		"ws-connect": anyTokenConnect, "ws-disconnect": realtime.NewDisconnectFunction, "ws-message": pingOnly,
	} {
		h, err := build(ctx, e.deps)
		if err != nil {
			t.Fatal(err)
		}
		inv.handlers[name] = lambda.NewHandler(h)
	}

	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?token=any", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	frames := apitest.Frames(t)
	exchange := func(msg string) map[string]any {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.Write(rctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, b, err := c.Read(rctx)
		if err != nil {
			t.Fatalf("%s: read: %v", msg, err)
		}
		frames.CheckExchange(t, []byte(msg), b) // docs/api/websocket.schema.json
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		send string
		want map[string]any
	}{
		{`{"action":"ping","requestId":"r1"}`, map[string]any{"type": "pong", "requestId": "r1"}},
		{`{"action":"ping"}`, map[string]any{"type": "pong"}},
		{`{"action":"dance","requestId":"r2"}`, map[string]any{"type": "error", "requestId": "r2", "error": `unknown action "dance"; known actions: ping`}},
		{`{"requestId":"r3"}`, map[string]any{"type": "error", "requestId": "r3", "error": `message has no "action": send {"action":"ping"}`}},
		{`{"action":`, map[string]any{"type": "error", "error": "message is not valid JSON"}},
		{`hello`, map[string]any{"type": "error", "error": `message is not a JSON object: send {"action":"..."}`}},
		{`{"action":"ping","requestId":"r4"}`, map[string]any{"type": "pong", "requestId": "r4"}}, // still open
	}
	for _, tt := range tests {
		got := exchange(tt.send)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s → %v, want %v", tt.send, got, tt.want)
		}
	}

	// The connection record exists while connected and goes on close.
	if g.Connections() != 1 {
		t.Fatalf("gateway has %d connections", g.Connections())
	}
	c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for g.Connections() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := g.Close(ctx); err != nil { // waits for $disconnect
		t.Fatal(err)
	}
	out, err := e.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(e.deps.Config.TableName)})
	if err != nil || len(out.Items) != 0 {
		t.Errorf("records left after disconnect: %v %v", out.Items, err)
	}
}

// pingOnly is ws-message with realtime's own action table (ping); the
// copilot's actions are tested in shared/chat and end to end.
func pingOnly(_ context.Context, d lambdafn.Deps) (any, error) {
	client, err := wsapi.NewClient(d.AWS, d.Config.WSEndpoint)
	if err != nil {
		return nil, err
	}
	return realtime.NewMessageHandler(newConnStore(d), client, d.Logger, nil).Handle, nil
}

type recordingSender struct {
	sent []any
	err  error
}

func (s *recordingSender) Send(_ context.Context, _ string, msg any) error {
	s.sent = append(s.sent, msg)
	return s.err
}

func TestMessageToGoneConnectionDropsRecord(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	if err := e.conns.Put(ctx, wsapi.Connection{ID: sampleConnID, ConnectedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sender := &recordingSender{err: fmt.Errorf("wsapi.Send: %w", wsapi.ErrGone)}
	h := realtime.NewMessageHandler(e.conns, sender, e.deps.Logger, nil)
	out, err := lambda.NewHandler(h.Handle).Invoke(ctx, sample(t, "message-ping.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) == "" || len(sender.sent) != 1 || fmt.Sprint(jsonOf(t, sender.sent[0])) != `{"type":"pong","requestId":"r-1"}` {
		t.Errorf("sent %v, out %s", sender.sent, out)
	}
	if _, err := e.conns.Get(ctx, sampleConnID); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("record of a gone connection kept: %v", err)
	}

	sender.err = errors.New("network down")
	if _, err := h.Handle(ctx, events.APIGatewayWebsocketProxyRequest{Body: `{"action":"ping"}`,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{ConnectionID: "x"}}); err == nil {
		t.Error("a failed reply was not reported")
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var _ http.Handler = (*gateway.Gateway)(nil)
