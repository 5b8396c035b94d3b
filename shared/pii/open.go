package pii

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/pulsehub/pulsehub/shared/store"
)

// Open returns a cipher over t: data keys wrapped by the KMS key keyID
// (PII_KMS_KEY_ID; a KMS client is built from cfg), or by the local master
// key when keyID is "file:DIR" (no KMS client then). Every function opens
// its cipher this way.
func Open(ctx context.Context, cfg aws.Config, keyID string, t *store.Table) (*Cipher, error) {
	var k KMS
	if !strings.HasPrefix(keyID, "file:") {
		k = kms.NewFromConfig(cfg)
	}
	return New(ctx, keyID, t, k, time.Now)
}
