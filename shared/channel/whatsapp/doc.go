// Package whatsapp sends WhatsApp messages through the Cloud API (Graph
// API POST /{version}/{phone-number-id}/messages; there is no official Go
// client, so plain net/http speaks its JSON). Free-form text may go only
// inside the 24-hour customer-service window (the customer wrote within a
// day: profile.Profile.WhatsAppWindowOpen); outside it only an approved
// template with its parameters. When the Cloud API refuses free text with
// 131047 (re-engagement message) the approved template is sent instead,
// or, without one, the message fails with that code.
//
// Each business phone number has a throughput (80 messages/s by default,
// messagesPerSecond in the integration settings when Meta raised it); the
// sender takes a turn from a ratelimit bucket per phone number id before
// every call, so the limit holds across all sending instances; it paces at
// 90 % of the limit, so messages that bunch up on the way (network
// jitter) are not refused with 130429.
//
// Errors: 131050 (the user stopped marketing messages) is
// channel.OptedOut, 131026 (undeliverable) channel.InvalidRecipient,
// throughput and rate limits (130429, 131056, 80007, 4) and Meta's
// transient errors channel.Retry, everything else channel.Failed.
// Statuses come back through the signed /webhooks/whatsapp callback with
// biz_opaque_callback_data naming the campaign, variant and customer.
package whatsapp
