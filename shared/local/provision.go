package local

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/store"
)

// Resources are the provisioned physical resources.
type Resources struct {
	TableName string
	QueueURLs map[string]string // logical name (and "<name>-dlq") → URL
	QueueARNs map[string]string
}

// PhysicalName is the deployed name of a logical resource, e.g. "pulsehub-main".
func PhysicalName(prefix, logical string) string { return prefix + "-" + logical }

// Provision creates the table and every queue with its DLQ as the catalog
// describes them (idempotently: existing resources are reused, queue
// attributes re-applied).
func Provision(ctx context.Context, db *dynamodb.Client, q *sqs.Client, cat catalog.Catalog, prefix string) (Resources, error) {
	res := Resources{TableName: PhysicalName(prefix, cat.Table.Name), QueueURLs: map[string]string{}, QueueARNs: map[string]string{}}
	if err := store.Provision(ctx, db, cat.Table, res.TableName); err != nil {
		return res, err
	}
	for _, queue := range cat.Queues {
		dlqURL, dlqARN, err := createQueue(ctx, q, PhysicalName(prefix, queue.DLQName()), map[string]string{
			// DLQs keep messages for SQS's maximum so nothing is lost while someone looks.
			"MessageRetentionPeriod": "1209600",
		})
		if err != nil {
			return res, err
		}
		redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": strconv.Itoa(queue.MaxReceiveCount)})
		url, arn, err := createQueue(ctx, q, PhysicalName(prefix, queue.Name), map[string]string{
			"VisibilityTimeout":      strconv.Itoa(int(queue.VisibilityTimeout.Seconds())),
			"MessageRetentionPeriod": strconv.Itoa(int(queue.Retention.Seconds())),
			"RedrivePolicy":          string(redrive),
		})
		if err != nil {
			return res, err
		}
		res.QueueURLs[queue.Name], res.QueueARNs[queue.Name] = url, arn
		res.QueueURLs[queue.DLQName()], res.QueueARNs[queue.DLQName()] = dlqURL, dlqARN
	}
	return res, nil
}

// createQueue creates (or finds) a queue and sets its attributes.
func createQueue(ctx context.Context, q *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", "", fmt.Errorf("local: create queue %s: %w", name, err)
	}
	url = aws.ToString(out.QueueUrl)
	// Set separately so an existing queue gets the catalog's current values
	// (CreateQueue rejects differing attributes on an existing queue).
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: out.QueueUrl, Attributes: attrs}); err != nil {
		return "", "", fmt.Errorf("local: configure queue %s: %w", name, err)
	}
	got, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("local: queue %s ARN: %w", name, err)
	}
	return url, got.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}
