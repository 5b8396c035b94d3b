package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

const (
	statusGoingAway  = websocket.StatusGoingAway
	statusNormal     = websocket.StatusNormalClosure
	writeTimeout     = 10 * time.Second // a client that stops reading is dropped after this
	routeConnect     = "$connect"
	routeDisconnect  = "$disconnect"
	routeDefault     = "$default"
	eventConnect     = "CONNECT"
	eventMessage     = "MESSAGE"
	eventDisconnect  = "DISCONNECT"
	connectBodyLimit = 64 << 10 // of a $connect refusal body we pass on
)

// wsConn is one open WebSocket connection.
type wsConn struct {
	g           *Gateway
	id          string
	ws          *websocket.Conn
	connectedAt time.Time // gateway clock, reported in events and GetConnection
	sourceIP    string
	userAgent   string
	host        string
	// ready is closed once the upgrade finished (ws set) or failed (ws nil).
	// The connection is registered before the 101 goes out, so the
	// management API knows it as soon as the client does, as in AWS.
	ready chan struct{}

	lastActiveAt atomic.Int64 // gateway clock, unix nanos, for GetConnection
	activeMono   atomic.Int64 // wall clock, unix nanos, for the idle timeout
	startMono    time.Time    // wall clock, for the maximum duration
	timerMu      sync.Mutex
	timer        *time.Timer

	writeMu   sync.Mutex // API Gateway delivers one message at a time per connection
	inflight  sync.WaitGroup
	closeOnce sync.Once
	closeCode atomic.Int32 // the code we closed with, when we closed first
	closeMsg  atomic.Value // string
}

func (c *wsConn) touch() {
	c.lastActiveAt.Store(c.g.now().UnixNano())
	c.activeMono.Store(time.Now().UnixNano())
}

// close starts the closing handshake once. The read loop then ends and
// invokes $disconnect.
func (c *wsConn) close(code websocket.StatusCode, reason string) {
	<-c.ready
	if c.ws == nil {
		return
	}
	c.closeOnce.Do(func() {
		c.closeCode.Store(int32(code))
		c.closeMsg.Store(reason)
		_ = c.ws.Close(code, reason)
	})
}

// send writes one message, split into frames of at most MaxFrame bytes as
// API Gateway does. Writes on a connection are serialized.
func (c *wsConn) send(ctx context.Context, typ websocket.MessageType, data []byte) error {
	<-c.ready
	if c.ws == nil {
		return fmt.Errorf("connection %s: upgrade failed", c.id)
	}
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	w, err := c.ws.Writer(ctx, typ)
	if err != nil {
		return fmt.Errorf("connection %s: %w", c.id, err)
	}
	for len(data) > 0 {
		n := min(int64(len(data)), c.g.limits.MaxFrame)
		if _, err := w.Write(data[:n]); err != nil {
			return fmt.Errorf("connection %s: %w", c.id, err)
		}
		data = data[n:]
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("connection %s: %w", c.id, err)
	}
	return nil
}

// watch enforces the idle timeout and the maximum connection duration.
func (c *wsConn) watch() {
	now := time.Now()
	idleAt := time.Unix(0, c.activeMono.Load()).Add(c.g.limits.IdleTimeout)
	endAt := c.startMono.Add(c.g.limits.MaxDuration)
	next := idleAt
	if endAt.Before(next) {
		next = endAt
	}
	if !now.Before(next) {
		c.close(statusGoingAway, "Going away")
		return
	}
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	if c.timer != nil {
		c.timer.Reset(next.Sub(now))
	}
}

