package channel

import (
	"context"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/integration"
)

// SettingsSource reads a workspace's provider settings, secrets opened
// (integration.Store).
type SettingsSource interface {
	Get(ctx context.Context, tenant, name string) (integration.Settings, error)
}

// Settings caches each workspace's provider settings for a short time: a
// send batch reads them once per tenant and provider, not once per
// message. A changed setting is used within TTL.
type Settings struct {
	src SettingsSource
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	items map[string]cachedSettings
}

type cachedSettings struct {
	s   integration.Settings
	err error
	exp time.Time
}

// maxCachedSettings bounds the cache of one instance.
const maxCachedSettings = 10_000

// NewSettings returns a cache over src; ttl 0 means one minute.
func NewSettings(src SettingsSource, ttl time.Duration, now func() time.Time) *Settings {
	if ttl <= 0 {
		ttl = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Settings{src: src, ttl: ttl, now: now, items: map[string]cachedSettings{}}
}

// Get returns the tenant's settings for the provider. A workspace that
// never configured it is a Failed *Error naming the integration; a read
// failure is Retry.
func (s *Settings) Get(ctx context.Context, tenant, provider string) (integration.Settings, error) {
	k := tenant + "/" + provider
	now := s.now()
	s.mu.Lock()
	c, ok := s.items[k]
	s.mu.Unlock()
	if ok && now.Before(c.exp) {
		return c.s, c.err
	}
	st, err := s.src.Get(ctx, tenant, provider)
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		err = Required(provider, "the workspace has no "+provider+" integration (PUT /v1/integrations/"+provider+")")
	case err != nil:
		// Not cached: the next message tries again.
		return integration.Settings{}, &Error{Outcome: Retry, Provider: provider, Message: "could not read the " + provider + " settings", Err: err}
	}
	s.mu.Lock()
	if len(s.items) >= maxCachedSettings {
		clear(s.items)
	}
	s.items[k] = cachedSettings{s: st, err: err, exp: now.Add(s.ttl)}
	s.mu.Unlock()
	return st, err
}
