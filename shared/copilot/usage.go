package copilot

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// UsageStore keeps each tenant's model token usage per calendar month
// (UTC): item T#<t> / USAGE#copilot#<yyyy-mm>, counters added atomically,
// expiring after 400 days.
type UsageStore struct {
	t *store.Table
}

// NewUsageStore returns the store over t.
func NewUsageStore(t *store.Table) *UsageStore { return &UsageStore{t: t} }

type usageItem struct {
	PK               string `dynamodbav:"PK"`
	SK               string `dynamodbav:"SK"`
	PromptTokens     int64  `dynamodbav:"promptTokens"`
	CompletionTokens int64  `dynamodbav:"completionTokens"`
	Answers          int64  `dynamodbav:"answers"`
	TTL              int64  `dynamodbav:"ttl"`
}

func usageKey(tenant string, at time.Time) store.Key {
	return store.Key{PK: "T#" + tenant, SK: "USAGE#copilot#" + at.UTC().Format("2006-01")}
}

// Used returns the tokens the tenant used in at's month.
func (s *UsageStore) Used(ctx context.Context, tenant string, at time.Time) (int64, error) {
	var it usageItem
	err := s.t.Get(ctx, usageKey(tenant, at), &it)
	switch {
	case apperr.KindOf(err) == apperr.NotFound:
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("copilot.Used %s: %w", tenant, err)
	}
	return it.PromptTokens + it.CompletionTokens, nil
}

// Add records one answer's tokens in at's month.
func (s *UsageStore) Add(ctx context.Context, tenant string, at time.Time, u Usage) error {
	upd := expression.Add(expression.Name("promptTokens"), expression.Value(u.PromptTokens)).
		Add(expression.Name("completionTokens"), expression.Value(u.CompletionTokens)).
		Add(expression.Name("answers"), expression.Value(1)).
		Set(expression.Name("ttl"), expression.Value(store.TTL(at.AddDate(0, 0, 400))))
	if err := s.t.Update(ctx, usageKey(tenant, at), upd, nil); err != nil {
		return fmt.Errorf("copilot.AddUsage %s: %w", tenant, err)
	}
	return nil
}
