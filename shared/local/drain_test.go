package local

import (
	"context"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Drained reports whether the queue holds no message at all: none
// visible, none in flight (received, not yet deleted or returned), none
// delayed. A consumer deletes a message only once it handled it for good,
// so a drained queue is the definite sign that every message sent to it
// was handled, duplicates included; no sleep can say that. (Exported for
// the package's external tests.)
func Drained(t testing.TB, client *sqs.Client, url string) bool {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Attributes {
		if n, err := strconv.Atoi(v); err != nil || n != 0 {
			return false
		}
	}
	return len(out.Attributes) == 3
}
