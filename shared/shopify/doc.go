// Package shopify speaks to Shopify: the Admin GraphQL API (backfill and
// reconciliation of customers and orders, with cost-based throttling read
// from extensions.cost.throttleStatus) and the webhook signature scheme
// (base64 HMAC-SHA256 of the raw body), used to sign the demo and replayed
// webhooks PulseHub sends to itself.
//
// Data read over GraphQL is converted to the REST webhook payload shapes
// (Order, Customer, Refund, Checkout) so that ingest has one normaliser per
// topic, whether a record arrived by webhook, by sync or by import.
package shopify
