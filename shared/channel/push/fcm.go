package push

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// Provider is the provider name in results, errors and settings.
const Provider = integration.FCM

// Scope is the OAuth 2.0 scope of the FCM HTTP v1 API.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// DefaultBaseURL is FCM's own endpoint.
const DefaultBaseURL = "https://fcm.googleapis.com"

// MaxDevices bounds how many of a customer's devices one message reaches
// (the newest first).
const MaxDevices = 10

// Devices keeps customers' push tokens (profile.Store).
type Devices interface {
	Devices(ctx context.Context, tenant, customerID string) ([]profile.Device, error)
	RemoveDevice(ctx context.Context, tenant, customerID, token string) error
}

// Options configure a Sender.
type Options struct {
	Settings *channel.Settings
	Devices  Devices
	// BaseURL replaces https://fcm.googleapis.com (PROVIDER_URL_FCM). The
	// OAuth token endpoint is the service account's own token_uri.
	BaseURL string
	HTTP    *http.Client // nil: channel.HTTPClient()
	Now     func() time.Time
}

// Sender sends push notifications through the FCM HTTP v1 API, with an
// OAuth 2.0 access token from each workspace's service account
// (golang.org/x/oauth2/google, cached and refreshed before it expires).
type Sender struct {
	settings *channel.Settings
	devices  Devices
	base     string
	http     *http.Client
	now      func() time.Time

	mu      sync.Mutex
	sources map[string]tokenSource // tenant → its service account's token source
}

type tokenSource struct {
	sum     [32]byte // of the service account JSON it was made from
	project string
	ts      oauth2.TokenSource
}

