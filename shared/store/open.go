package store

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Open returns the table name over a DynamoDB client built from cfg (its
// endpoint follows AWS_ENDPOINT_URL_DYNAMODB) with opts applied, signing
// pagination cursors with cursorSecret. Functions open their table through
// lambdafn.Deps.Table, which passes their configuration here.
func Open(cfg aws.Config, name string, cursorSecret []byte, opts ...func(*dynamodb.Options)) *Table {
	return New(dynamodb.NewFromConfig(cfg, opts...), name, cursorSecret)
}
