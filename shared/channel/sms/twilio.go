package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/integration"
)

// Provider is the provider name in results, errors and settings.
const Provider = integration.Twilio

// MaxBody is the longest body Twilio accepts (error 21617 above it).
const MaxBody = 1600

// Twilio error codes the sender classifies (www.twilio.com/docs/api/errors).
const (
	codeOptedOut        = 21610 // attempt to send to an unsubscribed recipient (replied STOP)
	codeInvalidTo       = 21211 // invalid 'To' phone number
	codeNotMobile       = 21614 // 'To' is not a valid mobile number
	codeInvalidNumber   = 21401 // invalid phone number
	codeUnreachable     = 21612 // 'To' cannot be reached by this channel (landline, unroutable)
	codeTooManyRequests = 20429
)

// Options configure a Sender.
type Options struct {
	Settings *channel.Settings
	// BaseURL replaces https://api.twilio.com (PROVIDER_URL_TWILIO); "" keeps it.
	BaseURL string
	// PublicURL is PUBLIC_BASE_URL: status callbacks go to
	// PublicURL/webhooks/twilio/{tenantId}. "" sends no StatusCallback.
	PublicURL string
	HTTP      *http.Client // nil: channel.HTTPClient()
}

// Sender sends SMS through Twilio's Messages API with twilio-go, using
// each workspace's account SID and auth token and its Messaging Service
// (preferred: Twilio picks the sender) or From number.
type Sender struct {
	settings  *channel.Settings
	base      *url.URL // nil: Twilio itself
	publicURL string
	http      *http.Client
}

// New returns a Sender.
func New(o Options) (*Sender, error) {
	s := &Sender{settings: o.Settings, publicURL: strings.TrimRight(o.PublicURL, "/"), http: o.HTTP}
	if s.http == nil {
		s.http = channel.HTTPClient()
	}
	if o.BaseURL != "" {
		u, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("sms: base URL %q: want scheme://host[/prefix]", o.BaseURL)
		}
		s.base = u
	}
	return s, nil
}

// Send sends m.Body to m.To (E.164). The result carries the message SID
// and the segment count and encoding Twilio bills.
func (s *Sender) Send(ctx context.Context, m channel.Message) (channel.Result, error) {
	switch {
	case strings.TrimSpace(m.To) == "":
		return channel.Result{}, channel.Invalid(Provider, "the message has no recipient phone number")
	case strings.TrimSpace(m.Body) == "":
		return channel.Result{}, channel.Invalid(Provider, "the SMS body is empty")
	case len([]rune(m.Body)) > MaxBody:
		return channel.Result{}, channel.Invalid(Provider, "the SMS body has %d characters; Twilio accepts at most %d", len([]rune(m.Body)), MaxBody)
	}
	st, err := s.settings.Get(ctx, m.Tenant, Provider)
	if err != nil {
		return channel.Result{}, err
	}
	sid, token := st.Config["accountSid"], st.Secrets["authToken"]
	if sid == "" || token == "" {
		return channel.Result{}, channel.Required(Provider, "the twilio integration needs accountSid and authToken")
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To).SetBody(m.Body)
	switch {
	case st.Config["messagingServiceSid"] != "":
		p.SetMessagingServiceSid(st.Config["messagingServiceSid"])
	case st.Config["fromNumber"] != "":
		p.SetFrom(st.Config["fromNumber"])
	default:
		return channel.Result{}, channel.Required(Provider, "the twilio integration needs a messagingServiceSid or a fromNumber")
	}
	if s.publicURL != "" {
		p.SetStatusCallback(StatusCallback(s.publicURL, m))
	}

	rt := &call{ctx: ctx, base: s.base, next: s.http.Transport}
	c := &client.Client{Credentials: client.NewCredentials(sid, token), HTTPClient: &http.Client{Transport: rt, Timeout: s.http.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.SetAccountSid(sid)
	msg, err := openapi.NewApiService(client.NewRequestHandler(c)).CreateMessage(p)
	if err != nil {
		return channel.Result{}, classify(err, rt)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		return channel.Result{}, &channel.Error{Outcome: channel.Retry, Provider: Provider, Status: rt.status, MaybeSent: true, Message: "twilio accepted the message without a sid"}
	}
	info := Segments(m.Body)
	return channel.Result{Provider: Provider, ProviderMessageID: *msg.Sid, Segments: info.Segments, Encoding: info.Encoding}, nil
}

// StatusCallback is the URL Twilio reports m's statuses to:
// publicURL/webhooks/twilio/{tenantId}, with the campaign and variant in
// the query (Twilio has no custom args; it signs the whole URL).
func StatusCallback(publicURL string, m channel.Message) string {
	u := strings.TrimRight(publicURL, "/") + "/webhooks/twilio/" + url.PathEscape(m.Tenant)
	q := url.Values{}
	if m.CampaignID != "" {
		q.Set("campaignId", m.CampaignID)
	}
	if m.Variant != "" {
		q.Set("variant", m.Variant)
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// classify turns twilio-go's error into a channel.Error.
func classify(err error, rt *call) error {
	var te *client.TwilioRestError
	if !errors.As(err, &te) {
		if rt.status == 0 {
			return channel.TransportError(Provider, err)
		}
		// An answer twilio-go could not decode (not Twilio's error JSON).
		return &channel.Error{Outcome: channel.StatusOutcome(rt.status), Provider: Provider, Status: rt.status, Code: strconv.Itoa(rt.status), RetryAfter: rt.retryAfter, Message: "unexpected answer", Err: err}
	}
	e := &channel.Error{Provider: Provider, Code: strconv.Itoa(te.Code), Status: te.Status, Message: te.Message, RetryAfter: rt.retryAfter}
	switch {
	case te.Code == codeOptedOut:
		e.Outcome = channel.OptedOut
	case te.Code == codeInvalidTo, te.Code == codeNotMobile, te.Code == codeInvalidNumber, te.Code == codeUnreachable:
		e.Outcome = channel.InvalidRecipient
	case te.Code == codeTooManyRequests, te.Status == http.StatusTooManyRequests:
		e.Outcome, e.Status = channel.Retry, http.StatusTooManyRequests
	default:
		e.Outcome = channel.StatusOutcome(te.Status)
	}
	return e
}

// call is the transport of one Send: it sends twilio-go's request to the
// base URL with the caller's context (twilio-go has none) and keeps the
// answer's status and Retry-After, which twilio-go's error drops.
type call struct {
	ctx        context.Context
	base       *url.URL
	next       http.RoundTripper
	status     int
	retryAfter time.Duration
}

func (c *call) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(c.ctx)
	if c.base != nil {
		req.URL.Scheme, req.URL.Host = c.base.Scheme, c.base.Host
		req.URL.Path = c.base.Path + req.URL.Path
		req.Host = c.base.Host
	}
	next := c.next
	if next == nil {
		next = http.DefaultTransport
	}
	res, err := next.RoundTrip(req)
	if err == nil {
		c.status = res.StatusCode
		c.retryAfter = channel.ParseRetryAfter(res.Header.Get("Retry-After"), time.Now())
	}
	return res, err
}
