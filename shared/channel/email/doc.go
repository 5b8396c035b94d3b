// Package email sends marketing email through SendGrid's v3 Mail Send API
// (github.com/sendgrid/sendgrid-go). Each workspace sends from its own
// address (integration settings fromEmail/fromName, replyToEmail/
// replyToName), every message carries a signed unsubscribe link — in the
// List-Unsubscribe header with List-Unsubscribe-Post:
// List-Unsubscribe=One-Click (RFC 8058) and visibly in the body — and
// custom args naming the campaign, variant and customer, which SendGrid's
// Event Webhook echoes back to /webhooks/sendgrid/{tenantId}.
//
// SendGrid answers 202 with the message id in X-Message-Id; 429 and 5xx
// are channel.Retry (with Retry-After or X-RateLimit-Reset), any other
// error is channel.Failed with SendGrid's messages. Bounces, drops and
// spam reports arrive later through the Event Webhook, not here.
package email
