// Package syncfn is the sync function (catalog "sync"): on a schedule and
// when an integration is connected it
//
//   - reads the merchant's Shopify customers and orders updated since a
//     per-tenant cursor through the Admin GraphQL API (a full backfill the
//     first time), resumably, paced by Shopify's cost-based throttle, and
//     enqueues them for ingest as Shopify-shaped envelopes (REST webhook
//     payloads, source "sync", dedupe id sync:<kind>:<id>:<updatedAt>);
//   - forwards the tenant's Conversions API outbox (filled by ingest, see
//     meta.Outbox) to Meta in batches of at most 1,000, never events older
//     than 7 days;
//   - checks through the Tag Manager API v2 that the PulseHub Collect tag
//     is published in the merchant's container, and records the result.
//
// The package is named syncfn so it does not shadow the standard library's sync.
package syncfn
