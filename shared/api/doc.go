// Package api is the composition root of the `api` function: it builds the
// shared services (table, PII cipher, identity, audit, rate limits,
// integrations) from lambdafn.Deps, mounts every domain's routes on one
// httpapi.Server, and adapts it to API Gateway HTTP API v2 events with
// aws-lambda-go-api-proxy. Adding a domain's routes is one line in Routes.
package api
