package pii_test

import (
	"context"
	"testing"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	name := testenv.Name(t, "piiopen")
	if err := store.Provision(ctx, testenv.DynamoDB(t), catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	cfg := testenv.AWSConfig(t)
	tbl := store.Open(cfg, name, nil)
	c, err := pii.Open(ctx, cfg, "file:"+t.TempDir(), tbl)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Seal(ctx, "t1", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Open(ctx, "t1", sealed); err != nil || got != "ann@example.com" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// A KMS key id builds a KMS client (no call yet); no key id is refused.
	if _, err := pii.Open(ctx, cfg, "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", tbl); err != nil {
		t.Fatalf("KMS key: %v", err)
	}
	if _, err := pii.Open(ctx, cfg, "", tbl); err == nil {
		t.Fatal("no key id accepted")
	}
}
