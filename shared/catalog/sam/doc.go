// Package sam generates template.yaml, the AWS SAM template of PulseHub, from
// the catalog: one AWS::Serverless::Function per deployable function with its
// HTTP API, SQS (ReportBatchItemFailures), schedule and EventBridge events,
// the WebSocket API routes, the table, queues, keys, secrets and alarms.
//
// The committed template.yaml is checked against Generate by a test, so SAM
// and the CDK stack (infra/), both built from the catalog, cannot drift.
// Refresh it with `go generate ./shared/catalog/sam` or `make sam`.
package sam

//go:generate go run ./gen -o ../../../template.yaml
