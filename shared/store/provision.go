package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pulsehub/pulsehub/shared/catalog"
)

// Provisioner is the subset of the DynamoDB client used to create tables.
type Provisioner interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// Provision creates the table described by def under name (on-demand, with
// its GSIs and TTL) unless it exists, and waits until it is active. In AWS
// the CDK stack creates the table from the same catalog entry; this is for
// the local runtime and tests.
func Provision(ctx context.Context, db Provisioner, def catalog.Table, name string) error {
	attrs := []types.AttributeDefinition{
		{AttributeName: aws.String(def.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(def.SortKey), AttributeType: types.ScalarAttributeTypeS},
	}
	var gsis []types.GlobalSecondaryIndex
	for _, g := range def.GSIs {
		attrs = append(attrs,
			types.AttributeDefinition{AttributeName: aws.String(g.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			types.AttributeDefinition{AttributeName: aws.String(g.SortKey), AttributeType: types.ScalarAttributeTypeS})
		gsis = append(gsis, types.GlobalSecondaryIndex{
			IndexName: aws.String(g.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(g.PartitionKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(g.SortKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: attrs,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(def.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(def.SortKey), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: gsis,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("store: create table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(db)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		return fmt.Errorf("store: wait for table %s: %w", name, err)
	}
	if def.TTLAttribute != "" {
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(def.TTLAttribute), Enabled: aws.Bool(true)},
		})
		// Enabling TTL twice fails with "TimeToLive is already enabled"; that is fine.
		if err != nil && !isTTLAlreadyEnabled(err) {
			return fmt.Errorf("store: enable TTL on %s: %w", name, err)
		}
	}
	return nil
}

func isTTLAlreadyEnabled(err error) bool {
	var ve interface{ ErrorMessage() string }
	return errors.As(err, &ve) && strings.Contains(strings.ToLower(ve.ErrorMessage()), "already enabled")
}

// TTL returns the epoch-seconds value for the table's TTL attribute.
func TTL(at time.Time) int64 { return at.Unix() }
