// Package channel holds what every delivery channel shares: the Message a
// send path hands to a channel, the Result it gets back, and the one
// classification of failures (Outcome) that tells the send path what to do
// next. The channels themselves live in the sub-packages email (SendGrid),
// sms (Twilio), push (FCM HTTP v1) and whatsapp (WhatsApp Cloud API); each
// has a Sender with the same method,
//
//	Send(ctx context.Context, m channel.Message) (channel.Result, error)
//
// so the send path declares the interface it needs where it uses it, in
// the shape of listmonk's Messenger:
//
//	type Sender interface {
//		Send(ctx context.Context, m channel.Message) (channel.Result, error)
//	}
//
// A nil error means the provider accepted the message and Result names it
// by the provider's message id (what delivery callbacks refer to). Any
// error is a *Error (OutcomeOf reads it): Retry (429, 5xx, timeouts; after
// RetryAfter when the provider said), Failed (permanent for this message),
// OptedOut (the recipient opted out at the provider: suppress the channel
// for them) or InvalidRecipient (the address or device token is invalid
// or gone: remove it). *Error also carries an apperr kind, so queue
// consumers retry or dead-letter it through the usual tables.
//
// Senders never retry by themselves and keep no per-message state: the
// send path owns idempotency (its claim on campaign#variant#customer#channel,
// Message.Key), backoff and circuit breaking.
package channel
