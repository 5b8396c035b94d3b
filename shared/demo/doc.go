// Package demo builds and seeds the demo workspace (docs/demo.md). The data is real purchase behaviour — the CDNOW sample, 2,357
// customers and 6,919 transactions, embedded here — with dates shifted so
// the history ends today, same-day rows merged into one order, and generated
// names, emails, phones, consents, CDs and on-site events. Everything is
// derived from fixed seeds: the same day gives the same webhooks.
//
// Seeding goes through the real path only: sign-up and integration settings
// over the HTTP API, then signed Shopify webhooks to /webhooks/shopify and
// events to /collect, and a wait until ingest has processed them.
package demo
