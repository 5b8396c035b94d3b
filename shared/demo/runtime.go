package demo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/local"
)

// RuntimeSeed is the local runtime's Seed hook (local.Options.Seed): it
// seeds through the runtime's own URL and waits until the ingest queue is
// empty. Wire it with
//
//	d := &demo.Seeder{Log: log}
//	opts.Providers = append(opts.Providers, d.Providers()...)
//	opts.Seed = d.RuntimeSeed
func (s *Seeder) RuntimeSeed(ctx context.Context, rt *local.Runtime) error {
	s.BaseURL = rt.URL()
	s.Messaging = rt.Messaging()
	url := rt.Resources().QueueURLs[catalog.QueueIngest]
	if url == "" {
		return fmt.Errorf("demo: the runtime has no %s queue", catalog.QueueIngest)
	}
	q := sqs.NewFromConfig(rt.AWS())
	s.Drained = func(ctx context.Context) (bool, error) {
		out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			return false, fmt.Errorf("demo: ingest queue attributes: %w", err)
		}
		for _, k := range []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
			if n, _ := strconv.Atoi(out.Attributes[string(k)]); n > 0 {
				return false, nil
			}
		}
		return true, nil
	}
	return s.Seed(ctx)
}
