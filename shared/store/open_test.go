package store

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/testenv"
)

// Open builds the client from the AWS config with the given DynamoDB
// options, on the named table.
func TestOpenAppliesOptions(t *testing.T) {
	ctx := context.Background()
	name := testenv.Name(t, "open")
	if err := Provision(ctx, testenv.DynamoDB(t), catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	var validated *bool
	tbl := Open(testenv.AWSConfig(t), name, []byte("s"), func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = true
		validated = &o.DisableValidateResponseChecksum
	})
	if validated == nil || !*validated || tbl.Name() != name {
		t.Fatalf("options not applied (%v) or wrong table %q", validated, tbl.Name())
	}
	type item struct {
		PK, SK string
		V      int
	}
	if err := tbl.Put(ctx, item{PK: "P", SK: "S", V: 7}); err != nil {
		t.Fatal(err)
	}
	var got item
	if err := tbl.Get(ctx, Key{PK: "P", SK: "S"}, &got); err != nil || got.V != 7 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}