// serveWebSocket runs $connect, upgrades, reads messages until either side
// closes, then runs $disconnect.
func (g *Gateway) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket") {
		w.Header().Set("Upgrade", "websocket")
		problem(w, http.StatusUpgradeRequired, "/ws is the WebSocket API: connect with a WebSocket client (ws://HOST/ws?token=...)")
		return
	}
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		problem(w, http.StatusServiceUnavailable, "the gateway is shutting down")
		return
	}
	c := &wsConn{
		g:           g,
		id:          newID(),
		connectedAt: g.now(),
		sourceIP:    sourceIP(r),
		userAgent:   r.UserAgent(),
		host:        r.Host,
		startMono:   time.Now(),
		ready:       make(chan struct{}),
	}
	c.touch()

	var subprotocols []string
	if fn, ok := g.wsRoutes[routeConnect]; ok {
		ev := g.wsEvent(c, routeConnect, eventConnect, newID(), g.now())
		ev.Headers = map[string]string{}
		ev.MultiValueHeaders = map[string][]string{}
		for k, vs := range r.Header {
			ev.Headers[k] = vs[len(vs)-1]
			ev.MultiValueHeaders[k] = vs
		}
		ev.Headers["Host"] = r.Host
		ev.MultiValueHeaders["Host"] = []string{r.Host}
		if q := r.URL.Query(); len(q) > 0 {
			ev.QueryStringParameters = map[string]string{}
			ev.MultiValueQueryStringParameters = map[string][]string(q)
			for k, vs := range q {
				ev.QueryStringParameters[k] = vs[len(vs)-1]
			}
		}
		resp, err := g.invokeWS(r.Context(), fn, ev)
		if err != nil {
			g.log.Error("gateway: $connect failed", "function", fn, "connectionId", c.id, "err", err)
			awsMessage(w, http.StatusInternalServerError, "Internal server error")
			return
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			// The handshake is refused before the upgrade; no route ever runs.
			for k, v := range resp.Headers {
				w.Header().Set(k, v)
			}
			w.WriteHeader(resp.StatusCode)
			body := resp.Body
			if len(body) > connectBodyLimit {
				body = body[:connectBodyLimit]
			}
			_, _ = w.Write([]byte(body))
			return
		}
		if p := resp.Headers["Sec-WebSocket-Protocol"]; p != "" {
			subprotocols = []string{p}
		}
	}

	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		problem(w, http.StatusServiceUnavailable, "the gateway is shutting down")
		g.disconnect(c, statusGoingAway, "Going away")
		return
	}
	g.conns[c.id] = c
	g.wg.Add(1)
	g.mu.Unlock()
	defer g.wg.Done()

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       subprotocols,
		InsecureSkipVerify: true, // API Gateway does not check Origin; the token does the gatekeeping
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		close(c.ready)
		g.mu.Lock()
		delete(g.conns, c.id)
		g.mu.Unlock()
		g.log.Warn("gateway: upgrade failed", "connectionId", c.id, "err", err)
		g.disconnect(c, websocket.StatusAbnormalClosure, "upgrade failed")
		return
	}
	// A message over the quota makes the library close with 1009 (message too big).
	ws.SetReadLimit(g.limits.MaxMessage)
	c.ws = ws
	close(c.ready)

	c.timerMu.Lock()
	c.timer = time.AfterFunc(min(g.limits.IdleTimeout, g.limits.MaxDuration), c.watch)
	c.timerMu.Unlock()
	code, reason := g.readLoop(c)
	c.timerMu.Lock()
	c.timer.Stop()
	c.timer = nil
	c.timerMu.Unlock()

	g.mu.Lock()
	delete(g.conns, c.id)
	g.mu.Unlock()
	c.inflight.Wait()
	g.disconnect(c, code, reason)
}

// readLoop dispatches messages until the connection closes and returns the
// close code and reason to report in $disconnect.
func (g *Gateway) readLoop(c *wsConn) (websocket.StatusCode, string) {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			if code := websocket.StatusCode(c.closeCode.Load()); code != 0 {
				reason, _ := c.closeMsg.Load().(string)
				return code, reason
			}
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			if errors.Is(err, websocket.ErrMessageTooBig) {
				return websocket.StatusMessageTooBig, "Message too big"
			}
			c.close(websocket.StatusAbnormalClosure, "")
			return websocket.StatusAbnormalClosure, "Connection closed abnormally"
		}
		c.touch()
		c.inflight.Add(1)
		// Like API Gateway, messages of one connection are integrated
		// concurrently; the read loop never waits for a route.
		go func() {
			defer c.inflight.Done()
			g.routeMessage(c, typ, data)
		}()
	}
}

// selectRoute implements the route selection expression $request.body.action.
func (g *Gateway) selectRoute(typ websocket.MessageType, data []byte) string {
	if typ != websocket.MessageText {
		return routeDefault
	}
	var body struct {
		Action any `json:"action"`
	}
	if json.Unmarshal(data, &body) != nil {
		return routeDefault
	}
	action, ok := body.Action.(string)
	if !ok || strings.HasPrefix(action, "$") {
		return routeDefault
	}
	if _, ok := g.wsRoutes[action]; ok {
		return action
	}
	return routeDefault
}

