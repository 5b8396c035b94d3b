// Package push sends push notifications through the FCM HTTP v1 API
// (POST /v1/projects/{projectId}/messages:send) with an OAuth 2.0 access
// token from each workspace's service account, obtained and refreshed by
// golang.org/x/oauth2/google's JWT flow against the account's token_uri.
// The Firebase Admin Go SDK was measured and not used: see the README's
// dependency table and docs/channels.md for the numbers.
//
// A customer's device tokens live in their profile partition
// (profile.Store.RegisterDevice, fed by the on-site events push_subscribed
// and push_unsubscribed through /collect, docs/channels.md). A message
// without a token goes to each of the customer's devices; a token FCM
// reports gone (UNREGISTERED, 404; SENDER_ID_MISMATCH; an unparseable
// token) is removed on the spot. QUOTA_EXCEEDED, UNAVAILABLE and INTERNAL
// are channel.Retry (after Retry-After); other errors channel.Failed.
// FCM sends no delivery callbacks: opens are reported by the app.
package push
