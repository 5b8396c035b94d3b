package testenv_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"

	"github.com/pulsehub/pulsehub/shared/testenv"
)

// TestDynamoDB proves the local DynamoDB answers: create a table, write and
// read an item, delete the table.
func TestDynamoDB(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db := testenv.DynamoDB(t)
	table := testenv.Name(t, "testenv")

	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", table, err)
	}
	t.Cleanup(func() {
		_, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Errorf("DeleteTable %s: %v", table, err)
		}
	})
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 20*time.Second); err != nil {
		t.Fatalf("wait for table %s: %v", table, err)
	}

	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "tenant#demo"}}
	item := map[string]ddbtypes.AttributeValue{
		"pk":   key["pk"],
		"name": &ddbtypes.AttributeValueMemberS{Value: "Demo"},
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	got, ok := out.Item["name"].(*ddbtypes.AttributeValueMemberS)
	if !ok || got.Value != "Demo" {
		t.Fatalf("GetItem name = %#v, want Demo", out.Item["name"])
	}
}

// TestSQS proves the local SQS answers: create a queue, send, receive and
// delete a message, delete the queue.
func TestSQS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := testenv.SQS(t)
	name := testenv.Name(t, "testenv")

	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	url := aws.ToString(created.QueueUrl)
	t.Cleanup(func() {
		if _, err := q.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Errorf("DeleteQueue %s: %v", url, err)
		}
	})

	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"hello":"pulsehub"}`)}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	recv, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(recv.Messages) != 1 || aws.ToString(recv.Messages[0].Body) != `{"hello":"pulsehub"}` {
		t.Fatalf("ReceiveMessage = %+v, want the one message sent", recv.Messages)
	}
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: recv.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{3,80}$`)

func TestName(t *testing.T) {
	t.Parallel()
	long := "a-very-long-prefix-that-goes-on-and-on-and-on-well-past-sixty-characters-for-sure"
	for _, prefix := range []string{"orders", "Test/Sub test#1", "", "..", long} {
		a, b := testenv.Name(t, prefix), testenv.Name(t, prefix)
		if a == b {
			t.Errorf("Name(%q) returned %q twice", prefix, a)
		}
		if !validName.MatchString(a) || len(a) > 70 {
			t.Errorf("Name(%q) = %q: not a valid table/queue name with room for a suffix", prefix, a)
		}
	}
	if got := testenv.Name(t, "orders"); got[:7] != "orders-" {
		t.Errorf("Name(orders) = %q, want prefix orders-", got)
	}
}

// TestDynamoDBErrorIsQuiet checks that an expected error response (no
// X-Amz-Crc32 header from DynamoDB Local) does not make the SDK log a
// checksum warning.
func TestDynamoDBErrorIsQuiet(t *testing.T) {
	t.Parallel()
	db := testenv.DynamoDB(t)
	var logged bytes.Buffer
	_, err := db.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(testenv.Name(t, "absent"))},
		func(o *dynamodb.Options) { o.Logger = logging.NewStandardLogger(&logged) })
	var notFound *ddbtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("DescribeTable of a missing table: err = %v, want ResourceNotFoundException", err)
	}
	if logged.Len() > 0 {
		t.Errorf("SDK logged %q", logged.String())
	}
}
