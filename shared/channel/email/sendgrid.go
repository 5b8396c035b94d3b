package email

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/rest"
	"github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/channel/unsubscribe"
	"github.com/pulsehub/pulsehub/shared/integration"
)

// Provider is the provider name in results, errors and settings.
const Provider = integration.SendGrid

// Custom args every message carries; SendGrid echoes them in each event
// of its Event Webhook.
const (
	ArgCampaign = "campaignId"
	ArgVariant  = "variant"
	ArgCustomer = "customerId"
)

// Options configure a Sender.
type Options struct {
	Settings *channel.Settings
	// Unsubscribe signs the per-recipient unsubscribe links.
	Unsubscribe *unsubscribe.Signer
	// BaseURL replaces https://api.sendgrid.com (PROVIDER_URL_SENDGRID); "" keeps it.
	BaseURL string
	HTTP    *http.Client // nil: channel.HTTPClient()
	Now     func() time.Time
}

// Sender sends email through SendGrid's v3 Mail Send API with sendgrid-go.
type Sender struct {
	settings *channel.Settings
	unsub    *unsubscribe.Signer
	host     string
	client   *rest.Client
	now      func() time.Time
}

// New returns a Sender.
func New(o Options) *Sender {
	hc := o.HTTP
	if hc == nil {
		hc = channel.HTTPClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sender{settings: o.Settings, unsub: o.Unsubscribe, host: strings.TrimRight(o.BaseURL, "/"), client: &rest.Client{HTTPClient: hc}, now: o.Now}
}

// UnsubscribeURL is the signed unsubscribe link of m's recipient; the
// send path renders it as the template variable unsubscribe_url, and Send
// puts the same link in the List-Unsubscribe header.
func (s *Sender) UnsubscribeURL(ctx context.Context, m channel.Message) (string, error) {
	return s.unsub.URL(ctx, unsubscribe.Claims{Tenant: m.Tenant, CustomerID: m.CustomerID, Channel: channel.Email, CampaignID: m.CampaignID, Variant: m.Variant})
}

// Send sends one email to m.To from the workspace's sender, with
// RFC 8058 one-click unsubscribe headers, a visible unsubscribe link
// (added as a footer when the body has none) and custom args naming the
// campaign, variant and customer.
func (s *Sender) Send(ctx context.Context, m channel.Message) (channel.Result, error) {
	switch {
	case strings.TrimSpace(m.To) == "":
		return channel.Result{}, channel.Invalid(Provider, "the message has no recipient email address")
	case strings.TrimSpace(m.Subject) == "":
		return channel.Result{}, channel.Invalid(Provider, "the email has no subject")
	case strings.TrimSpace(m.Body) == "" && strings.TrimSpace(m.Text) == "":
		return channel.Result{}, channel.Invalid(Provider, "the email body is empty")
	case m.CustomerID == "":
		return channel.Result{}, channel.Invalid(Provider, "the message names no customer (its unsubscribe link needs one)")
	}
	st, err := s.settings.Get(ctx, m.Tenant, Provider)
	if err != nil {
		return channel.Result{}, err
	}
	key, from := st.Secrets["apiKey"], st.Config["fromEmail"]
	if key == "" || from == "" {
		return channel.Result{}, channel.Required(Provider, "the sendgrid integration needs apiKey and fromEmail")
	}
	unsubURL, err := s.UnsubscribeURL(ctx, m)
	if err != nil {
		return channel.Result{}, &channel.Error{Outcome: channel.Retry, Provider: Provider, Message: "could not sign the unsubscribe link", Err: err}
	}

	v3 := mail.NewV3Mail()
	v3.SetFrom(mail.NewEmail(st.Config["fromName"], from))
	if rt := st.Config["replyToEmail"]; rt != "" {
		v3.SetReplyTo(mail.NewEmail(st.Config["replyToName"], rt))
	}
	v3.Subject = m.Subject
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail("", m.To))
	v3.AddPersonalizations(p)
	// SendGrid wants text/plain before text/html.
	if m.Text != "" {
		v3.AddContent(mail.NewContent("text/plain", withTextFooter(m.Text, unsubURL)))
	}
	if m.Body != "" {
		v3.AddContent(mail.NewContent("text/html", withHTMLFooter(m.Body, unsubURL)))
	}
	v3.SetHeader("List-Unsubscribe", "<"+unsubURL+">")
	v3.SetHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	for k, v := range m.Data {
		v3.SetCustomArg(k, v)
	}
	v3.SetCustomArg(ArgCustomer, m.CustomerID)
	if m.CampaignID != "" {
		v3.SetCustomArg(ArgCampaign, m.CampaignID)
	}
	if m.Variant != "" {
		v3.SetCustomArg(ArgVariant, m.Variant)
	}

	req := sendgrid.GetRequest(key, "/v3/mail/send", s.host)
	req.Method = rest.Post
	req.Body = mail.GetRequestBody(v3)
	res, err := s.client.SendWithContext(ctx, req)
	if err != nil {
		return channel.Result{}, channel.TransportError(Provider, err)
	}
	if res.StatusCode/100 != 2 {
		return channel.Result{}, s.classify(res)
	}
	id := http.Header(res.Headers).Get("X-Message-Id")
	if id == "" {
		return channel.Result{}, &channel.Error{Outcome: channel.Retry, Provider: Provider, Status: res.StatusCode, MaybeSent: true, Message: "sendgrid accepted the message without an X-Message-Id"}
	}
	return channel.Result{Provider: Provider, ProviderMessageID: id, Segments: 1}, nil
}

// sgErrors is SendGrid's error body.
type sgErrors struct {
	Errors []struct {
		Message string  `json:"message"`
		Field   *string `json:"field"`
	} `json:"errors"`
}

func (s *Sender) classify(res *rest.Response) error {
	e := &channel.Error{Outcome: channel.StatusOutcome(res.StatusCode), Provider: Provider, Status: res.StatusCode, Code: strconv.Itoa(res.StatusCode)}
	var body sgErrors
	if json.Unmarshal([]byte(res.Body), &body) == nil {
		var msgs []string
		for _, x := range body.Errors {
			if x.Field != nil && *x.Field != "" {
				msgs = append(msgs, *x.Field+": "+x.Message)
			} else {
				msgs = append(msgs, x.Message)
			}
		}
		e.Message = strings.Join(msgs, "; ")
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	h := http.Header(res.Headers)
	now := s.now()
	e.RetryAfter = channel.ParseRetryAfter(h.Get("Retry-After"), now)
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && e.RetryAfter == 0 {
		if d := time.Unix(reset, 0).Sub(now); d > 0 {
			e.RetryAfter = d
		}
	}
	return e
}

// withHTMLFooter appends a visible unsubscribe link unless the body
// already links to it (the template's {{ unsubscribe_url }}).
func withHTMLFooter(body, link string) string {
	if strings.Contains(body, link) || strings.Contains(body, html.EscapeString(link)) {
		return body
	}
	footer := `<p style="font-size:12px;color:#666">Don't want these emails? <a href="` + html.EscapeString(link) + `">Unsubscribe</a>.</p>`
	if i := strings.LastIndex(strings.ToLower(body), "</body>"); i >= 0 {
		return body[:i] + footer + body[i:]
	}
	return body + "\n" + footer
}

func withTextFooter(text, link string) string {
	if strings.Contains(text, link) {
		return text
	}
	return text + "\n\nUnsubscribe: " + link + "\n"
}
