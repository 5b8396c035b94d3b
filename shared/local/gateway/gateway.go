package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Invoker runs one function with a raw JSON event, exactly as Lambda would
// (the runtime implements it via lambda.NewHandler(h).Invoke with a
// lambdacontext, the catalog timeout and concurrency).
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Options configure a Gateway.
type Options struct {
	Logger *slog.Logger
	// Stage is the WebSocket stage name put in events ("local" when empty).
	// HTTP events always carry "$default", the HTTP API's auto-deployed stage.
	Stage  string
	Limits Limits           // zero fields take API Gateway's real limits
	Now    func() time.Time // clock; time.Now when nil
}

// Limits are the API Gateway quotas the gateway enforces. Tests shrink them.
type Limits struct {
	MaxPayload         int64         // HTTP API request body (10 MB)
	IntegrationTimeout time.Duration // HTTP and WebSocket integrations (29 s)
	MaxMessage         int64         // WebSocket message payload (128 KB)
	MaxFrame           int64         // WebSocket frame size (32 KB); larger outgoing messages are split
	IdleTimeout        time.Duration // WebSocket idle connection timeout (10 min)
	MaxDuration        time.Duration // WebSocket connection duration (2 h)
}

// DefaultLimits are API Gateway's documented quotas.
func DefaultLimits() Limits {
	return Limits{
		MaxPayload:         10 << 20,
		IntegrationTimeout: 29 * time.Second,
		MaxMessage:         128 << 10,
		MaxFrame:           32 << 10,
		IdleTimeout:        10 * time.Minute,
		MaxDuration:        2 * time.Hour,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxPayload > 0 {
		d.MaxPayload = l.MaxPayload
	}
	if l.IntegrationTimeout > 0 {
		d.IntegrationTimeout = l.IntegrationTimeout
	}
	if l.MaxMessage > 0 {
		d.MaxMessage = l.MaxMessage
	}
	if l.MaxFrame > 0 {
		d.MaxFrame = l.MaxFrame
	}
	if l.IdleTimeout > 0 {
		d.IdleTimeout = l.IdleTimeout
	}
	if l.MaxDuration > 0 {
		d.MaxDuration = l.MaxDuration
	}
	return d
}

// Identifiers put in events where AWS puts the account and API ids.
const (
	accountID = "000000000000"
	httpAPIID = "pulsehubhttp"
	wsAPIID   = "pulsehubws"
	wsPath    = "/ws"
	mgmtPath  = "/ws/@connections/"
)

// Gateway serves the HTTP API, the WebSocket API and its management API.
type Gateway struct {
	log      *slog.Logger
	inv      Invoker
	stage    string
	limits   Limits
	now      func() time.Time
	routes   []route
	wsRoutes map[string]string // route key → function

	mu     sync.Mutex
	conns  map[string]*wsConn
	closed bool
	wg     sync.WaitGroup // one per live WebSocket handler, until $disconnect returns
}

// New builds a gateway over the catalog's deployable functions.
func New(c catalog.Catalog, inv Invoker, opts Options) *Gateway {
	g := &Gateway{
		log:      opts.Logger,
		inv:      inv,
		stage:    opts.Stage,
		limits:   opts.Limits.withDefaults(),
		now:      opts.Now,
		wsRoutes: map[string]string{},
		conns:    map[string]*wsConn{},
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.stage == "" {
		g.stage = "local"
	}
	if g.now == nil {
		g.now = time.Now
	}
	for _, f := range c.Deployable() {
		for _, r := range f.HTTP {
			g.routes = append(g.routes, newRoute(r, f.Name))
		}
		for _, key := range f.WebSocket {
			g.wsRoutes[key] = f.Name
		}
	}
	return g
}

// ServeHTTP serves /ws (WebSocket upgrade), /ws/@connections/{connectionId}
// (management API) and every catalog HTTP route; anything else is a 404
// problem+json.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == wsPath:
		g.serveWebSocket(w, r)
	case strings.HasPrefix(r.URL.Path, mgmtPath):
		g.serveManagement(w, r)
	default:
		g.serveHTTPAPI(w, r)
	}
}

// Connections is the number of open WebSocket connections.
func (g *Gateway) Connections() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Close closes every WebSocket with 1001 (going away), invokes $disconnect
// for each and waits for those invocations, or for ctx. New upgrades are
// refused from then on.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	conns := make([]*wsConn, 0, len(g.conns))
	for _, c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		go c.close(statusGoingAway, "Going away")
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gateway: close: %d connections still closing: %w", g.Connections(), ctx.Err())
	}
}

// invoke runs function with payload under the integration timeout. It
// returns when the timeout passes even if the function does not, as API
// Gateway does; the function keeps running in the background.
func (g *Gateway) invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, g.limits.IntegrationTimeout)
	defer cancel()
	type result struct {
		out []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		out, err := g.inv.Invoke(ctx, function, payload)
		ch <- result{out, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("invoke %s: %w (%w)", function, errIntegrationTimeout, res.err)
		}
		return res.out, res.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("invoke %s: %w", function, errIntegrationTimeout)
		}
		return nil, fmt.Errorf("invoke %s: %w", function, ctx.Err())
	}
}

var errIntegrationTimeout = errors.New("integration timed out")

// newID returns an identifier shaped like API Gateway's connection and
// request ids: 11 random bytes in standard base64, e.g. "L0SM9cOFvHcCIhw=".
func newID() string {
	var b [11]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(b[:])
}

// sourceIP is the client address without its port.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clfTime is the request time format API Gateway puts in events.
const clfTime = "02/Jan/2006:15:04:05 -0700"

// problem writes an application/problem+json error (the contract's error shape).
func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":   "about:blank",
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
	})
}

// awsMessage writes API Gateway's own error body, {"message": "..."}.
func awsMessage(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}
