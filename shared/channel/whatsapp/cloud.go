package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
	"github.com/pulsehub/pulsehub/shared/retry"
)

// Provider is the provider name in results, errors and settings.
const Provider = integration.WhatsApp

// Defaults of the Cloud API.
const (
	DefaultBaseURL = "https://graph.facebook.com"
	DefaultVersion = "v21.0"
	// DefaultRate is a business phone number's default throughput
	// (messages per second); Meta raises it on request, and the
	// integration setting messagesPerSecond says when it did.
	DefaultRate = 80
	// MaxText is the longest free-form text body the Cloud API accepts.
	MaxText = 4096
)

// Cloud API error codes the sender classifies
// (developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes).
const (
	codeReengagement    = 131047 // more than 24 hours since the customer last wrote: templates only
	codeMarketingOptOut = 131050 // the user stopped marketing messages from this business
	codeUndeliverable   = 131026 // the recipient cannot receive it (no WhatsApp, old app, …)
	codeThroughput      = 130429 // the phone number's throughput was exceeded
	codePairRate        = 131056 // too many messages to the same recipient in a short time
	codeAccountRate     = 80007  // the WhatsApp Business Account's rate limit
	codeAppRate         = 4      // the app's API call limit
	codeUnknown         = 131000 // something went wrong (Meta's side)
	codeUnavailable     = 131016 // service temporarily unavailable
	codeRecipientList   = 131030 // recipient not in the test number's allowed list
	codeInvalidUser     = 1006   // (legacy) recipient is not a valid WhatsApp user
)

// Limiter takes a token from a shared bucket (ratelimit.Limiter), so the
// per-number limit holds across every sending instance.
type Limiter interface {
	Take(ctx context.Context, scope, key string, r ratelimit.Rule) (time.Duration, error)
}

// Options configure a Sender.
type Options struct {
	Settings *channel.Settings
	Limiter  Limiter
	// BaseURL replaces https://graph.facebook.com (PROVIDER_URL_WHATSAPP).
	BaseURL string
	HTTP    *http.Client // nil: channel.HTTPClient()
	Now     func() time.Time
}

// Sender sends WhatsApp messages through the Cloud API,
// POST /{version}/{phone-number-id}/messages, as each workspace's
// business phone number, within that number's throughput.
type Sender struct {
	settings *channel.Settings
	limiter  Limiter
	base     string
	http     *http.Client
	now      func() time.Time
}

// New returns a Sender.
func New(o Options) *Sender {
	s := &Sender{settings: o.Settings, limiter: o.Limiter, base: strings.TrimRight(o.BaseURL, "/"), http: o.HTTP, now: o.Now}
	if s.base == "" {
		s.base = DefaultBaseURL
	}
	if s.http == nil {
		s.http = channel.HTTPClient()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// pace is the share of a number's throughput the sender uses.
const pace = 0.9

// LimitScope is the ratelimit scope of the per-number buckets.
const LimitScope = "wa-number"

// Send sends m to m.To (E.164). Inside the customer-service window
// (m.WindowOpen) a message with a Body goes as free text; outside it, or
// without a Body, the approved m.Template goes. When WhatsApp refuses free
// text because the window closed after all (131047), the template is sent
// instead if there is one; without one the error is channel.Failed with
// code 131047 (re-engagement needs a template).
func (s *Sender) Send(ctx context.Context, m channel.Message) (channel.Result, error) {
	to := strings.TrimPrefix(strings.TrimSpace(m.To), "+")
	if to == "" {
		return channel.Result{}, channel.Invalid(Provider, "the message has no recipient phone number")
	}
	if len([]rune(m.Body)) > MaxText {
		return channel.Result{}, channel.Invalid(Provider, "the WhatsApp text has %d characters; at most %d", len([]rune(m.Body)), MaxText)
	}
	st, err := s.settings.Get(ctx, m.Tenant, Provider)
	if err != nil {
		return channel.Result{}, err
	}
	acct, err := accountOf(st)
	if err != nil {
		return channel.Result{}, err
	}
	free := m.WindowOpen && strings.TrimSpace(m.Body) != ""
	if !free && m.Template == nil {
		if strings.TrimSpace(m.Body) == "" {
			return channel.Result{}, channel.Invalid(Provider, "the WhatsApp message has neither text nor a template")
		}
		return channel.Result{}, &channel.Error{Outcome: channel.Failed, Provider: Provider, Code: strconv.Itoa(codeReengagement),
			Message: "the customer has not written within 24 hours, so only an approved template may be sent, and the message has none"}
	}
	if free {
		id, err := s.post(ctx, acct, textMessage(to, m))
		if err == nil {
			return channel.Result{Provider: Provider, ProviderMessageID: id, Segments: 1}, nil
		}
		var ce *channel.Error
		if m.Template == nil || !errors.As(err, &ce) || ce.Code != strconv.Itoa(codeReengagement) {
			return channel.Result{}, err
		}
		// The window closed after all (the profile was a little behind): re-engage with the template.
	}
	id, err := s.post(ctx, acct, templateMessage(to, m))
	if err != nil {
		return channel.Result{}, err
	}
	return channel.Result{Provider: Provider, ProviderMessageID: id, Segments: 1, Template: m.Template.Name}, nil
}

// account is a workspace's WhatsApp sender.
type account struct {
	phoneID, version, token string
	rule                    ratelimit.Rule
}

func accountOf(st integration.Settings) (account, error) {
	a := account{phoneID: st.Config["phoneNumberId"], version: st.Config["graphApiVersion"], token: st.Secrets["accessToken"]}
	if a.phoneID == "" || a.token == "" {
		return account{}, channel.Required(Provider, "the whatsapp integration needs phoneNumberId and accessToken")
	}
	if a.version == "" {
		a.version = DefaultVersion
	}
	rate := DefaultRate
	if v := st.Config["messagesPerSecond"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			return account{}, channel.Required(Provider, "messagesPerSecond must be a whole number from 1 to 10000")
		}
		rate = n
	}
	// Paced a tenth below the number's limit: messages leave at the
	// limiter's pace but reach Meta with network jitter, and a strict
	// per-second meter would refuse the ones that bunch up.
	a.rule = ratelimit.Rule{Rate: float64(rate) * pace, Burst: max(1, rate*9/10)}
	return a, nil
}

// waitTurn waits until the number's bucket grants a message.
func (s *Sender) waitTurn(ctx context.Context, a account) error {
	if s.limiter == nil {
		return nil
	}
	for {
		wait, err := s.limiter.Take(ctx, LimitScope, a.phoneID, a.rule)
		if err != nil {
			return &channel.Error{Outcome: channel.Retry, Provider: Provider, Message: "could not take a turn of the phone number's throughput", Err: err}
		}
		if wait == 0 {
			return nil
		}
		if err := retry.Sleep(ctx, wait); err != nil {
			return &channel.Error{Outcome: channel.Retry, Provider: Provider, Code: strconv.Itoa(codeThroughput), RetryAfter: wait,
				Message: "the phone number's throughput is used up", Err: err}
		}
	}
}

// Data the message carries back in every status webhook.
type callbackData struct {
	CampaignID string `json:"campaignId,omitempty"`
	Variant    string `json:"variant,omitempty"`
	CustomerID string `json:"customerId,omitempty"`
}

func opaque(m channel.Message) string {
	b, _ := json.Marshal(callbackData{CampaignID: m.CampaignID, Variant: m.Variant, CustomerID: m.CustomerID})
	if string(b) == "{}" {
		return ""
	}
	return string(b)
}

func textMessage(to string, m channel.Message) map[string]any {
	return map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
		"text":                     map[string]any{"body": m.Body, "preview_url": strings.Contains(m.Body, "https://")},
		"biz_opaque_callback_data": opaque(m),
	}
}

