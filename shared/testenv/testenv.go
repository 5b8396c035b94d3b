package testenv

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// MissingEndpoints is the one line a test fails with when no local AWS
// endpoints are configured.
const MissingEndpoints = "testenv: no local AWS endpoints; run `make test` (starts DynamoDB Local and fauxqs) or `source <(localstack/stack.sh env test)`"

const (
	defaultRegion = "us-east-1"
	localKey      = "local"
)

// AWSConfig loads the default SDK configuration for tests
// (config.LoadDefaultConfig). Region and credentials come from the
// environment, defaulting to us-east-1 and static "local" credentials, so a
// developer's ~/.aws profile never signs test traffic. The test fails unless
// the endpoints of both DynamoDB and SQS are set explicitly
// (AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS, or AWS_ENDPOINT_URL);
// environment endpoints take precedence over any endpoint_url in ~/.aws.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	if !endpointsConfigured() {
		t.Fatal(MissingEndpoints)
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = defaultRegion
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(localKey, localKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("testenv: load AWS config: %v", err)
	}
	return cfg
}

// endpointsConfigured reports whether the SDK will send DynamoDB and SQS
// requests to an explicitly configured endpoint instead of real AWS.
func endpointsConfigured() bool {
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return false
	}
	if os.Getenv("AWS_ENDPOINT_URL") != "" {
		return true
	}
	return os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" && os.Getenv("AWS_ENDPOINT_URL_SQS") != ""
}

// DynamoDB returns a DynamoDB client for the local emulator.
//
// Response CRC32 validation is off: DynamoDB Local (like LocalStack) sends no
// X-Amz-Crc32 header on error responses, and the SDK then logs a spurious
// "failed to close HTTP response body" warning for every failed request,
// e.g. each expected ConditionalCheckFailedException
// (https://github.com/aws/aws-sdk-go-v2/issues/3545).
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(AWSConfig(t), func(o *dynamodb.Options) {
		o.DisableValidateResponseChecksum = true
	})
}

// SQS returns an SQS client for the local emulator.
func SQS(t testing.TB) *sqs.Client {
	t.Helper()
	return sqs.NewFromConfig(AWSConfig(t))
}

// maxPrefix keeps Name within the 80-character SQS queue name limit, with
// room for the random suffix and a ".fifo" or "-dlq" ending.
const maxPrefix = 60

// Name returns prefix followed by a short random suffix, e.g. "orders-k3v9q2xa".
// The result is unique per call and valid both as a DynamoDB table name and
// as an SQS queue name: characters outside [A-Za-z0-9_-] become '-', and the
// prefix is cut to 60 characters.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range prefix {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= maxPrefix {
			break
		}
	}
	p := strings.Trim(b.String(), "-")
	if p == "" {
		p = "t"
	}
	return p + "-" + strings.ToLower(rand.Text()[:8])
}
