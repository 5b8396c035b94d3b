package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Context keys read from cdk.json, `cdk -c key=value` or AppProps.Context.
const (
	CtxEnv           = "pulsehub:env"           // "dev" (default) or "prod"
	CtxAssets        = "pulsehub:assets"        // directory with <name>.zip or <name>/bootstrap (default ../build)
	CtxAlarmEmail    = "pulsehub:alarmEmail"    // optional e-mail subscribed to the alarm topic
	CtxPublicURL     = "pulsehub:publicBaseUrl" // external URL of the HTTP API (custom domain); default: the API endpoint
	CtxOpenAIBase    = "pulsehub:openaiBaseUrl" // default https://api.openai.com/v1
	CtxOpenAIModel   = "pulsehub:openaiModel"   // the copilot's model; default gpt-4o-mini (catalog.DefaultOpenAIModel)
	CtxLogLevel      = "pulsehub:logLevel"      // LOG_LEVEL of every function; default debug (dev) / info (prod)
	CtxAPIGWAccount  = "pulsehub:apigwAccount"  // "false" when the account's API Gateway CloudWatch role is managed elsewhere
	CtxHTTPRate      = "pulsehub:httpRateLimit" // HTTP API steady-state requests per second
	CtxHTTPBurst     = "pulsehub:httpBurstLimit"
	CtxAllFunctions  = "pulsehub:allFunctions" // "true" also deploys Planned functions (tests of the full design)
	CtxValidateRules = "@aws-cdk/core:validateAgainstDefaultRules"
)

// Settings are the per-environment choices that the catalog leaves to the
// deployment: names, retention, throttling, protection against deletion.
type Settings struct {
	Env              string // dev or prod
	AssetDir         string
	AlarmEmail       string
	PublicBaseURL    string
	OpenAIBaseURL    string
	OpenAIModel      string
	LogLevel         string
	ManageAPIGWRole  bool
	HTTPRateLimit    float64
	HTTPBurstLimit   float64
	WSRateLimit      float64
	WSBurstLimit     float64
	IncludePlanned   bool
	LogRetentionDays int
}

// Prod reports whether this is the production environment.
func (s Settings) Prod() bool { return s.Env == "prod" }

// Prefix is the name prefix of named resources (bus, secrets).
func (s Settings) Prefix() string { return "pulsehub-" + s.Env }

// SecretsPrefix is PROVIDER_SECRETS_PREFIX: provider credentials live under
// it, one secret per name, created by the api function or an operator.
func (s Settings) SecretsPrefix() string { return "pulsehub/" + s.Env + "/providers/" }

// JWTSecretName is the name of the Secrets Manager secret with the JWT signing keys.
func (s Settings) JWTSecretName() string { return "pulsehub/" + s.Env + "/jwt" }

// CursorSecretName is the name of the Secrets Manager secret behind CURSOR_SECRET.
func (s Settings) CursorSecretName() string { return "pulsehub/" + s.Env + "/cursor" }

// SettingsFromContext reads the settings of the app's context.
func SettingsFromContext(app awscdk.App) (Settings, error) {
	return ParseSettings(func(k string) string {
		v := app.Node().TryGetContext(jsii.String(k))
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	})
}

// ParseSettings builds the settings from context values (get returns "" for
// an absent key); unknown environments and malformed numbers are errors,
// not silent defaults.
func ParseSettings(get func(key string) string) (Settings, error) {
	s := Settings{
		Env:             get(CtxEnv),
		AssetDir:        get(CtxAssets),
		AlarmEmail:      get(CtxAlarmEmail),
		PublicBaseURL:   get(CtxPublicURL),
		OpenAIBaseURL:   get(CtxOpenAIBase),
		OpenAIModel:     get(CtxOpenAIModel),
		LogLevel:        get(CtxLogLevel),
		ManageAPIGWRole: get(CtxAPIGWAccount) != "false",
		IncludePlanned:  get(CtxAllFunctions) == "true",
	}
	if s.Env == "" {
		s.Env = "dev"
	}
	if s.Env != "dev" && s.Env != "prod" {
		return Settings{}, fmt.Errorf("context %s=%q: want dev or prod", CtxEnv, s.Env)
	}
	if s.AssetDir == "" {
		s.AssetDir = filepath.Join("..", "build")
	}
	if s.OpenAIBaseURL == "" {
		s.OpenAIBaseURL = "https://api.openai.com/v1"
	}
	if s.OpenAIModel == "" {
		s.OpenAIModel = catalog.DefaultOpenAIModel
	}
	if s.LogLevel == "" {
		s.LogLevel = "info"
		if !s.Prod() {
			s.LogLevel = "debug"
		}
	}
	// The catalog holds no API throttling figures; these defaults protect the
	// account-wide Lambda concurrency (1000 by default) from one noisy client.
	s.HTTPRateLimit, s.HTTPBurstLimit, s.WSRateLimit, s.WSBurstLimit = 50, 100, 20, 50
	s.LogRetentionDays = 30
	if s.Prod() {
		s.HTTPRateLimit, s.HTTPBurstLimit, s.WSRateLimit, s.WSBurstLimit = 500, 1000, 200, 400
		s.LogRetentionDays = 365
	}
	for _, n := range []struct {
		key string
		dst *float64
	}{{CtxHTTPRate, &s.HTTPRateLimit}, {CtxHTTPBurst, &s.HTTPBurstLimit}} {
		if v := get(n.key); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return Settings{}, fmt.Errorf("context %s=%q: want a positive number", n.key, v)
			}
			*n.dst = f
		}
	}
	return s, nil
}

// Functions returns the catalog functions this deployment builds: the
// deployable ones, or all of them with IncludePlanned.
func (s Settings) Functions(c catalog.Catalog) []catalog.Function {
	if s.IncludePlanned {
		return c.Functions
	}
	return c.Deployable()
}

// assetPath finds a function's code: build/<name>.zip from `make build`, or a
// directory build/<name>/ holding bootstrap.
func (s Settings) assetPath(name string) (string, error) {
	zip := filepath.Join(s.AssetDir, name+".zip")
	if _, err := os.Stat(zip); err == nil {
		return zip, nil
	}
	dir := filepath.Join(s.AssetDir, name)
	if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err == nil {
		return dir, nil
	}
	return "", fmt.Errorf("function %q: neither %s nor %s/bootstrap exists: run `make build` first (or set context %s)", name, zip, dir, CtxAssets)
}
