// Package integration keeps each workspace's provider settings (Shopify,
// Meta, GTM, SendGrid, Twilio, FCM, WhatsApp): plain configuration, and
// secrets sealed with shared/pii that the API never shows again (GET reports
// only whether a secret is set and, for long ones, its last 4 characters).
//
// Put also maintains the global lookups that let webhooks find a tenant
// from what a provider sends — shop domain, collect write key, Meta
// pixel/page/app id, WhatsApp phone number id — with conditional writes so
// two workspaces cannot claim the same shop.
package integration
