// Package testenv gives tests AWS clients that talk to the local emulators
// (DynamoDB Local and fauxqs, or LocalStack) and unique resource names.
//
// The clients are configured from the standard AWS SDK environment only:
// AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SQS (or AWS_ENDPOINT_URL),
// AWS_REGION and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. The SDK itself
// resolves the endpoints; nothing here passes them explicitly. `make test`
// starts the emulators and exports those variables; by hand:
//
//	localstack/stack.sh start test
//	source <(localstack/stack.sh env test)
//	go test ./...
//
// Tests are never skipped when the emulators are absent: they fail with one
// line that says how to start them.
//
// Every test should create its own tables and queues with [Name], so tests
// can run in parallel against one shared emulator.
package testenv