func (g *Gateway) routeMessage(c *wsConn, typ websocket.MessageType, data []byte) {
	key := g.selectRoute(typ, data)
	requestID := newID()
	fn, ok := g.wsRoutes[key]
	if !ok {
		// No matching route and no $default: API Gateway answers the client itself.
		g.replyError(c, "Forbidden", requestID)
		return
	}
	ev := g.wsEvent(c, key, eventMessage, requestID, g.now())
	ev.RequestContext.MessageID = newID()
	if typ == websocket.MessageText {
		ev.Body = string(data)
	} else {
		ev.Body = base64.StdEncoding.EncodeToString(data)
		ev.IsBase64Encoded = true
	}
	// The function's return value is not sent back: replies go through the
	// management API, as for a route without a route response.
	if _, err := g.invokeWS(context.Background(), fn, ev); err != nil {
		g.log.Error("gateway: route failed", "route", key, "function", fn, "connectionId", c.id, "err", err)
		g.replyError(c, "Internal server error", requestID)
	}
}

// replyError sends API Gateway's own error message to the client.
func (g *Gateway) replyError(c *wsConn, message, requestID string) {
	b, _ := json.Marshal(map[string]string{"message": message, "connectionId": c.id, "requestId": requestID})
	if err := c.send(context.Background(), websocket.MessageText, b); err != nil {
		g.log.Debug("gateway: reply to client failed", "connectionId", c.id, "err", err)
	}
}

// disconnect invokes $disconnect once for a connection that was accepted by $connect.
func (g *Gateway) disconnect(c *wsConn, code websocket.StatusCode, reason string) {
	fn, ok := g.wsRoutes[routeDisconnect]
	if !ok {
		return
	}
	ev := g.wsEvent(c, routeDisconnect, eventDisconnect, newID(), g.now())
	ev.RequestContext.DisconnectStatusCode = int64(code)
	ev.RequestContext.DisconnectReason = &reason
	if _, err := g.invokeWS(context.Background(), fn, ev); err != nil {
		g.log.Error("gateway: $disconnect failed", "function", fn, "connectionId", c.id, "err", err)
	}
}

// wsEvent builds the common part of a WebSocket event.
func (g *Gateway) wsEvent(c *wsConn, routeKey, eventType, requestID string, now time.Time) events.APIGatewayWebsocketProxyRequest {
	return events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey:          routeKey,
			EventType:         eventType,
			ExtendedRequestID: requestID,
			RequestTime:       now.UTC().Format(clfTime),
			MessageDirection:  "IN",
			Stage:             g.stage,
			ConnectedAt:       c.connectedAt.UnixMilli(),
			RequestTimeEpoch:  now.UnixMilli(),
			Identity: events.APIGatewayRequestIdentity{
				SourceIP:  c.sourceIP,
				UserAgent: c.userAgent,
			},
			RequestID:    requestID,
			DomainName:   c.host,
			ConnectionID: c.id,
			APIID:        wsAPIID,
		},
		IsBase64Encoded: false,
	}
}

// wsResponse is what a WebSocket integration may return; only $connect's
// status and headers matter to the gateway.
type wsResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// invokeWS invokes a WebSocket integration and decodes its response. A
// response without a statusCode (or no response at all) counts as 200.
func (g *Gateway) invokeWS(ctx context.Context, fn string, ev events.APIGatewayWebsocketProxyRequest) (wsResponse, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return wsResponse{}, fmt.Errorf("encode %s event: %w", ev.RequestContext.RouteKey, err)
	}
	out, err := g.invoke(ctx, fn, payload)
	if err != nil {
		return wsResponse{}, err
	}
	resp := wsResponse{StatusCode: http.StatusOK}
	var probe struct {
		StatusCode *int              `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	if json.Unmarshal(out, &probe) == nil && probe.StatusCode != nil {
		resp = wsResponse{StatusCode: *probe.StatusCode, Headers: probe.Headers, Body: probe.Body}
	}
	return resp, nil
}

// headerHasToken reports whether a comma-separated header contains token.
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
