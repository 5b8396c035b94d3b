// Package webhook is the front door for provider callbacks and browser
// events: it verifies each request the way its provider signs it (Shopify,
// Meta, WhatsApp Cloud, Twilio, SendGrid) or by the tenant's write key
// (/collect), resolves the tenant from verified data only, and puts one
// ingest.Envelope per provider event on the ingest queue. It does no heavy
// work so it answers well inside the providers' timeouts; normalising the
// payloads is package ingest's job.
package webhook
