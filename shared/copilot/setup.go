package copilot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/store"
)

// SecretsManager is the part of the Secrets Manager client the key needs.
type SecretsManager interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// PlatformSecret is the name, under PROVIDER_SECRETS_PREFIX, of the
// platform's own provider credentials: JSON with "openaiApiKey".
const PlatformSecret = "platform"

// APIKey finds the OpenAI key: override (OPENAI_API_KEY) when set, else the
// "openaiApiKey" of the platform secret under prefix, a file
// DIR/platform.json for a "file:DIR" prefix (local runs; a missing file is
// no key) or a Secrets Manager secret. "" means no key: offline.
func APIKey(ctx context.Context, override, prefix string, sm SecretsManager) (string, error) {
	if override != "" {
		return override, nil
	}
	var raw []byte
	if dir, ok := strings.CutPrefix(prefix, "file:"); ok {
		b, err := os.ReadFile(filepath.Join(dir, PlatformSecret+".json"))
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("copilot: platform secret: %w", err)
		}
		raw = b
	} else {
		if prefix == "" || sm == nil {
			return "", nil
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(prefix + PlatformSecret)})
		if err != nil {
			return "", fmt.Errorf("copilot: read secret %s%s: %w", prefix, PlatformSecret, err)
		}
		raw = []byte(aws.ToString(out.SecretString))
	}
	var v struct {
		OpenAIAPIKey string `json:"openaiApiKey"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("copilot: platform secret is not JSON {\"openaiApiKey\":…}: %w", err)
	}
	return strings.TrimSpace(v.OpenAIAPIKey), nil
}

// Setup is what a function needs to build its Copilot.
type Setup struct {
	Table    *store.Table
	Profiles *profile.Store
	// APIKey, BaseURL and Model select the model; no key runs offline.
	APIKey, BaseURL, Model string
	Logger                 *slog.Logger
	Now                    func() time.Time
	// Model engine tuning (tests); zero values take the defaults.
	ModelOptions ModelOptions
	Options      Options
}

// Build makes the registry over the tenant's data, the offline engine, the
// model engine when there is a key, and the Copilot over them.
func Build(s Setup) (*Copilot, *Registry, error) {
	if s.Now == nil {
		s.Now = time.Now
	}
	profiles := NewProfiles(s.Profiles)
	// write_copy needs the Copilot (its model and breaker), which needs
	// the registry: the tool's writer is bound once the Copilot exists.
	writer := &boundWriter{}
	reg, err := NewRegistry(Tools(Sources{Sales: profiles, Customers: profiles, Writer: writer, Now: s.Now})...)
	if err != nil {
		return nil, nil, err
	}
	o := s.Options
	o.Offline, o.Usage, o.Logger, o.Now = NewOffline(reg, s.Now), NewUsageStore(s.Table), s.Logger, s.Now
	if s.APIKey != "" {
		mo := s.ModelOptions
		mo.APIKey, mo.BaseURL, mo.Model, mo.Now = s.APIKey, s.BaseURL, s.Model, s.Now
		m, err := NewModel(reg, mo)
		if err != nil {
			return nil, nil, err
		}
		o.Model = m
	}
	c, err := New(o)
	writer.c = c
	return c, reg, err
}

// boundWriter is the Copilot as the write_copy tool's Writer.
type boundWriter struct{ c *Copilot }

func (w *boundWriter) Suggest(ctx context.Context, c Caller, req SuggestRequest) (Suggestions, error) {
	return w.c.Suggest(ctx, c, req)
}
