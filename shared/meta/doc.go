// Package meta forwards conversions to Meta's Conversions API (CAPI): the
// wire format of POST /{pixel_id}/events, user data normalised and SHA-256
// hashed per Meta's customer information rules, batches of at most 1,000
// events, and the 7-day window (older events are never sent).
//
// Events reach the sync function through a per-tenant outbox that ingest
// fills (see Outbox): the Pixel's eventID travels with each event so Meta
// deduplicates the browser and server copies.
package meta
