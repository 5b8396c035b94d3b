package pii

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/pulsehub/pulsehub/shared/lambdafn"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Open returns a function's cipher over t: data keys wrapped by the KMS key
// PII_KMS_KEY_ID, or by the local master key when it is "file:DIR" (no KMS
// client is built then). Every function opens its cipher this way.
func Open(ctx context.Context, d lambdafn.Deps, t *store.Table) (*Cipher, error) {
	var k KMS
	if !strings.HasPrefix(d.Config.KMSKeyID, "file:") {
		k = kms.NewFromConfig(d.AWS)
	}
	return New(ctx, d.Config.KMSKeyID, t, k, time.Now)
}
