// Package chatfn is the chat function's wiring: the copilot (tools over the
// tenant's data, the model when there is a key, the offline engine) and the
// chat worker, behind the SQS batch handler of the chat queue.
package chatfn

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pulsehub/pulsehub/shared/batch"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/chat"
	"github.com/pulsehub/pulsehub/shared/config"
	"github.com/pulsehub/pulsehub/shared/copilot"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/queue"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/wsapi"
)

// NewFunction builds the chat handler (lambdafn.Constructor).
func NewFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	table := d.Table()
	cipher, err := pii.Open(ctx, d.AWS, d.Config.KMSKeyID, table)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	cp, _, err := Copilot(ctx, d, table, profile.NewStore(table, cipher, nil), copilot.Options{})
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	client, err := wsapi.NewClient(d.AWS, d.Config.WSEndpoint)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	w := chat.NewWorker(chat.NewStore(table, nil), cp, client, wsapi.NewConnectionStore(table), d.Logger, nil)
	dlq := queue.NewDLQ(sqs.NewFromConfig(d.AWS), d.Config.QueueURL(catalog.Queue{Name: catalog.QueueChat}.DLQName()))
	return batch.Handler(d.Logger, dlq, w.Process), nil
}

// Copilot builds a function's copilot from its configuration: the key from
// OPENAI_API_KEY or the platform secret, the endpoint from
// PROVIDER_URL_OPENAI (the local sandbox) or OPENAI_BASE_URL, and
// OPENAI_MODEL. The api function builds its content suggestions with it
// too.
func Copilot(ctx context.Context, d lambdafn.Deps, table *store.Table, profiles *profile.Store, o copilot.Options) (*copilot.Copilot, *copilot.Registry, error) {
	cfg := d.Config
	var sm copilot.SecretsManager
	if cfg.OpenAIKey == "" && cfg.SecretsPrefix != "" && !strings.HasPrefix(cfg.SecretsPrefix, "file:") {
		sm = secretsmanager.NewFromConfig(d.AWS)
	}
	key, err := copilot.APIKey(ctx, cfg.OpenAIKey, cfg.SecretsPrefix, sm)
	if err != nil {
		// No model is better than no copilot: answer offline, say why.
		d.Logger.ErrorContext(ctx, "copilot: no model key; answering offline", "err", err)
		key = ""
	}
	return copilot.Build(copilot.Setup{
		Table: table, Profiles: profiles, APIKey: key, BaseURL: BaseURL(cfg), Model: cfg.OpenAIModel,
		Logger: d.Logger, Options: o,
	})
}

// BaseURL is the OpenAI-compatible endpoint: the PROVIDER_URL_OPENAI
// override (the sandbox, which serves the API under /v1) or OPENAI_BASE_URL.
func BaseURL(cfg config.Config) string {
	if u := cfg.ProviderURLs["openai"]; u != "" {
		return u + "/v1"
	}
	return cfg.OpenAIBaseURL
}
