// Package ingest turns accepted webhooks and collected events into PulseHub's
// customer data. The webhooks function (and the sync function and the CSV
// importer) put one Envelope per provider event on the ingest queue; the
// ingest function (wired in shared/ingestfn) consumes it, deduplicates on
// the provider's event id, normalises the body by source and topic, and
// hands the result to package profile, which keeps profiles, orders, events, consent and aggregates.
// For workspaces with a Meta pixel it also queues the Conversions API copies
// of purchases, started checkouts, add-to-carts and product views
// (Conversions, meta.Outbox) for the sync function to forward.
package ingest
