package api

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/auth"
	"github.com/pulsehub/pulsehub/shared/bus"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/chatfn"
	"github.com/pulsehub/pulsehub/shared/copilot"
	"github.com/pulsehub/pulsehub/shared/gdpr"
	"github.com/pulsehub/pulsehub/shared/httpapi"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Services are the shared building blocks every domain's routes may use.
type Services struct {
	Deps         lambdafn.Deps
	Table        *store.Table
	Cipher       *pii.Cipher
	Auth         *auth.Service
	Audit        *audit.Log
	Integrations *integration.Store
	GDPR         *gdpr.Service
	Bus          Publisher
	Limiter      *ratelimit.Limiter
	Content      Suggester // content suggestions (the copilot)
	Logger       *slog.Logger
	Now          func() time.Time
}

// Options tune NewServices; the zero value is production.
type Options struct {
	Argon2      auth.Argon2Params // zero: auth.DefaultArgon2()
	TenantLimit ratelimit.Rule    // zero: DefaultTenantLimit()
	TokenLimit  ratelimit.Rule    // zero: DefaultTokenLimit()
	Now         func() time.Time
	Bus         Publisher // nil: EventBridge (EVENT_BUS_NAME) through d.AWS
}

// Publisher publishes domain events (shared/bus).
type Publisher interface {
	Publish(ctx context.Context, events ...bus.Event) error
}

// DefaultTenantLimit is the API rate limit per tenant (docs/security.md).
func DefaultTenantLimit() ratelimit.Rule { return ratelimit.Rule{Rate: 100, Burst: 200} }

// DefaultTokenLimit is the API rate limit per access token (docs/security.md).
func DefaultTokenLimit() ratelimit.Rule { return ratelimit.Rule{Rate: 20, Burst: 40} }

// NewServices builds the shared services from a function's dependencies.
// AWS clients come from d.AWS, so endpoints follow AWS_ENDPOINT_URL_*.
func NewServices(ctx context.Context, d lambdafn.Deps, o Options) (*Services, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Argon2 == (auth.Argon2Params{}) {
		o.Argon2 = auth.DefaultArgon2()
	}
	cfg := d.Config
	table := d.Table()
	cipher, err := pii.Open(ctx, d.AWS, d.Config.KMSKeyID, table)
	if err != nil {
		return nil, err
	}
	tokens, err := auth.OpenTokens(ctx, d.AWS, cfg.JWTSecretID, o.Now)
	if err != nil {
		return nil, err
	}
	auditLog := audit.New(table, o.Now, d.Logger)
	limiter := ratelimit.New(table, o.Now)
	svc := auth.NewService(table, cipher, auth.NewHasher(o.Argon2), tokens, limiter, auditLog, o.Now)
	if o.Bus == nil {
		o.Bus = bus.New(eventbridge.NewFromConfig(d.AWS), cfg.BusName, catalog.System().Bus.Source)
	}
	content := &lazyCopilot{build: func(ctx context.Context) (*copilot.Copilot, error) {
		c, _, err := chatfn.Copilot(ctx, d, table, profile.NewStore(table, cipher, o.Now), copilot.Options{Now: o.Now})
		return c, err
	}}
	return &Services{Bus: o.Bus, Content: content,
		Deps: d, Table: table, Cipher: cipher, Auth: svc, Audit: auditLog,
		Integrations: integration.NewStore(table, cipher, o.Now), GDPR: gdpr.New(table, cipher, auditLog, o.Now), Limiter: limiter, Logger: d.Logger, Now: o.Now,
	}, nil
}

// NewServer mounts every route of the API on one handler.
func NewServer(s *Services, o Options) *httpapi.Server {
	limits := apiLimits{l: s.Limiter, tenant: o.TenantLimit, token: o.TokenLimit}
	if limits.tenant == (ratelimit.Rule{}) {
		limits.tenant = DefaultTenantLimit()
	}
	if limits.token == (ratelimit.Rule{}) {
		limits.token = DefaultTokenLimit()
	}
	srv := httpapi.NewServer(httpapi.Options{Logger: s.Logger, Verifier: s.Auth, Limiter: limits})
	Routes(srv, s)
	return srv
}

// Routes registers each domain's routes: one line per domain.
func Routes(srv *httpapi.Server, s *Services) {
	profiles := profile.NewStore(s.Table, s.Cipher, s.Now)
	registerIdentity(srv, s.Auth)
	registerAudit(srv, s.Audit)
	registerIntegrations(srv, s.Integrations, s.Audit, s.integrationConnected)
	registerGDPR(srv, s.GDPR)
	registerComplianceRequests(srv, profiles)
	registerCustomers(srv, profiles, profile.NewLister(profiles), s.Audit)
	registerContent(srv, s.Content)
}

// integrationConnected publishes integration.connected, so the sync
// function starts the Shopify backfill, Meta forwarding or GTM checks.
func (s *Services) integrationConnected(ctx context.Context, tenant, name string) error {
	now := s.Now().UTC()
	return s.Bus.Publish(ctx, bus.Event{
		Tenant: tenant, DetailType: catalog.EventIntegrationConnected, Time: now,
		ID:     name + "@" + now.Format(time.RFC3339Nano),
		Detail: map[string]string{"integration": name},
	})
}

// NewFunction is the api function's lambdafn.Constructor: an API Gateway
// HTTP API v2 handler around the server.
func NewFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	return NewFunctionWith(Options{})(ctx, d)
}

// NewFunctionWith is NewFunction with tuned options (tests, benchmarks).
func NewFunctionWith(o Options) lambdafn.Constructor {
	return func(ctx context.Context, d lambdafn.Deps) (any, error) {
		s, err := NewServices(ctx, d, o)
		if err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		return httpadapter.NewV2(NewServer(s, o)).ProxyWithContext, nil
	}
}

// apiLimits applies the per-tenant and per-token buckets concurrently; it
// implements httpapi.Limiter.
type apiLimits struct {
	l             *ratelimit.Limiter
	tenant, token ratelimit.Rule
}

func (a apiLimits) Limit(ctx context.Context, p auth.Principal) error {
	var wg sync.WaitGroup
	var waitTenant time.Duration
	var errTenant error
	wg.Add(1)
	go func() {
		defer wg.Done()
		waitTenant, errTenant = a.l.Take(ctx, "tenant", p.TenantID, a.tenant)
	}()
	waitToken, errToken := a.l.Take(ctx, "token", p.TokenID, a.token)
	wg.Wait()
	if errTenant != nil {
		return errTenant
	}
	if errToken != nil {
		return errToken
	}
	if wait := max(waitTenant, waitToken); wait > 0 {
		return &apperr.Error{Kind: apperr.RateLimited, Message: "rate limit exceeded; retry later", RetryAfter: wait}
	}
	return nil
}
