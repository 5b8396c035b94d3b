// Package sms sends SMS through Twilio (github.com/twilio/twilio-go) and
// counts segments: Segments tells the encoding (GSM-7 or UCS-2) and the
// number of billed parts of a body, for the campaign validator, ROI cost
// and content checks as much as for the sender's result.
//
// Twilio's answers are classified for the send path: 21610 (the
// recipient replied STOP) is channel.OptedOut, invalid or unreachable
// numbers (21211, 21401, 21612, 21614) are channel.InvalidRecipient, 429
// and 5xx are channel.Retry with Twilio's Retry-After, anything else is
// channel.Failed. Delivery statuses come back to
// PUBLIC_BASE_URL/webhooks/twilio/{tenantId}, which the sender sets as
// each message's StatusCallback.
package sms
