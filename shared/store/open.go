package store

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/lambdafn"
)

// Open returns a function's table: a DynamoDB client from d.AWS (endpoint
// from AWS_ENDPOINT_URL_DYNAMODB) with d.DynamoDBOptions, the configured
// TABLE_NAME and cursor secret. Every function opens its table this way.
func Open(d lambdafn.Deps) *Table {
	return New(dynamodb.NewFromConfig(d.AWS, d.DynamoDBOptions...), d.Config.TableName, d.Config.CursorSecret)
}
