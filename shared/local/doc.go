// Package local is the local runtime behind `pulsehub dev` and
// `pulsehub invoke`: the same function handlers as in AWS, in one process,
// behind faithful emulations of what AWS puts in front of them. It starts
// (or reuses) DynamoDB Local and fauxqs, provisions the table and queues
// from the catalog, runs migrations, builds each function once through its
// lambdafn.Constructor, invokes it through lambda.NewHandler(h).Invoke with a
// lambdacontext, the catalog timeout and a concurrency limit, and wires the
// triggers: the HTTP/WebSocket gateway (package gateway), SQS event-source
// mappings, the EventBridge emulator and schedules (package eventbus), and
// the provider sandbox (package sandbox). See docs/local-runtime.md.
package local
