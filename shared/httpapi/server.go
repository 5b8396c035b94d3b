package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/logging"
)

// HandlerFunc serves an authenticated, authorised request. A returned error
// is rendered as problem+json from its apperr kind.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// Verifier turns a bearer token into a verified principal.
type Verifier interface {
	Verify(ctx context.Context, token string) (auth.Principal, error)
}

// Limiter enforces API rate limits for a principal; a limited call returns
// an apperr.RateLimited error carrying RetryAfter.
type Limiter interface {
	Limit(ctx context.Context, p auth.Principal) error
}

// DefaultMaxBody is the request body limit unless Options says otherwise.
const DefaultMaxBody = 1 << 20

// Options configure a Server. Verifier is required for Handle; Limiter is
// optional (no limits).
type Options struct {
	Logger   *slog.Logger
	Verifier Verifier
	Limiter  Limiter
	MaxBody  int64
}

// Route is one registered route, for the RBAC and tenant-walk tests and the
// OpenAPI check.
type Route struct {
	Method, Path string
	Permission   auth.Permission // "" for public routes
}

// Server is the API's http.Handler.
type Server struct {
	mux    *http.ServeMux
	opts   Options
	routes []Route
}

// NewServer returns an empty Server.
func NewServer(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	return &Server{mux: http.NewServeMux(), opts: o}
}

// Routes lists the registered routes in registration order.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

func (s *Server) register(pattern string, perm auth.Permission) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		panic(fmt.Sprintf("httpapi: pattern %q must be \"METHOD /path\"", pattern))
	}
	s.routes = append(s.routes, Route{Method: method, Path: path, Permission: perm})
}

// Handle registers an authenticated route needing perm. The caller's token
// is verified, its rate limits applied and perm checked against the role
// matrix before h runs.
func (s *Server) Handle(pattern string, perm auth.Permission, h HandlerFunc) {
	if perm == "" {
		panic("httpapi: Handle " + pattern + " needs a permission (use auth.Authenticated for any signed-in user)")
	}
	if s.opts.Verifier == nil {
		panic("httpapi: Handle " + pattern + " on a server without a Verifier")
	}
	s.register(pattern, perm)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pulsehub"`)
			WriteProblem(w, r, err)
			return
		}
		r = r.WithContext(logging.With(r.Context(), logging.Tenant(p.TenantID), slog.String(logging.KeyUser, p.UserID)))
		if s.opts.Limiter != nil {
			if err := s.opts.Limiter.Limit(r.Context(), p); err != nil {
				WriteProblem(w, r, err)
				return
			}
		}
		if !auth.Allowed(p.Role, perm) {
			WriteProblem(w, r, apperr.E(apperr.Forbidden, "your role (%s) does not allow this (%s)", p.Role, perm))
			return
		}
		if err := h(w, r, p); err != nil {
			WriteProblem(w, r, err)
		}
	})
}

// HandlePublic registers a route that needs no token (signup, login…).
func (s *Server) HandlePublic(pattern string, h http.HandlerFunc) {
	s.register(pattern, "")
	s.mux.HandleFunc(pattern, h)
}

func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return auth.Principal{}, apperr.E(apperr.Unauthorized, "missing Authorization: Bearer <accessToken>")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return auth.Principal{}, apperr.E(apperr.Unauthorized, "Authorization must be \"Bearer <accessToken>\"")
	}
	p, err := s.opts.Verifier.Verify(r.Context(), strings.TrimSpace(token))
	if err != nil {
		if k := apperr.KindOf(err); k == apperr.Transient || k == apperr.Internal {
			return auth.Principal{}, err
		}
		return auth.Principal{}, apperr.Wrap(apperr.Unauthorized, err, "access token is invalid or expired")
	}
	return p, nil
}

type ctxKey int

const loggerKey ctxKey = 0

// ServeHTTP adds the request id, size limit, panic recovery and access log
// around the mux, and renders unknown routes as problem+json.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID(r)
	ctx := logging.With(r.Context(), logging.RequestID(id))
	ctx = context.WithValue(ctx, loggerKey, s.opts.Logger)
	r = r.WithContext(ctx)
	h := w.Header()
	h.Set("X-Request-Id", id)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.ContentLength > s.opts.MaxBody {
		WriteProblem(w, r, apperr.E(apperr.TooLarge, "request body of %d bytes exceeds the limit of %d", r.ContentLength, s.opts.MaxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBody)
	rec := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			s.opts.Logger.ErrorContext(ctx, "panic", "panic", v, "stack", string(debug.Stack()))
			if rec.status == 0 {
				WriteProblem(rec, r, fmt.Errorf("panic: %v", v))
			}
		}
		s.opts.Logger.InfoContext(r.Context(), "request", "method", r.Method, "route", r.Pattern, "status", rec.status, "ms", time.Since(start).Milliseconds())
	}()
	handler, pattern := s.mux.Handler(r)
	if pattern == "" {
		// Not found or method not allowed: let the mux decide which, then
		// answer in problem+json (keeping its Allow header).
		probe := &statusWriter{ResponseWriter: discard{h}}
		handler.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			WriteProblem(rec, r, &apperr.Error{Kind: apperr.Invalid, Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)}, http.StatusMethodNotAllowed)
			return
		}
		WriteProblem(rec, r, apperr.E(apperr.NotFound, "no route %s %s", r.Method, r.URL.Path))
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// ClientIP is the caller's address as API Gateway saw it (never a
// client-supplied X-Forwarded-For, which anyone can forge).
func ClientIP(r *http.Request) string {
	if gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && gw.HTTP.SourceIP != "" {
		return gw.HTTP.SourceIP
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// requestID is API Gateway's request id when present, else a well-formed
// X-Request-Id from the caller, else a fresh one.
func requestID(r *http.Request) string {
	if gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && gw.RequestID != "" {
		return gw.RequestID
	}
	if v := r.Header.Get("X-Request-Id"); v != "" && len(v) <= 64 && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.=") == "" {
		return v
	}
	return rand.Text()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// discard is a ResponseWriter that keeps headers and drops everything else.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
