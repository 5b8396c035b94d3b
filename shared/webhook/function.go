package webhook

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/channel/unsubscribe"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/queue"
)

// NewFunction builds the webhooks function (lambdafn.Constructor).
func NewFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	tbl := d.Table()
	cipher, err := pii.Open(ctx, d.AWS, d.Config.KMSKeyID, tbl)
	if err != nil {
		return nil, err
	}
	settings := integration.NewStore(tbl, cipher, time.Now)
	dir := NewDirectory(settings, time.Minute, time.Now)
	q := sqsQueue{s: queue.New(sqs.NewFromConfig(d.AWS)), url: d.Config.QueueURL(catalog.QueueIngest)}
	h := New(d.Logger, dir, q, d.Config.PublicBaseURL, time.Now)
	h.metrics = d.Metrics
	h.unsub = unsubscribe.New(linkKeys{cipher: cipher, settings: settings}, d.Config.PublicBaseURL)
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return h.Handle(ctx, ev)
	}, nil
}

// linkKeys checks unsubscribe links with the workspace's key, and only for
// a workspace that sends email: the key of a workspace is created on first
// use, and a forged link naming a made-up workspace must not create one.
type linkKeys struct {
	cipher   *pii.Cipher
	settings *integration.Store
}

func (k linkKeys) BlindIndex(ctx context.Context, tenant, kind, value string) (string, error) {
	if _, err := k.settings.Get(ctx, tenant, integration.SendGrid); err != nil {
		return "", err // not found: the link is not valid
	}
	return k.cipher.BlindIndex(ctx, tenant, kind, value)
}

type sqsQueue struct {
	s   *queue.Sender
	url string
}

func (q sqsQueue) Send(ctx context.Context, bodies [][]byte) error {
	if len(bodies) == 1 {
		return q.s.Send(ctx, q.url, bodies[0], nil)
	}
	msgs := make([]queue.Message, len(bodies))
	for i, b := range bodies {
		msgs[i] = queue.Message{Body: b}
	}
	return q.s.SendBatch(ctx, q.url, msgs)
}

// IntegrationDirectory adapts integration.Store to the handler, caching each tenant's
// credentials for ttl: a rotated secret is accepted alongside the previous
// one, so a short staleness never rejects a valid webhook.
type IntegrationDirectory struct {
	s   *integration.Store
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	creds map[string]cachedCreds
	shops map[string]cachedShop
}

type cachedCreds struct {
	c   Credentials
	exp time.Time
}

// NewDirectory returns a Directory over s.
func NewDirectory(s *integration.Store, ttl time.Duration, now func() time.Time) *IntegrationDirectory {
	return &IntegrationDirectory{s: s, ttl: ttl, now: now, creds: map[string]cachedCreds{}, shops: map[string]cachedShop{}}
}

// TenantForShop caches the shop → tenant lookup for ttl: every Shopify
// webhook needs it, and a shop moves between workspaces only by an explicit
// reconnect, after which a minute of stale routing still fails the
// signature check rather than misfiling data.
func (d *IntegrationDirectory) TenantForShop(ctx context.Context, v string) (string, error) {
	d.mu.Lock()
	c, ok := d.shops[v]
	d.mu.Unlock()
	if ok && d.now().Before(c.exp) {
		return c.tenant, nil
	}
	t, err := d.s.TenantForShop(ctx, v)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	if len(d.shops) >= maxCachedShops {
		clear(d.shops) // bound memory; a warm instance refills what it uses
	}
	d.shops[v] = cachedShop{tenant: t, exp: d.now().Add(d.ttl)}
	d.mu.Unlock()
	return t, nil
}

// maxCachedShops bounds the shop cache of one instance.
const maxCachedShops = 10_000

type cachedShop struct {
	tenant string
	exp    time.Time
}

func (d *IntegrationDirectory) TenantForWriteKey(ctx context.Context, v string) (string, error) {
	return d.s.TenantForWriteKey(ctx, v)
}
func (d *IntegrationDirectory) TenantForMeta(ctx context.Context, v string) (string, error) {
	return d.s.TenantForMeta(ctx, v)
}
func (d *IntegrationDirectory) TenantForWhatsApp(ctx context.Context, v string) (string, error) {
	return d.s.TenantForWhatsApp(ctx, v)
}

// TenantForVerifyToken is not cached: handshakes are rare, and a token
// saved a moment ago must be found at once (Meta verifies right after the
// merchant enters the callback).
func (d *IntegrationDirectory) TenantForVerifyToken(ctx context.Context, name, token string) (string, error) {
	return d.s.TenantForVerifyToken(ctx, name, token)
}

// Credentials gathers the tenant's webhook secrets from its integrations.
func (d *IntegrationDirectory) Credentials(ctx context.Context, tenant string) (Credentials, error) {
	d.mu.Lock()
	c, ok := d.creds[tenant]
	d.mu.Unlock()
	if ok && d.now().Before(c.exp) {
		return c.c, nil
	}
	get := func(name string) (integration.Settings, error) {
		s, err := d.s.Get(ctx, tenant, name)
		if apperr.KindOf(err) == apperr.NotFound {
			return integration.Settings{Config: map[string]string{}, Secrets: map[string]string{}}, nil
		}
		return s, err
	}
	var out Credentials
	for _, name := range []string{integration.Shopify, integration.Meta, integration.WhatsApp, integration.Twilio, integration.SendGrid, integration.GTM} {
		s, err := get(name)
		if err != nil {
			return Credentials{}, err
		}
		switch name {
		case integration.Shopify:
			out.ShopifySecrets = nonEmpty(s.Secrets["webhookSecret"], s.Secrets["previousWebhookSecret"])
		case integration.Meta:
			out.MetaAppSecrets = append(out.MetaAppSecrets, nonEmpty(s.Secrets["appSecret"])...)
			out.MetaVerifyToken = s.Secrets["verifyToken"]
		case integration.WhatsApp:
			out.MetaAppSecrets = append(out.MetaAppSecrets, nonEmpty(s.Secrets["appSecret"])...)
			out.WhatsAppVerifyToken = s.Secrets["verifyToken"]
		case integration.Twilio:
			out.TwilioAuthToken = s.Secrets["authToken"]
		case integration.SendGrid:
			out.SendGridPublicKey = s.Config["webhookPublicKey"]
		case integration.GTM:
			out.AllowedOrigins = append(out.AllowedOrigins, strings.FieldsFunc(s.Config["allowedOrigins"], func(r rune) bool { return r == ',' || r == ' ' })...)
		}
	}
	d.mu.Lock()
	d.creds[tenant] = cachedCreds{c: out, exp: d.now().Add(d.ttl)}
	d.mu.Unlock()
	return out, nil
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
