package email_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/channel/channeltest"
	"github.com/pulsehub/pulsehub/shared/channel/email"
	"github.com/pulsehub/pulsehub/shared/channel/unsubscribe"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/webhook"
)

func newSender(env *channeltest.Env, timeout time.Duration) (*email.Sender, *unsubscribe.Signer) {
	signer := unsubscribe.New(channeltest.Keys{}, "https://api.pulsehub.test")
	return email.New(email.Options{Settings: env.Settings, Unsubscribe: signer, BaseURL: env.ProviderURL("sendgrid"),
		HTTP: &http.Client{Timeout: timeout}}), signer
}

func message(env *channeltest.Env) channel.Message {
	return channel.Message{Tenant: env.Tenant, CustomerID: "c-42", CampaignID: "camp-1", Variant: "B", Channel: channel.Email,
		To: "ada@example.com", Subject: "Your cart misses you", Body: `<html><body><p>Hi Ada, <a href="https://shop.test/cart">finish</a></p></body></html>`,
		Text: "Hi Ada, finish at https://shop.test/cart", Data: map[string]string{"flowStep": "2"}}
}

func TestSendWhatSendGridReceives(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Engagement["email"] = sandbox.Model{Delivered: 1, Opened: 1, Clicked: 1}
	env := channeltest.Start(t, &cfg)
	s, signer := newSender(env, 5*time.Second)
	env.Set("sendgrid", "replyToEmail", "help@shop.test")
	env.Set("sendgrid", "replyToName", "Shop help")
	m := message(env)

	res, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if res.Provider != "sendgrid" || res.ProviderMessageID == "" || res.Segments != 1 {
		t.Fatalf("result %+v", res)
	}
	reqs := env.Messaging.Requests("sendgrid")
	if len(reqs) != 1 {
		t.Fatalf("sendgrid got %d requests", len(reqs))
	}
	r := reqs[0]
	if got := r.Header.Get("Authorization"); got != "Bearer "+env.Integrations["sendgrid"].Secrets["apiKey"] {
		t.Errorf("Authorization %q", got)
	}
	if r.Path != "/v3/mail/send" || !strings.HasPrefix(r.Header.Get("User-Agent"), "sendgrid/") {
		t.Errorf("path %s, user agent %q: not sendgrid-go's request", r.Path, r.Header.Get("User-Agent"))
	}
	var body struct {
		From             struct{ Email, Name string }
		ReplyTo          struct{ Email, Name string } `json:"reply_to"`
		Subject          string
		Personalizations []struct {
			To []struct{ Email string }
		}
		Content    []struct{ Type, Value string }
		Headers    map[string]string
		CustomArgs map[string]string `json:"custom_args"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.From.Email != "news@pulsehub-sandbox.test" || body.From.Name != "PulseHub sandbox" || body.ReplyTo.Email != "help@shop.test" || body.ReplyTo.Name != "Shop help" {
		t.Errorf("from %+v reply-to %+v", body.From, body.ReplyTo)
	}
	if body.Subject != m.Subject || len(body.Personalizations) != 1 || body.Personalizations[0].To[0].Email != m.To {
		t.Errorf("subject %q personalizations %+v", body.Subject, body.Personalizations)
	}
	want := map[string]string{"campaignId": "camp-1", "variant": "B", "customerId": "c-42", "flowStep": "2"}
	for k, v := range want {
		if body.CustomArgs[k] != v {
			t.Errorf("custom arg %s = %q, want %q", k, body.CustomArgs[k], v)
		}
	}
	// RFC 8058 one-click unsubscribe, with a link that verifies.
	if body.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", body.Headers["List-Unsubscribe-Post"])
	}
	link := strings.Trim(body.Headers["List-Unsubscribe"], "<>")
	token, ok := strings.CutPrefix(link, "https://api.pulsehub.test/unsubscribe/")
	if !ok {
		t.Fatalf("List-Unsubscribe %q", body.Headers["List-Unsubscribe"])
	}
	claims, err := signer.Verify(context.Background(), token)
	if err != nil || claims != (unsubscribe.Claims{Tenant: env.Tenant, CustomerID: "c-42", Channel: "email", CampaignID: "camp-1", Variant: "B"}) {
		t.Fatalf("claims %+v, %v", claims, err)
	}
	// text/plain first, both with a visible unsubscribe link, the HTML one inside <body>.
	if len(body.Content) != 2 || body.Content[0].Type != "text/plain" || body.Content[1].Type != "text/html" {
		t.Fatalf("content %+v", body.Content)
	}
	if !strings.Contains(body.Content[0].Value, link) || !strings.Contains(body.Content[1].Value, `href="`+link+`"`) ||
		!strings.HasSuffix(body.Content[1].Value, "</p></body></html>") {
		t.Errorf("no visible unsubscribe link: %q / %q", body.Content[0].Value, body.Content[1].Value)
	}

	out := env.Sandbox.Outbox.List(sandbox.Filter{Channel: "email", CampaignID: "camp-1"})
	if len(out) != 1 || out[0].ProviderMessageID != res.ProviderMessageID || out[0].Variant != "B" || out[0].Subject != m.Subject {
		t.Fatalf("outbox %+v", out)
	}

	// The signed event webhook: processed, delivered, open, click, each
	// verifying with the workspace's webhookPublicKey and carrying the custom args.
	pub := env.Integrations["sendgrid"].Config["webhookPublicKey"]
	var events []string
	for _, cb := range env.Callbacks() {
		if cb.Path != "/webhooks/sendgrid/"+env.Tenant {
			t.Fatalf("callback to %s", cb.Path)
		}
		if !webhook.VerifySendGrid(pub, cb.Body, cb.Header.Get("X-Twilio-Email-Event-Webhook-Signature"), cb.Header.Get("X-Twilio-Email-Event-Webhook-Timestamp")) {
			t.Fatalf("callback does not verify: %s", cb.Body)
		}
		var evs []map[string]any
		if err := json.Unmarshal(cb.Body, &evs); err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			events = append(events, ev["event"].(string))
			if ev["campaignId"] != "camp-1" || ev["customerId"] != "c-42" || ev["email"] != m.To ||
				!strings.HasPrefix(ev["sg_message_id"].(string), res.ProviderMessageID+".") {
				t.Errorf("event %v", ev)
			}
			if ev["event"] == "click" && ev["url"] != "https://shop.test/cart" {
				t.Errorf("click on %v", ev["url"])
			}
		}
	}
	if strings.Join(sorted(events), ",") != "click,delivered,open,processed" {
		t.Fatalf("events %v", events)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestBodyWithItsOwnUnsubscribeLinkGetsNoFooter(t *testing.T) {
	env := channeltest.Start(t, nil)
	s, _ := newSender(env, 5*time.Second)
	m := message(env)
	link, err := s.UnsubscribeURL(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	m.Body = `<p>Bye? <a href="` + link + `">unsubscribe</a></p>`
	m.Text = ""
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	body := string(env.Messaging.Requests("sendgrid")[0].Body)
	if strings.Count(body, "unsubscribe/") != 2 { // the header and the body's own link
		t.Fatalf("the link appears %d times: %s", strings.Count(body, "unsubscribe/"), body)
	}
}

func TestOneClickUnsubscribeFromTheEngagementModel(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Engagement["email"] = sandbox.Model{Delivered: 1, Unsubscribed: 1}
	env := channeltest.Start(t, &cfg)
	s, _ := newSender(env, 5*time.Second)
	m := message(env)
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	link, _ := s.UnsubscribeURL(context.Background(), m)
	u, _ := url.Parse(link)
	found := false
	for _, cb := range env.Callbacks() {
		if cb.Path == u.Path {
			found = string(cb.Body) == "List-Unsubscribe=One-Click" && cb.Header.Get("Content-Type") == "application/x-www-form-urlencoded"
		}
	}
	if !found {
		t.Fatalf("no one-click POST to %s in %+v", u.Path, env.Callbacks())
	}
}

func TestErrorsAreClassified(t *testing.T) {
	channeltest.RunErrorCases(t, "sendgrid", []channeltest.ErrorCase{
		{Name: "bad api key", Setup: func(env *channeltest.Env) { env.Set("sendgrid", "apiKey", "SG.wrong") },
			Outcome: channel.Failed, Code: "401", Contains: "authorization grant is invalid", Requests: 1},
		{Name: "bad from address", Setup: func(env *channeltest.Env) { env.Set("sendgrid", "fromEmail", "not-an-address") },
			Outcome: channel.Failed, Code: "400", Contains: "from.email", Requests: 1},
		{Name: "no api key", Setup: func(env *channeltest.Env) { env.Set("sendgrid", "apiKey", "") }, Outcome: channel.Failed, Code: "not_configured"},
		{Name: "no subject", Edit: func(m *channel.Message) { m.Subject = "" }, Outcome: channel.Failed, Code: "invalid_message"},
		{Name: "no recipient", Edit: func(m *channel.Message) { m.To = "" }, Outcome: channel.Failed, Code: "invalid_message"},
		{Name: "rate limited", Faults: &sandbox.Faults{RateLimit429: 1, RetryAfter: sandbox.Duration(3 * time.Second)},
			Outcome: channel.Retry, Code: "429", RetryAfter: 3 * time.Second, Requests: 1},
		{Name: "server error", Faults: &sandbox.Faults{Error500: 1}, Outcome: channel.Retry, Code: "500", Requests: 1},
		{Name: "timeout", Faults: &sandbox.Faults{Timeout: 1, TimeoutDelay: sandbox.Duration(2 * time.Second)},
			Outcome: channel.Retry, MaybeSent: true, Requests: 1},
	}, func(env *channeltest.Env) channeltest.Sender {
		s, _ := newSender(env, 300*time.Millisecond)
		return s
	}, message)
}

func TestLostAnswerIsAmbiguous(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Faults["sendgrid"] = sandbox.Faults{LostAnswer: 1, TimeoutDelay: sandbox.Duration(2 * time.Second)}
	env := channeltest.Start(t, &cfg)
	s, _ := newSender(env, 300*time.Millisecond)
	_, err := s.Send(context.Background(), message(env))
	var ce *channel.Error
	if !errors.As(err, &ce) || ce.Outcome != channel.Retry || !ce.MaybeSent {
		t.Fatalf("err %v", err)
	}
	if n := len(env.Sandbox.Outbox.List(sandbox.Filter{})); n != 1 {
		t.Fatalf("the message the answer was lost for is not in the outbox (%d)", n)
	}
}

func TestMissingIntegration(t *testing.T) {
	env := channeltest.Start(t, nil)
	s, _ := newSender(env, time.Second)
	m := message(env)
	m.Tenant = "someone-else"
	_, err := s.Send(context.Background(), m)
	var ce *channel.Error
	if !errors.As(err, &ce) || ce.Outcome != channel.Failed || ce.Code != "not_configured" || !strings.Contains(err.Error(), "PUT /v1/integrations/sendgrid") {
		t.Fatalf("err %v", err)
	}
}

func BenchmarkSendGridRoundTrip(b *testing.B) {
	env := channeltest.Start(b, channeltest.Quiet())
	s := email.New(email.Options{Settings: env.Settings, Unsubscribe: unsubscribe.New(channeltest.Keys{}, "https://api.pulsehub.test"), BaseURL: env.ProviderURL("sendgrid")})
	channeltest.BenchmarkSend(b, s, func(i int) channel.Message {
		return channel.Message{Tenant: env.Tenant, CustomerID: fmt.Sprint("c-", i), CampaignID: "bench", Variant: "A", Channel: channel.Email,
			To: fmt.Sprintf("c%d@example.com", i), Subject: "Spring sale", Body: strings.Repeat("<p>New LPs are in this week.</p>", 40)}
	})
}
