// Package coldstart holds the cold-start benchmark of PulseHub's functions:
// each functions/<name> is built like `make build` (CGO_ENABLED=0 -trimpath
// -ldflags='-s -w' -tags lambda.norpc) and started under a local Lambda
// Runtime API beside a hello-world aws-lambda-go binary built the same way.
// It lives in the infra module so the root `go test ./...` never builds it;
// figures go to docs/performance.md ("Cold start").
package coldstart
