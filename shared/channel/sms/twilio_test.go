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
	tests := []struct {
		name     string
		setup    func(env *channeltest.Env)
		faults   *sandbox.Faults
		edit     func(m *channel.Message)
		outcome  channel.Outcome
		code     string
		requests int
	}{
		{name: "opted out", setup: func(env *channeltest.Env) { env.Messaging.OptOut("+15555550123") }, outcome: channel.OptedOut, code: "21610", requests: 1},
		{name: "invalid number", edit: func(m *channel.Message) { m.To = "+0123" }, outcome: channel.InvalidRecipient, code: "21211", requests: 1},
		{name: "wrong auth token", setup: func(env *channeltest.Env) { env.Set("twilio", "authToken", "0123456789abcdef") }, outcome: channel.Failed, code: "20003", requests: 1},
		{name: "foreign from number", setup: func(env *channeltest.Env) {
			env.Set("twilio", "messagingServiceSid", "")
			env.Set("twilio", "fromNumber", "+15550000000")
		}, outcome: channel.Failed, code: "21606", requests: 1},
		{name: "no sender configured", setup: func(env *channeltest.Env) {
			env.Set("twilio", "messagingServiceSid", "")
			env.Set("twilio", "fromNumber", "")
		}, outcome: channel.Failed, code: "not_configured"},
		{name: "too long", edit: func(m *channel.Message) { m.Body = strings.Repeat("x", sms.MaxBody+1) }, outcome: channel.Failed, code: "invalid_message"},
		{name: "rate limited", faults: &sandbox.Faults{RateLimit429: 1, RetryAfter: sandbox.Duration(2 * time.Second)}, outcome: channel.Retry, code: "42900", requests: 1},
		{name: "server error", faults: &sandbox.Faults{Error500: 1}, outcome: channel.Retry, code: "50000", requests: 1},
		{name: "timeout", faults: &sandbox.Faults{Timeout: 1, TimeoutDelay: sandbox.Duration(2 * time.Second)}, outcome: channel.Retry, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sandbox.DefaultConfig()
			if tt.faults != nil {
				cfg.Faults["twilio"] = *tt.faults
			}
			env := channeltest.Start(t, &cfg)
			if tt.setup != nil {
				tt.setup(env)
			}
			s := newSender(t, env, 300*time.Millisecond)
			m := message(env)
			if tt.edit != nil {
				tt.edit(&m)
			}
			_, err := s.Send(context.Background(), m)
			var ce *channel.Error
			if !errors.As(err, &ce) || ce.Outcome != tt.outcome || (tt.code != "" && ce.Code != tt.code) {
				t.Fatalf("got %v", err)
			}
			if tt.name == "rate limited" && (ce.RetryAfter != 2*time.Second || apperr.KindOf(err) != apperr.RateLimited) {
				t.Errorf("retry after %v kind %v", ce.RetryAfter, apperr.KindOf(err))
			}
			if tt.name == "timeout" && !ce.MaybeSent {
				t.Error("a timeout may have been sent")
			}
			if n := len(env.Messaging.Requests("twilio")); n != tt.requests {
				t.Errorf("twilio got %d requests, want %d", n, tt.requests)
			}
		})
	}
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
