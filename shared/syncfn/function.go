package syncfn

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/queue"
)

// NewFunction builds the sync handler (lambdafn.Constructor).
func NewFunction(ctx context.Context, d lambdafn.Deps) (any, error) {
	table := d.Table()
	cipher, err := pii.Open(ctx, d.AWS, d.Config.KMSKeyID, table)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	s := New(table, integration.NewStore(table, cipher, nil), queue.New(sqs.NewFromConfig(d.AWS)),
		d.Config.QueueURL(catalog.QueueIngest), d.Config.ProviderURLs, nil, d.Logger)
	return s.Handle, nil
}
