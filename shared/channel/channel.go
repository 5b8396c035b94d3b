package channel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
)

// Channel names, as campaigns, consent and delivery records spell them.
const (
	Email    = "email"
	SMS      = "sms"
	Push     = "push"
	WhatsApp = "whatsapp"
)

// Message is one rendered message to one recipient on one channel.
type Message struct {
	Tenant     string
	CustomerID string
	CampaignID string // the campaign, or the flow, that sends it
	Variant    string // A/B variant ("" or "A" when there is one)
	Channel    string
	// Key is the send path's idempotency key, campaign#variant#customer#channel
	// (see Key). Providers that take one get it; the others get it as metadata.
	Key string
	// To is the address on the channel: an email address, an E.164 phone
	// number (SMS, WhatsApp) or an FCM registration token (push).
	To string

	Subject string // email
	Title   string // push
	// Body is the email's HTML, or the text of an SMS, a push notification
	// or a WhatsApp free-form message.
	Body string
	Text string // email: the plain-text alternative ("" sends HTML only)
	// URL is what a push notification opens when tapped.
	URL      string
	ImageURL string // push

	// Template is the WhatsApp template sent outside the customer-service
	// window (and inside it when there is no Body).
	Template *Template
	// WindowOpen reports whether the customer wrote on WhatsApp within the
	// last 24 hours (profile.Profile.WhatsAppWindowOpen): only then may a
	// free-form WhatsApp message be sent.
	WindowOpen bool

	// Data is extra metadata carried with the message (SendGrid custom args,
	// FCM data); keys must not collide with the ones the channel sets.
	Data map[string]string
}

// Template is an approved WhatsApp message template with its parameters.
type Template struct {
	Name     string
	Language string   // e.g. "en_US"
	Params   []string // body parameters {{1}}, {{2}}, … in order
}

// Key returns the send path's idempotency key for a message.
func Key(campaignID, variant, customerID, channel string) string {
	return campaignID + "#" + variant + "#" + customerID + "#" + channel
}

// Result is what a provider answered for an accepted message.
type Result struct {
	Provider          string // sendgrid, twilio, fcm, whatsapp
	ProviderMessageID string // what delivery and engagement callbacks refer to
	// Segments is the number of billed parts: SMS segments; 1 for the
	// other channels.
	Segments int
	Encoding string // SMS: GSM-7 or UCS-2
	// Template names the WhatsApp template actually sent ("" for free text).
	Template string
}

// Outcome says what the send path should do after a failure.
type Outcome int

const (
	// Failed is permanent for this message: do not retry it.
	Failed Outcome = iota
	// Retry means try again later (rate limited, provider error, timeout),
	// after Error.RetryAfter when the provider said.
	Retry
	// OptedOut means the recipient opted out at the provider (Twilio 21610,
	// WhatsApp 131050): record the suppression, send nothing more there.
	OptedOut
	// InvalidRecipient means the address or device token is invalid or no
	// longer registered: remove it.
	InvalidRecipient
)

var outcomeNames = [...]string{"failed", "retry", "opted_out", "invalid_recipient"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Error is a classified delivery failure.
type Error struct {
	Outcome  Outcome
	Provider string
	// Code is the provider's own code (Twilio "21610", FCM "UNREGISTERED",
	// WhatsApp "131047") or the HTTP status when the provider gave none.
	Code       string
	Status     int           // HTTP status of the answer; 0 without one
	RetryAfter time.Duration // how long the provider asked to wait (Retry)
	// MaybeSent is true when the request may have reached the provider
	// although no answer came back (a timeout after the request was
	// written): retrying may deliver the message twice.
	MaybeSent bool
	Message   string
	Err       error
}

func (e *Error) Error() string {
	s := e.Provider + ": " + e.Outcome.String()
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes an apperr classification (so queue consumers retry or
// dead-letter through apperr's tables) and the cause.
func (e *Error) Unwrap() []error {
	kind := apperr.Invalid
	switch {
	case e.Outcome == Retry && e.Status == http.StatusTooManyRequests:
		kind = apperr.RateLimited
	case e.Outcome == Retry:
		kind = apperr.Transient
	}
	a := &apperr.Error{Kind: kind, Message: e.Provider + " " + e.Outcome.String() + ": " + e.Message, RetryAfter: e.RetryAfter}
	if e.Err != nil {
		return []error{a, e.Err}
	}
	return []error{a}
}

// OutcomeOf returns the outcome of a send error: the *Error's, Retry for
// an unclassified error (a bug or an outage is worth another try later).
func OutcomeOf(err error) Outcome {
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome
	}
	return Retry
}

// RetryAfter returns how long the provider asked to wait, 0 if it did not.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// StatusOutcome classifies an HTTP answer without a more specific provider
// code: 429, 408 and 5xx are worth retrying, anything else is final.
func StatusOutcome(status int) Outcome {
	if status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500 {
		return Retry
	}
	return Failed
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// TransportError classifies a request that got no HTTP answer. Every such
// failure is Retry; MaybeSent is false only when the connection was never
// made (refused, DNS), so the provider cannot have seen the request.
func TransportError(provider string, err error) *Error {
	e := &Error{Outcome: Retry, Provider: provider, Message: "no answer from " + provider, Err: err, MaybeSent: true}
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &dns):
		e.MaybeSent = false
	case errors.As(err, &op) && op.Op == "dial":
		e.MaybeSent = false
	}
	if errors.Is(err, context.Canceled) {
		e.Message = "cancelled before " + provider + " answered"
	}
	return e
}

// Required names a missing setting as a Failed error: a workspace whose
// integration is not configured cannot send on that channel.
func Required(provider, what string) *Error {
	return &Error{Outcome: Failed, Provider: provider, Code: "not_configured", Message: what}
}

// Invalid reports a message the channel refuses before calling the
// provider (no recipient, empty body): Failed, naming the field.
func Invalid(provider, format string, args ...any) *Error {
	return &Error{Outcome: Failed, Provider: provider, Code: "invalid_message", Message: fmt.Sprintf(format, args...)}
}

// HTTPClient is the client a sender uses unless given one: a 10 s timeout
// and a connection pool sized for a send batch's concurrency (Go's default
// keeps 2 idle connections per host, so 32 concurrent sends would open and
// close a connection for most requests).
func HTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 64
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}
