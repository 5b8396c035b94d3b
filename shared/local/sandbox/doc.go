// Package sandbox is the local runtime's stand-in for external providers
// (SendGrid, Twilio, FCM, WhatsApp Cloud, OpenAI, Shopify Admin, Meta Graph,
// Tag Manager). Each provider emulator is a Provider that serves its real
// wire protocol under /sandbox/<name>/ so the real client library runs end
// to end, records what it received in the Outbox (GET/DELETE /dev/outbox),
// and sends the provider's signed callbacks back to /webhooks/... through
// Callbacks.
package sandbox