func templateMessage(to string, m channel.Message) map[string]any {
	t := m.Template
	lang := t.Language
	if lang == "" {
		lang = "en_US"
	}
	tpl := map[string]any{"name": t.Name, "language": map[string]string{"code": lang}}
	if len(t.Params) > 0 {
		params := make([]map[string]string, len(t.Params))
		for i, p := range t.Params {
			params[i] = map[string]string{"type": "text", "text": p}
		}
		tpl["components"] = []map[string]any{{"type": "body", "parameters": params}}
	}
	return map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
		"template": tpl, "biz_opaque_callback_data": opaque(m),
	}
}

func (s *Sender) post(ctx context.Context, a account, msg map[string]any) (string, error) {
	if v, _ := msg["biz_opaque_callback_data"].(string); v == "" {
		delete(msg, "biz_opaque_callback_data")
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return "", channel.Invalid(Provider, "cannot encode the message: %v", err)
	}
	if err := s.waitTurn(ctx, a); err != nil {
		return "", err
	}
	u := s.base + "/" + url.PathEscape(a.version) + "/" + url.PathEscape(a.phoneID) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", channel.Invalid(Provider, "bad Graph API URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := s.http.Do(req)
	if err != nil {
		return "", channel.TransportError(Provider, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return "", classify(res.StatusCode, res.Header.Get("Retry-After"), raw, s.now())
	}
	var ok struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if json.Unmarshal(raw, &ok) != nil || len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
		return "", &channel.Error{Outcome: channel.Retry, Provider: Provider, Status: res.StatusCode, MaybeSent: true, Message: "the Cloud API answered without a message id"}
	}
	return ok.Messages[0].ID, nil
}

// graphError is the Graph API's error body.
type graphError struct {
	Error struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		Subcode   int    `json:"error_subcode"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
		Transient bool `json:"is_transient"`
	} `json:"error"`
}

// classify maps a Cloud API error answer by its code first, the HTTP
// status second.
func classify(status int, retryAfter string, raw []byte, now time.Time) error {
	e := &channel.Error{Outcome: channel.StatusOutcome(status), Provider: Provider, Status: status, Code: strconv.Itoa(status),
		RetryAfter: channel.ParseRetryAfter(retryAfter, now)}
	var ge graphError
	if json.Unmarshal(raw, &ge) != nil || ge.Error.Code == 0 {
		e.Message = http.StatusText(status)
		return e
	}
	e.Code = strconv.Itoa(ge.Error.Code)
	e.Message = ge.Error.Message
	if d := ge.Error.ErrorData.Details; d != "" {
		e.Message += ": " + d
	}
	switch ge.Error.Code {
	case codeMarketingOptOut:
		e.Outcome = channel.OptedOut
	case codeUndeliverable, codeInvalidUser:
		e.Outcome = channel.InvalidRecipient
	case codeThroughput, codePairRate, codeAccountRate, codeAppRate:
		e.Outcome = channel.Retry
		if e.RetryAfter == 0 {
			e.RetryAfter = time.Second
			if ge.Error.Code == codePairRate {
				e.RetryAfter = 6 * time.Second // about one message per 6 s to one user
			}
		}
	case codeUnknown, codeUnavailable:
		e.Outcome = channel.Retry
	case codeReengagement, codeRecipientList:
		e.Outcome = channel.Failed
	default:
		if ge.Error.Transient {
			e.Outcome = channel.Retry
		}
	}
	return e
}