// New returns a Sender.
func New(o Options) *Sender {
	s := &Sender{settings: o.Settings, devices: o.Devices, base: strings.TrimRight(o.BaseURL, "/"), http: o.HTTP, now: o.Now, sources: map[string]tokenSource{}}
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

// Send sends a notification (m.Title, m.Body, m.URL, m.ImageURL) to the
// device token m.To, or, when m.To is empty, to each of the customer's
// registered devices (newest first, at most MaxDevices). A token FCM
// reports as gone (UNREGISTERED, SENDER_ID_MISMATCH, an invalid token) is
// removed from the customer's devices. The result names the first
// accepted message; a customer left with no working device is
// channel.InvalidRecipient.
func (s *Sender) Send(ctx context.Context, m channel.Message) (channel.Result, error) {
	if strings.TrimSpace(m.Title) == "" && strings.TrimSpace(m.Body) == "" {
		return channel.Result{}, channel.Invalid(Provider, "the push notification has neither title nor body")
	}
	tokens := []string{m.To}
	if m.To == "" {
		if m.CustomerID == "" || s.devices == nil {
			return channel.Result{}, channel.Invalid(Provider, "the message has neither a device token nor a customer")
		}
		ds, err := s.devices.Devices(ctx, m.Tenant, m.CustomerID)
		if err != nil {
			return channel.Result{}, &channel.Error{Outcome: channel.Retry, Provider: Provider, Message: "could not read the customer's devices", Err: err}
		}
		tokens = tokens[:0]
		for _, d := range ds {
			if len(tokens) < MaxDevices {
				tokens = append(tokens, d.Token)
			}
		}
		if len(tokens) == 0 {
			return channel.Result{}, &channel.Error{Outcome: channel.InvalidRecipient, Provider: Provider, Code: "no_device", Message: "the customer has no registered device"}
		}
	}
	project, ts, err := s.source(ctx, m.Tenant)
	if err != nil {
		return channel.Result{}, err
	}
	var first channel.Result
	var errs []error
	for _, tok := range tokens {
		id, err := s.sendOne(ctx, project, ts, tok, m)
		if err == nil {
			if first.ProviderMessageID == "" {
				first = channel.Result{Provider: Provider, ProviderMessageID: id, Segments: 1}
			}
			continue
		}
		if channel.OutcomeOf(err) == channel.InvalidRecipient && m.CustomerID != "" && s.devices != nil {
			if rerr := s.devices.RemoveDevice(ctx, m.Tenant, m.CustomerID, tok); rerr != nil {
				errs = append(errs, &channel.Error{Outcome: channel.Retry, Provider: Provider, Message: "could not remove a stale device token", Err: rerr})
			}
		}
		errs = append(errs, err)
	}
	if first.ProviderMessageID != "" {
		return first, nil // reached at least one device; stale tokens are gone
	}
	return channel.Result{}, worst(errs)
}

// worst picks the error that decides the send path's next step when no
// device was reached: a retryable one first (another try may reach a
// device), then the first.
func worst(errs []error) error {
	for _, e := range errs {
		if channel.OutcomeOf(e) == channel.Retry {
			return e
		}
	}
	return errs[0]
}

// fcmMessage is the v1 API's message (the fields PulseHub uses).
type fcmMessage struct {
	Token        string            `json:"token"`
	Notification *fcmNotification  `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
	Webpush      *fcmWebpush       `json:"webpush,omitempty"`
	FCMOptions   *fcmOptions       `json:"fcm_options,omitempty"`
}

type fcmNotification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	Image string `json:"image,omitempty"`
}

type fcmWebpush struct {
	FCMOptions struct {
		Link string `json:"link,omitempty"`
	} `json:"fcm_options"`
}

type fcmOptions struct {
	AnalyticsLabel string `json:"analytics_label,omitempty"`
}

// Data keys every notification carries, for the app to report opens.
const (
	DataCampaign = "campaignId"
	DataVariant  = "variant"
	DataCustomer = "customerId"
	DataURL      = "url"
)

func (s *Sender) sendOne(ctx context.Context, project string, ts oauth2.TokenSource, token string, m channel.Message) (string, error) {
	if strings.TrimSpace(token) == "" {
		return "", channel.Invalid(Provider, "empty device token")
	}
	msg := fcmMessage{Token: token, Notification: &fcmNotification{Title: m.Title, Body: m.Body, Image: m.ImageURL}, Data: map[string]string{}}
	for k, v := range m.Data {
		msg.Data[k] = v
	}
	for k, v := range map[string]string{DataCampaign: m.CampaignID, DataVariant: m.Variant, DataCustomer: m.CustomerID, DataURL: m.URL} {
		if v != "" {
			msg.Data[k] = v
		}
	}
	if m.URL != "" && strings.HasPrefix(m.URL, "https://") {
		msg.Webpush = &fcmWebpush{}
		msg.Webpush.FCMOptions.Link = m.URL
	}
	if label := analyticsLabel(m.CampaignID); label != "" {
		msg.FCMOptions = &fcmOptions{AnalyticsLabel: label}
	}
	body, err := json.Marshal(map[string]any{"message": msg})
	if err != nil {
		return "", channel.Invalid(Provider, "cannot encode the message: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		return "", tokenError(err)
	}
	u := s.base + "/v1/projects/" + url.PathEscape(project) + "/messages:send"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", channel.Invalid(Provider, "bad FCM URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	tok.SetAuthHeader(req)
	res, err := s.http.Do(req)
	if err != nil {
		return "", channel.TransportError(Provider, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode != http.StatusOK {
		return "", classify(res.StatusCode, res.Header.Get("Retry-After"), raw, s.now())
	}
	var ok struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &ok) != nil || ok.Name == "" {
		return "", &channel.Error{Outcome: channel.Retry, Provider: Provider, Status: res.StatusCode, MaybeSent: true, Message: "FCM answered 200 without a message name"}
	}
	return ok.Name, nil
}

// analyticsLabel fits a campaign id to FCM's analytics label syntax
// ([a-zA-Z0-9-_.~%]{1,50}).
func analyticsLabel(id string) string {
	var b strings.Builder
	for _, r := range id {
		if b.Len() >= 50 {
			break
		}
		if r < 128 && (r == '-' || r == '_' || r == '.' || r == '~' || r == '%' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fcmError is Google's error body with FCM's error code in details.
type fcmError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type      string `json:"@type"`
			ErrorCode string `json:"errorCode"`
		} `json:"details"`
	} `json:"error"`
}

// classify maps an FCM error answer (firebase.google.com/docs/cloud-messaging/error-codes).
func classify(status int, retryAfter string, raw []byte, now time.Time) error {
	e := &channel.Error{Outcome: channel.StatusOutcome(status), Provider: Provider, Status: status, Code: strconv.Itoa(status),
		RetryAfter: channel.ParseRetryAfter(retryAfter, now)}
	var fe fcmError
	if json.Unmarshal(raw, &fe) == nil {
		e.Message = fe.Error.Message
		if fe.Error.Status != "" {
			e.Code = fe.Error.Status
		}
		for _, d := range fe.Error.Details {
			if strings.HasSuffix(d.Type, "google.firebase.fcm.v1.FcmError") && d.ErrorCode != "" {
				e.Code = d.ErrorCode
			}
		}
	}
	switch e.Code {
	case "UNREGISTERED", "SENDER_ID_MISMATCH":
		e.Outcome = channel.InvalidRecipient
	case "INVALID_ARGUMENT":
		// Also a bad payload; only a token FCM cannot parse is the device's fault.
		if strings.Contains(strings.ToLower(e.Message), "registration token") {
			e.Outcome = channel.InvalidRecipient
		}
	case "QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL":
		e.Outcome = channel.Retry
	case "THIRD_PARTY_AUTH_ERROR", "UNAUTHENTICATED", "PERMISSION_DENIED":
		e.Outcome = channel.Failed
	}
	if e.Outcome == channel.Retry && status == http.StatusTooManyRequests && e.RetryAfter == 0 {
		e.RetryAfter = time.Minute // FCM asks for at least a minute after QUOTA_EXCEEDED
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// tokenError classifies a failed OAuth token exchange: a refused service
// account is a configuration problem, anything else worth a retry.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		st := re.Response.StatusCode
		return &channel.Error{Outcome: channel.StatusOutcome(st), Provider: Provider, Status: st, Code: "oauth_" + strconv.Itoa(st),
			Message: "the service account's access token was refused: " + strings.TrimSpace(re.ErrorDescription+" "+re.ErrorCode), Err: err}
	}
	return channel.TransportError(Provider, err)
}

// source returns the tenant's project id and token source, made once per
// service account JSON (a changed JSON makes a new one).
func (s *Sender) source(ctx context.Context, tenant string) (string, oauth2.TokenSource, error) {
	st, err := s.settings.Get(ctx, tenant, Provider)
	if err != nil {
		return "", nil, err
	}
	js := st.Secrets["serviceAccountJson"]
	if js == "" {
		return "", nil, channel.Required(Provider, "the fcm integration needs serviceAccountJson")
	}
	sum := sha256.Sum256([]byte(js))
	s.mu.Lock()
	c, ok := s.sources[tenant]
	s.mu.Unlock()
	if ok && c.sum == sum {
		return c.project, c.ts, nil
	}
	cfg, err := google.JWTConfigFromJSON([]byte(js), Scope)
	if err != nil {
		return "", nil, channel.Required(Provider, "serviceAccountJson is not a service account key: "+err.Error())
	}
	project := st.Config["projectId"]
	if project == "" {
		var f struct {
			ProjectID string `json:"project_id"`
		}
		_ = json.Unmarshal([]byte(js), &f)
		project = f.ProjectID
	}
	if project == "" {
		return "", nil, channel.Required(Provider, "the fcm integration needs projectId (or a project_id in the service account)")
	}
	// The token source outlives this request: it refreshes with its own
	// context, through the sender's HTTP client.
	tctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.http)
	c = tokenSource{sum: sum, project: project, ts: cfg.TokenSource(tctx)}
	s.mu.Lock()
	if len(s.sources) >= 10_000 {
		clear(s.sources)
	}
	s.sources[tenant] = c
	s.mu.Unlock()
	return c.project, c.ts, nil
}
