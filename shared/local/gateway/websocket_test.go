package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
)

func wsURL(srvURL string) string { return "ws" + strings.TrimPrefix(srvURL, "http") + "/ws" }

func dial(t testing.TB, srvURL, query string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(srvURL)+query, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func read(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// connectID returns the connection id the $connect event carried.
func connectID(t testing.TB, inv *fakeInvoker) string {
	t.Helper()
	return decodeWS(t, inv.waitFor(t, "conn").payload).RequestContext.ConnectionID
}

func TestConnectEventAndRefusal(t *testing.T) {
	inv := newFakeInvoker()
	inv.handle("conn", func(_ context.Context, p []byte) ([]byte, error) {
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(p, &ev); err != nil {
			return nil, err
		}
		switch ev.QueryStringParameters["token"] {
		case "good":
			return []byte(`{"statusCode":200}`), nil
		case "other-tenant":
			return []byte(`{"statusCode":403,"body":"{\"message\":\"Forbidden\"}"}`), nil
		}
		return []byte(`{"statusCode":401,"body":"{\"message\":\"Unauthorized\"}"}`), nil
	})
	_, srv := startGateway(t, inv, Limits{})

	for _, tt := range []struct {
		query  string
		status int
	}{{"", 401}, {"?token=bad", 401}, {"?token=other-tenant", 403}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, res, err := websocket.Dial(ctx, wsURL(srv.URL)+tt.query, nil)
		cancel()
		if err == nil {
			c.CloseNow()
			t.Fatalf("%q: handshake accepted, want %d", tt.query, tt.status)
		}
		if res == nil || res.StatusCode != tt.status {
			t.Fatalf("%q: got %v %v, want status %d", tt.query, res, err, tt.status)
		}
	}
	for _, fn := range []string{"msg", "chat", "disc"} {
		if n := len(inv.callsTo(fn)); n != 0 {
			t.Errorf("refused handshakes invoked %s %d times", fn, n)
		}
	}

	c := dial(t, srv.URL, "?token=good&x=1&x=2")
	_ = c
	var ev events.APIGatewayWebsocketProxyRequest
	for _, call := range inv.callsTo("conn") {
		ev = decodeWS(t, call.payload)
	}
	rc := ev.RequestContext
	if rc.RouteKey != "$connect" || rc.EventType != "CONNECT" || rc.Stage != "local" || rc.APIID == "" ||
		len(rc.ConnectionID) != 16 || rc.RequestID == "" || rc.ConnectedAt == 0 || rc.RequestTimeEpoch == 0 ||
		rc.Identity.SourceIP != "127.0.0.1" || !strings.HasPrefix(rc.Identity.UserAgent, "Go-http-client") ||
		rc.DomainName == "" || rc.MessageDirection != "IN" {
		t.Errorf("connect requestContext: %+v", rc)
	}
	if ev.Headers["Sec-Websocket-Key"] == "" || ev.Headers["Host"] == "" || ev.QueryStringParameters["x"] != "2" ||
		strings.Join(ev.MultiValueQueryStringParameters["x"], ",") != "1,2" {
		t.Errorf("connect headers/query: %v %v %v", ev.Headers, ev.QueryStringParameters, ev.MultiValueQueryStringParameters)
	}
}

func TestConnectFunctionErrorIs500(t *testing.T) {
	inv := newFakeInvoker()
	inv.handle("conn", func(context.Context, []byte) ([]byte, error) { return nil, errors.New("boom") })
	_, srv := startGateway(t, inv, Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, wsURL(srv.URL), nil)
	if err == nil || res == nil || res.StatusCode != 500 {
		t.Fatalf("got %v %v, want 500", res, err)
	}
}

func TestPlainHTTPOnWSIs426(t *testing.T) {
	_, srv := startGateway(t, newFakeInvoker(), Limits{})
	res, err := http.Get(srv.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUpgradeRequired || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestRouteSelection(t *testing.T) {
	inv := newFakeInvoker()
	_, srv := startGateway(t, inv, Limits{})
	c := dial(t, srv.URL, "")
	id := connectID(t, inv)
	ctx := context.Background()

	tests := []struct {
		typ      websocket.MessageType
		msg      string
		function string
		route    string
	}{
		{websocket.MessageText, `{"action":"chat.send","text":"hi"}`, "chat", "chat.send"},
		{websocket.MessageText, `{"action":"ping"}`, "msg", "$default"},
		{websocket.MessageText, `{"action":"$connect"}`, "msg", "$default"},
		{websocket.MessageText, `{"action":7}`, "msg", "$default"},
		{websocket.MessageText, `not json`, "msg", "$default"},
		{websocket.MessageText, `["chat.send"]`, "msg", "$default"},
		{websocket.MessageBinary, "\x00\x01", "msg", "$default"},
	}
	for _, tt := range tests {
		if err := c.Write(ctx, tt.typ, []byte(tt.msg)); err != nil {
			t.Fatal(err)
		}
		ev := decodeWS(t, inv.waitFor(t, tt.function).payload)
		rc := ev.RequestContext
		if rc.RouteKey != tt.route || rc.EventType != "MESSAGE" || rc.ConnectionID != id || rc.MessageID == nil {
			t.Errorf("%q: requestContext %+v", tt.msg, rc)
		}
		wantBody := tt.msg
		if tt.typ == websocket.MessageBinary {
			wantBody = "AAE="
		}
		if ev.Body != wantBody || ev.IsBase64Encoded != (tt.typ == websocket.MessageBinary) {
			t.Errorf("%q: body %q base64=%v", tt.msg, ev.Body, ev.IsBase64Encoded)
		}
	}
}

func TestRouteErrorAndMissingDefault(t *testing.T) {
	inv := newFakeInvoker()
	inv.handle("chat", func(context.Context, []byte) ([]byte, error) { return nil, errors.New("boom") })
	g, srv := startGateway(t, inv, Limits{})
	delete(g.wsRoutes, "$default")
	c := dial(t, srv.URL, "")
	id := connectID(t, inv)
	ctx := context.Background()

	_ = c.Write(ctx, websocket.MessageText, []byte(`{"action":"chat.send"}`))
	var m map[string]string
	if err := json.Unmarshal([]byte(read(t, c)), &m); err != nil || m["message"] != "Internal server error" || m["connectionId"] != id || m["requestId"] == "" {
		t.Errorf("route error reply: %v %v", m, err)
	}
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"action":"nothing"}`))
	if err := json.Unmarshal([]byte(read(t, c)), &m); err != nil || m["message"] != "Forbidden" {
		t.Errorf("no-route reply: %v %v", m, err)
	}
}

// TestPingPongThroughManagementAPI is the round trip Lambda code makes: the
// $default function answers through the real apigatewaymanagementapi client.
func TestPingPongThroughManagementAPI(t *testing.T) {
	inv := newFakeInvoker()
	var api *apigatewaymanagementapi.Client
	inv.handle("msg", func(ctx context.Context, p []byte) ([]byte, error) {
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(p, &ev); err != nil {
			return nil, err
		}
		var in struct{ Action, RequestID string }
		if err := json.Unmarshal([]byte(ev.Body), &in); err != nil || in.Action != "ping" {
			return nil, errors.New("not a ping")
		}
		_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(ev.RequestContext.ConnectionID),
			Data:         []byte(`{"type":"pong","requestId":"` + in.RequestID + `"}`),
		})
		return []byte(`{"statusCode":200}`), err
	})
	_, srv := startGateway(t, inv, Limits{})
	api = mgmtClient(srv.URL)
	c := dial(t, srv.URL, "")
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"action":"ping","requestId":"r1"}`)); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got != `{"type":"pong","requestId":"r1"}` {
		t.Errorf("got %s", got)
	}
}

func TestManagementAPI(t *testing.T) {
	inv := newFakeInvoker()
	g, srv := startGateway(t, inv, Limits{MaxMessage: 1024})
	api := mgmtClient(srv.URL)
	ctx := context.Background()
	c := dial(t, srv.URL, "")
	id := connectID(t, inv)

	got, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if got.ConnectedAt == nil || got.LastActiveAt == nil || got.Identity == nil || aws.ToString(got.Identity.SourceIp) != "127.0.0.1" ||
		!strings.HasPrefix(aws.ToString(got.Identity.UserAgent), "Go-http-client") || time.Since(*got.ConnectedAt) > time.Minute {
		t.Errorf("GetConnection = %+v", got)
	}

	_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: make([]byte, 1025)})
	var tooLarge *types.PayloadTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Errorf("oversized post: %v, want PayloadTooLargeException", err)
	}
	// A message larger than a frame arrives whole.
	big := strings.Repeat("y", 1000)
	g.limits.MaxFrame = 100
	if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(big)}); err != nil {
		t.Fatal(err)
	}
	if m := read(t, c); m != big {
		t.Errorf("split message arrived as %d bytes", len(m))
	}

	if _, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after DeleteConnection the client read %v, want close 1000", err)
	}
	disc := decodeWS(t, inv.waitFor(t, "disc").payload)
	if disc.RequestContext.EventType != "DISCONNECT" || disc.RequestContext.ConnectionID != id || disc.RequestContext.RouteKey != "$disconnect" {
		t.Errorf("disconnect event %+v", disc.RequestContext)
	}

	var gone *types.GoneException
	_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")})
	if !errors.As(err, &gone) {
		t.Errorf("post after close: %v, want GoneException", err)
	}
	_, err = api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if !errors.As(err, &gone) {
		t.Errorf("get after close: %v, want GoneException", err)
	}
	_, err = api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String("bm90LWEtY29ubg=")})
	if !errors.As(err, &gone) {
		t.Errorf("delete unknown: %v, want GoneException", err)
	}
	if n := len(inv.callsTo("disc")); n != 1 {
		t.Errorf("$disconnect invoked %d times, want 1", n)
	}
}

