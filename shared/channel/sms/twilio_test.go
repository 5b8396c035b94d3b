package sms_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/channel/channeltest"
	"github.com/pulsehub/pulsehub/shared/channel/sms"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/webhook"
)

const publicURL = "https://api.pulsehub.test"

func newSender(t *testing.T, env *channeltest.Env, timeout time.Duration) *sms.Sender {
	t.Helper()
	s, err := sms.New(sms.Options{Settings: env.Settings, BaseURL: env.ProviderURL("twilio"), PublicURL: publicURL, HTTP: &http.Client{Timeout: timeout}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func message(env *channeltest.Env) channel.Message {
	return channel.Message{Tenant: env.Tenant, CustomerID: "c-7", CampaignID: "camp-9", Variant: "A", Channel: channel.SMS,
		To: "+15555550123", Body: "Demo Records: 20% off LPs this weekend € — reply STOP to opt out"}
}

func TestSendWhatTwilioReceives(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Engagement["sms"] = sandbox.Model{Delivered: 1}
	env := channeltest.Start(t, &cfg)
	s := newSender(t, env, 5*time.Second)
	m := message(env)
	res, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.ProviderMessageID, "SM") || res.Provider != "twilio" || res.Segments != 1 || res.Encoding != sms.UCS2 { // the em dash is not GSM-7
		t.Fatalf("result %+v", res)
	}
	tw := env.Integrations["twilio"]
	reqs := env.Messaging.Requests("twilio")
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/2010-04-01/Accounts/"+tw.Config["accountSid"]+"/Messages.json" || !strings.HasPrefix(r.Header.Get("User-Agent"), "twilio-go/") {
		t.Errorf("path %s user agent %q", r.Path, r.Header.Get("User-Agent"))
	}
	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	req.Header = r.Header
	if user, pass, ok := req.BasicAuth(); !ok || user != tw.Config["accountSid"] || pass != tw.Secrets["authToken"] {
		t.Errorf("basic auth %q %q", user, pass)
	}
	form, _ := url.ParseQuery(string(r.Body))
	callback := publicURL + "/webhooks/twilio/" + env.Tenant + "?campaignId=camp-9&variant=A"
	if form.Get("To") != m.To || form.Get("Body") != m.Body || form.Get("MessagingServiceSid") != tw.Config["messagingServiceSid"] ||
		form.Get("From") != "" || form.Get("StatusCallback") != callback {
		t.Errorf("form %v", form)
	}
	out := env.Sandbox.Outbox.List(sandbox.Filter{Channel: "sms", CampaignID: "camp-9"})
	if len(out) != 1 || out[0].ProviderMessageID != res.ProviderMessageID || out[0].Variant != "A" || out[0].Body != m.Body {
		t.Fatalf("outbox %+v", out)
	}
	// Status callbacks sent, delivered: to the StatusCallback, signed over its full URL.
	var statuses []string
	for _, cb := range env.Callbacks() {
		f, _ := url.ParseQuery(string(cb.Body))
		params := map[string]string{}
		for k, v := range f {
			params[k] = v[0]
		}
		if publicURL+cb.Path != callback || !webhook.VerifyTwilio(tw.Secrets["authToken"], callback, params, cb.Header.Get("X-Twilio-Signature")) {
			t.Fatalf("callback %s does not verify", cb.Path)
		}
		if params["MessageSid"] != res.ProviderMessageID || params["To"] != m.To {
			t.Errorf("callback %v", params)
		}
		statuses = append(statuses, params["MessageStatus"])
	}
	if strings.Join(statuses, ",") != "sent,delivered" && strings.Join(statuses, ",") != "delivered,sent" {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestFromNumberAndSegments(t *testing.T) {
	env := channeltest.Start(t, nil)
	env.Set("twilio", "messagingServiceSid", "")
	s := newSender(t, env, 5*time.Second)
	m := message(env)
	m.Body = strings.Repeat("Ωmega ", 12) + "✓" // UCS-2: 73 code units
	res, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if res.Segments != 2 || res.Encoding != sms.UCS2 {
		t.Fatalf("result %+v", res)
	}
	form, _ := url.ParseQuery(string(env.Messaging.Requests("twilio")[0].Body))
	if form.Get("From") != env.Integrations["twilio"].Config["fromNumber"] || form.Get("MessagingServiceSid") != "" {
		t.Fatalf("form %v", form)
	}
}

func TestStopReplyThenOptedOut(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Engagement["sms"] = sandbox.Model{Delivered: 1, Unsubscribed: 1}
	env := channeltest.Start(t, &cfg)
	s := newSender(t, env, 5*time.Second)
	m := message(env)
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	tw := env.Integrations["twilio"]
	stop := false
	for _, cb := range env.Callbacks() {
		f, _ := url.ParseQuery(string(cb.Body))
		if cb.Path == "/webhooks/twilio/"+env.Tenant && f.Get("Body") == "STOP" && f.Get("From") == m.To {
			params := map[string]string{}
			for k, v := range f {
				params[k] = v[0]
			}
			stop = webhook.VerifyTwilio(tw.Secrets["authToken"], env.URL+cb.Path, params, cb.Header.Get("X-Twilio-Signature"))
		}
	}
	if !stop {
		t.Fatal("no signed inbound STOP reply")
	}
	_, err := s.Send(context.Background(), m)
	var ce *channel.Error
	if !errors.As(err, &ce) || ce.Outcome != channel.OptedOut || ce.Code != "21610" || apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("second send: %v", err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	channeltest.RunErrorCases(t, "twilio", []channeltest.ErrorCase{
		{Name: "opted out", Setup: func(env *channeltest.Env) { env.Messaging.OptOut("+15555550123") }, Outcome: channel.OptedOut, Code: "21610", Requests: 1},
		{Name: "invalid number", Edit: func(m *channel.Message) { m.To = "+0123" }, Outcome: channel.InvalidRecipient, Code: "21211", Requests: 1},
		{Name: "wrong auth token", Setup: func(env *channeltest.Env) { env.Set("twilio", "authToken", "0123456789abcdef") }, Outcome: channel.Failed, Code: "20003", Requests: 1},
		{Name: "foreign from number", Setup: func(env *channeltest.Env) {
			env.Set("twilio", "messagingServiceSid", "")
			env.Set("twilio", "fromNumber", "+15550000000")
		}, Outcome: channel.Failed, Code: "21606", Requests: 1},
		{Name: "no sender configured", Setup: func(env *channeltest.Env) {
			env.Set("twilio", "messagingServiceSid", "")
			env.Set("twilio", "fromNumber", "")
		}, Outcome: channel.Failed, Code: "not_configured"},
		{Name: "too long", Edit: func(m *channel.Message) { m.Body = strings.Repeat("x", sms.MaxBody+1) }, Outcome: channel.Failed, Code: "invalid_message"},
		{Name: "rate limited", Faults: &sandbox.Faults{RateLimit429: 1, RetryAfter: sandbox.Duration(2 * time.Second)},
			Outcome: channel.Retry, Code: "42900", RetryAfter: 2 * time.Second, Requests: 1},
		{Name: "server error", Faults: &sandbox.Faults{Error500: 1}, Outcome: channel.Retry, Code: "50000", Requests: 1},
		{Name: "timeout", Faults: &sandbox.Faults{Timeout: 1, TimeoutDelay: sandbox.Duration(2 * time.Second)}, Outcome: channel.Retry, MaybeSent: true, Requests: 1},
	}, func(env *channeltest.Env) channeltest.Sender {
		s, err := sms.New(sms.Options{Settings: env.Settings, BaseURL: env.ProviderURL("twilio"), PublicURL: publicURL, HTTP: &http.Client{Timeout: 300 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, message)
}

func BenchmarkTwilioRoundTrip(b *testing.B) {
	env := channeltest.Start(b, channeltest.Quiet())
	s, err := sms.New(sms.Options{Settings: env.Settings, BaseURL: env.ProviderURL("twilio"), PublicURL: env.URL})
	if err != nil {
		b.Fatal(err)
	}
	channeltest.BenchmarkSend(b, s, func(i int) channel.Message {
		return channel.Message{Tenant: env.Tenant, CustomerID: "c", CampaignID: "bench", Channel: channel.SMS,
			To: fmt.Sprintf("+1555%07d", i%10_000_000), Body: "Demo Records: 20% off LPs this weekend. Reply STOP to opt out"}
	})
}

func BenchmarkSegments(b *testing.B) {
	body := strings.Repeat("Demo Records: 20% off LPs this weekend € ", 6)
	b.ReportAllocs()
	for b.Loop() {
		if sms.Segments(body).Segments != 2 {
			b.Fatal("segments")
		}
	}
}
