// Package config loads a function's configuration from the environment. It is
// the only package that reads environment variables; everything else receives
// a Config (or the fields it needs) through its constructor.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Config holds every setting a PulseHub function may read. Each function
// needs the subset its catalog entry lists in Env; Load checks exactly those.
type Config struct {
	Function   string // catalog name of the running function
	TableName  string
	BusName    string
	QueueURLs  map[string]string // logical queue name (or its DLQ name) → URL
	WSEndpoint string            // API Gateway management endpoint (https://…/stage or local)
	// KMSKeyID names the key for personal-data envelope encryption: a KMS key
	// id/ARN/alias, or "file:DIR" for a local key file (development).
	KMSKeyID string
	// JWTSecretID names the JWT signing keys: a Secrets Manager id, or
	// "file:DIR" for keys generated under .local/ (development).
	JWTSecretID   string
	SecretsPrefix string // Secrets Manager prefix for provider credentials
	PublicBaseURL string
	OpenAIBaseURL string
	OpenAIModel   string // OPENAI_MODEL; catalog.DefaultOpenAIModel when unset
	// OpenAIKey is OPENAI_API_KEY when the environment sets it (local
	// runs); in AWS the key is the platform provider secret, read by the
	// functions that call the model. Empty: the copilot runs offline.
	OpenAIKey    string
	LogLevel     slog.Level
	LogFormat    string            // "json" (Lambda) or "text" (local terminal)
	CursorSecret []byte            // signs pagination cursors; a generated secret per deployment
	ProviderURLs map[string]string // provider name → base URL override (sandbox, tests)
	required     []string
}

// Load reads the configuration for fn from the process environment.
func Load(fn catalog.Function) (Config, error) {
	return LoadFrom(os.LookupEnv, fn)
}

// Provider base URL overrides: PROVIDER_URL_<NAME>, e.g. PROVIDER_URL_SENDGRID.
const providerURLPrefix = "PROVIDER_URL_"

// Env keys not tied to one resource.
const (
	EnvLogFormat = "LOG_FORMAT"
	// EnvCursorSecret is catalog.EnvCursorSecret, kept here for callers that
	// build an environment from config's keys.
	EnvCursorSecret = catalog.EnvCursorSecret
	// EnvOpenAIKey is an optional override of the OpenAI key (the platform
	// secret in AWS), never listed in the catalog: deployed functions do not
	// carry the key in their configuration.
	EnvOpenAIKey = "OPENAI_API_KEY"
	// DefaultOpenAIBaseURL is OpenAI's own endpoint, when OPENAI_BASE_URL
	// is unset.
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
)

// LoadFrom is Load with an injectable lookup, for tests and the local runtime.
func LoadFrom(lookup func(string) (string, bool), fn catalog.Function) (Config, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	c := Config{
		Function:      fn.Name,
		TableName:     get(catalog.EnvTable),
		BusName:       get(catalog.EnvBus),
		WSEndpoint:    get(catalog.EnvWSEndpoint),
		KMSKeyID:      get(catalog.EnvKMSKey),
		JWTSecretID:   get(catalog.EnvJWTSecret),
		SecretsPrefix: get(catalog.EnvSecrets),
		PublicBaseURL: strings.TrimRight(get(catalog.EnvPublicURL), "/"),
		OpenAIBaseURL: get(catalog.EnvOpenAIBase),
		OpenAIModel:   get(catalog.EnvOpenAIModel),
		OpenAIKey:     get(EnvOpenAIKey),
		LogFormat:     get(EnvLogFormat),
		CursorSecret:  []byte(get(EnvCursorSecret)),
		QueueURLs:     map[string]string{},
		ProviderURLs:  map[string]string{},
		required:      fn.Env,
	}
	for _, q := range catalog.System().Queues {
		if v := get(q.EnvKey()); v != "" {
			c.QueueURLs[q.Name] = v
		}
		if v := get(q.DLQEnvKey()); v != "" {
			c.QueueURLs[q.DLQName()] = v
		}
	}
	for _, p := range []string{"SHOPIFY", "META", "GTM", "SENDGRID", "TWILIO", "FCM", "WHATSAPP", "OPENAI"} {
		if v := get(providerURLPrefix + p); v != "" {
			c.ProviderURLs[strings.ToLower(p)] = strings.TrimRight(v, "/")
		}
	}
	var errs []error
	if lvl := get(catalog.EnvLogLevel); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want debug, info, warn or error", catalog.EnvLogLevel, lvl))
		}
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.LogFormat == "" {
		c.LogFormat = "json"
	}
	if c.OpenAIModel == "" {
		c.OpenAIModel = catalog.DefaultOpenAIModel
	}
	if c.OpenAIBaseURL == "" {
		c.OpenAIBaseURL = DefaultOpenAIBaseURL
	}
}

// Validate checks that every key the function needs is present and well formed.
func (c Config) Validate() error {
	var errs []error
	for _, k := range c.required {
		if c.value(k) == "" {
			errs = append(errs, fmt.Errorf("%s is required by %s", k, c.Function))
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("%s=%q: want json or text", EnvLogFormat, c.LogFormat))
	}
	for _, u := range []struct{ key, v string }{
		{catalog.EnvPublicURL, c.PublicBaseURL}, {catalog.EnvWSEndpoint, c.WSEndpoint}, {catalog.EnvOpenAIBase, c.OpenAIBaseURL},
	} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			errs = append(errs, fmt.Errorf("%s=%q: want an http(s) URL", u.key, u.v))
		}
	}
	return errors.Join(errs...)
}

// value returns the loaded value for a catalog env key.
func (c Config) value(key string) string {
	switch key {
	case catalog.EnvTable:
		return c.TableName
	case catalog.EnvBus:
		return c.BusName
	case catalog.EnvWSEndpoint:
		return c.WSEndpoint
	case catalog.EnvKMSKey:
		return c.KMSKeyID
	case catalog.EnvJWTSecret:
		return c.JWTSecretID
	case catalog.EnvSecrets:
		return c.SecretsPrefix
	case catalog.EnvPublicURL:
		return c.PublicBaseURL
	case catalog.EnvOpenAIBase:
		return c.OpenAIBaseURL
	case catalog.EnvOpenAIModel:
		return c.OpenAIModel
	case catalog.EnvLogLevel:
		return c.LogLevel.String() // always has a default
	case catalog.EnvCursorSecret:
		return string(c.CursorSecret)
	}
	for _, q := range catalog.System().Queues {
		switch key {
		case q.EnvKey():
			return c.QueueURLs[q.Name]
		case q.DLQEnvKey():
			return c.QueueURLs[q.DLQName()]
		}
	}
	return ""
}

// QueueURL returns the URL of a logical queue.
func (c Config) QueueURL(name string) string { return c.QueueURLs[name] }