func TestMessageTooBigCloses1009(t *testing.T) {
	inv := newFakeInvoker()
	_, srv := startGateway(t, inv, Limits{})
	c := dial(t, srv.URL, "")
	id := connectID(t, inv)
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("a", 128<<10))); err != nil {
		t.Fatal(err) // exactly 128 KB is allowed
	}
	inv.waitFor(t, "msg")
	_ = c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("a", 129<<10)))
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("read after 129 KB message: %v, want close 1009", err)
	}
	disc := decodeWS(t, inv.waitFor(t, "disc").payload)
	if disc.RequestContext.ConnectionID != id || disc.RequestContext.DisconnectStatusCode != 1009 {
		t.Errorf("disconnect %+v", disc.RequestContext)
	}
	if n := len(inv.callsTo("msg")); n != 1 {
		t.Errorf("the oversized message reached a route (%d route calls)", n)
	}
}

func TestIdleTimeoutCloses1001(t *testing.T) {
	inv := newFakeInvoker()
	_, srv := startGateway(t, inv, Limits{IdleTimeout: 150 * time.Millisecond})
	c := dial(t, srv.URL, "")
	ctx := context.Background()
	// Activity keeps it open past the idle timeout...
	for range 4 {
		time.Sleep(60 * time.Millisecond)
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"action":"x"}`)); err != nil {
			t.Fatalf("connection closed while active: %v", err)
		}
	}
	// ...silence closes it.
	start := time.Now()
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("read: %v, want close 1001", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("idle close took %s", time.Since(start))
	}
	inv.waitFor(t, "disc")
}

func TestMaxDurationCloses1001(t *testing.T) {
	inv := newFakeInvoker()
	_, srv := startGateway(t, inv, Limits{MaxDuration: 200 * time.Millisecond})
	c := dial(t, srv.URL, "")
	ctx := context.Background()
	go func() {
		for range 10 {
			time.Sleep(30 * time.Millisecond)
			_ = c.Write(ctx, websocket.MessageText, []byte(`{}`))
		}
	}()
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("read: %v, want close 1001", err)
	}
}

func TestClientCloseAndGatewayClose(t *testing.T) {
	inv := newFakeInvoker()
	g, srv := startGateway(t, inv, Limits{})
	c1 := dial(t, srv.URL, "")
	id1 := connectID(t, inv)
	c1.Close(websocket.StatusNormalClosure, "bye")
	disc := decodeWS(t, inv.waitFor(t, "disc").payload)
	if disc.RequestContext.ConnectionID != id1 || disc.RequestContext.DisconnectStatusCode != 1000 {
		t.Errorf("client close: %+v", disc.RequestContext)
	}

	for range 3 {
		c := dial(t, srv.URL, "")
		connectID(t, inv)
		go c.Read(context.Background()) // a reading client answers the close handshake
	}
	if n := g.Connections(); n != 3 {
		t.Fatalf("Connections() = %d, want 3", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(inv.callsTo("disc")); n != 4 {
		t.Errorf("$disconnect invoked %d times, want 4 (once per connection)", n)
	}
	if n := g.Connections(); n != 0 {
		t.Errorf("Connections() = %d after Close", n)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if _, res, err := websocket.Dial(ctx2, wsURL(srv.URL), nil); err == nil || res == nil || res.StatusCode != 503 {
		t.Errorf("dial after Close: %v %v, want 503", res, err)
	}
}

func TestManagementBadPath(t *testing.T) {
	_, srv := startGateway(t, newFakeInvoker(), Limits{})
	for _, p := range []string{"/ws/@connections/", "/ws/@connections/a/b"} {
		res, err := http.Post(srv.URL+p, "application/json", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 || res.Header.Get("X-Amzn-Errortype") != "BadRequestException" {
			t.Errorf("%s: %d %v", p, res.StatusCode, res.Header)
		}
	}
}
