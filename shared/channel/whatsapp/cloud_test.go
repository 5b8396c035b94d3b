package whatsapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/channel/channeltest"
	"github.com/pulsehub/pulsehub/shared/channel/whatsapp"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/ratelimit"
	"github.com/pulsehub/pulsehub/shared/store"
	"github.com/pulsehub/pulsehub/shared/testenv"
	"github.com/pulsehub/pulsehub/shared/webhook"
)

const to = "+15555550199"

func newSender(env *channeltest.Env, lim whatsapp.Limiter) *whatsapp.Sender {
	return whatsapp.New(whatsapp.Options{Settings: env.Settings, Limiter: lim, BaseURL: env.ProviderURL("whatsapp"), HTTP: &http.Client{Timeout: 300 * time.Millisecond}})
}

func reengage() *channel.Template {
	return &channel.Template{Name: "abandoned_cart", Language: "en_US", Params: []string{"Ada", "https://shop.test/c/1"}}
}

func message(env *channeltest.Env) channel.Message {
	return channel.Message{Tenant: env.Tenant, CustomerID: "c-3", CampaignID: "camp-w", Variant: "A", Channel: channel.WhatsApp, To: to,
		Body: "Your cart is waiting: https://shop.test/c/1", Template: reengage()}
}

// inbound makes the customer write, which opens the 24-hour window at the sandbox.
func inbound(t *testing.T, env *channeltest.Env) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"tenantId": env.Tenant, "from": to, "text": "hello?"})
	res, err := http.Post(env.URL+"/dev/sandbox/whatsapp/inbound", "application/json", bytes.NewReader(b))
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("inbound: %v %v", res, err)
	}
	res.Body.Close()
}

func TestTemplateOutsideTheWindow(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Engagement["whatsapp"] = sandbox.Model{Delivered: 1, Opened: 1}
	env := channeltest.Start(t, &cfg)
	s := newSender(env, nil)
	res, err := s.Send(context.Background(), message(env))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.ProviderMessageID, "wamid.") || res.Template != "abandoned_cart" {
		t.Fatalf("result %+v", res)
	}
	wa := env.Integrations["whatsapp"]
	reqs := env.Messaging.Requests("whatsapp")
	if len(reqs) != 1 || reqs[0].Path != "/"+whatsapp.DefaultVersion+"/"+wa.Config["phoneNumberId"]+"/messages" ||
		reqs[0].Header.Get("Authorization") != "Bearer "+wa.Secrets["accessToken"] {
		t.Fatalf("requests %+v", reqs)
	}
	var body struct {
		Product  string `json:"messaging_product"`
		To, Type string
		Template struct {
			Name       string
			Language   struct{ Code string }
			Components []struct {
				Type       string
				Parameters []struct{ Type, Text string }
			}
		}
		Opaque string `json:"biz_opaque_callback_data"`
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Product != "whatsapp" || body.To != "15555550199" || body.Type != "template" || body.Template.Name != "abandoned_cart" ||
		body.Template.Language.Code != "en_US" || len(body.Template.Components) != 1 || body.Template.Components[0].Parameters[1].Text != "https://shop.test/c/1" {
		t.Fatalf("body %+v", body)
	}
	if body.Opaque != `{"campaignId":"camp-w","variant":"A","customerId":"c-3"}` {
		t.Errorf("opaque %q", body.Opaque)
	}
	out := env.Sandbox.Outbox.List(sandbox.Filter{Channel: "whatsapp", CampaignID: "camp-w"})
	if len(out) != 1 || out[0].Body != "Hi Ada, you left something in your cart. Finish your order: https://shop.test/c/1" || out[0].To != to {
		t.Fatalf("outbox %+v", out)
	}
	// Statuses sent, delivered, read: signed with the app secret, naming the number and the message.
	var statuses []string
	for _, cb := range env.Callbacks() {
		if cb.Path != "/webhooks/whatsapp" || !webhook.VerifyMeta(cb.Body, cb.Header.Get("X-Hub-Signature-256"), []string{wa.Secrets["appSecret"]}) {
			t.Fatalf("callback %s does not verify", cb.Path)
		}
		var p struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Metadata struct {
							PhoneNumberID string `json:"phone_number_id"`
						}
						Statuses []struct {
							ID, Status string
							Recipient  string `json:"recipient_id"`
							Opaque     string `json:"biz_opaque_callback_data"`
						}
					}
				}
			}
		}
		if err := json.Unmarshal(cb.Body, &p); err != nil {
			t.Fatal(err)
		}
		v := p.Entry[0].Changes[0].Value
		if v.Metadata.PhoneNumberID != wa.Config["phoneNumberId"] || v.Statuses[0].ID != res.ProviderMessageID || v.Statuses[0].Opaque != body.Opaque {
			t.Errorf("status %+v", v)
		}
		statuses = append(statuses, v.Statuses[0].Status)
	}
	if len(statuses) != 3 {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestFreeTextInsideTheWindow(t *testing.T) {
	env := channeltest.Start(t, nil)
	inbound(t, env)
	s := newSender(env, nil)
	m := message(env)
	m.WindowOpen = true
	res, err := s.Send(context.Background(), m)
	if err != nil || res.Template != "" {
		t.Fatalf("%+v %v", res, err)
	}
	var body struct {
		Type string
		Text struct {
			Body       string
			PreviewURL bool `json:"preview_url"`
		}
	}
	_ = json.Unmarshal(env.Messaging.Requests("whatsapp")[0].Body, &body)
	if body.Type != "text" || body.Text.Body != m.Body || !body.Text.PreviewURL {
		t.Fatalf("body %+v", body)
	}
}

func TestReengagementFallsBackToTheTemplate(t *testing.T) {
	env := channeltest.Start(t, nil)
	s := newSender(env, nil)
	m := message(env)
	m.WindowOpen = true // PulseHub's profile thinks so; WhatsApp disagrees (131047)
	res, err := s.Send(context.Background(), m)
	if err != nil || res.Template != "abandoned_cart" {
		t.Fatalf("%+v %v", res, err)
	}
	if n := len(env.Messaging.Requests("whatsapp")); n != 2 {
		t.Fatalf("%d requests, want the text then the template", n)
	}

	m.Template = nil
	_, err = s.Send(context.Background(), m)
	var ce *channel.Error
	if !errors.As(err, &ce) || ce.Outcome != channel.Failed || ce.Code != "131047" || !strings.Contains(err.Error(), "24 hours") {
		t.Fatalf("without a template: %v", err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	channeltest.RunErrorCases(t, "whatsapp", []channeltest.ErrorCase{
		{Name: "outside the window without a template", Edit: func(m *channel.Message) { m.Template = nil }, Outcome: channel.Failed, Code: "131047"},
		{Name: "unknown template", Edit: func(m *channel.Message) { m.Template.Name = "nope" }, Outcome: channel.Failed, Code: "132001", Requests: 1},
		{Name: "wrong parameter count", Edit: func(m *channel.Message) { m.Template.Params = m.Template.Params[:1] }, Outcome: channel.Failed, Code: "132000", Requests: 1},
		{Name: "bad token", Setup: func(env *channeltest.Env) { env.Set("whatsapp", "accessToken", "EAAGwrong") }, Outcome: channel.Failed, Code: "190", Requests: 1},
		{Name: "no phone number id", Setup: func(env *channeltest.Env) { env.Set("whatsapp", "phoneNumberId", "") }, Outcome: channel.Failed, Code: "not_configured"},
		{Name: "bad throughput setting", Setup: func(env *channeltest.Env) { env.Set("whatsapp", "messagesPerSecond", "fast") }, Outcome: channel.Failed, Code: "not_configured"},
		{Name: "injected rate limit", Faults: &sandbox.Faults{RateLimit429: 1}, Outcome: channel.Retry, Code: "130429", Requests: 1},
		{Name: "injected error", Faults: &sandbox.Faults{Error500: 1}, Outcome: channel.Retry, Code: "131000", Requests: 1},
	}, func(env *channeltest.Env) channeltest.Sender { return newSender(env, nil) }, message)
}

// TestThroughputLimit sends 15 messages at once from a number allowed 5
// per second: with the shared limiter none is refused; without it the
// Cloud API refuses the excess with 130429.
func TestThroughputLimit(t *testing.T) {
	db := testenv.DynamoDB(t)
	name := testenv.Name(t, "wa")
	if err := store.Provision(context.Background(), db, catalog.System().Table, name); err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.New(store.New(db, name, []byte("cursor-secret-of-32-bytes-length")), nil)

	send := func(s *whatsapp.Sender, env *channeltest.Env) (refused int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 15 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := message(env)
				m.To = "+1555555" + strconv.Itoa(1000+i)
				_, err := s.Send(context.Background(), m)
				var ce *channel.Error
				if errors.As(err, &ce) && ce.Code == "130429" {
					mu.Lock()
					refused++
					mu.Unlock()
				} else if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		return refused
	}
	for _, limited := range []bool{true, false} {
		env := channeltest.Start(t, nil)
		if err := env.Messaging.SetWhatsAppRate(env.Tenant, 5); err != nil {
			t.Fatal(err)
		}
		env.Set("whatsapp", "messagesPerSecond", "5")
		var lim whatsapp.Limiter
		if limited {
			lim = limiter
		}
		s := whatsapp.New(whatsapp.Options{Settings: env.Settings, Limiter: lim, BaseURL: env.ProviderURL("whatsapp")})
		refused := send(s, env)
		if limited && refused != 0 {
			t.Errorf("with the limiter, %d of 15 were refused", refused)
		}
		if !limited && refused == 0 {
			t.Error("without the limiter nothing was refused: the test proves nothing")
		}
	}
}

func BenchmarkWhatsAppRoundTrip(b *testing.B) {
	env := channeltest.Start(b, channeltest.Quiet())
	if err := env.Messaging.SetWhatsAppRate(env.Tenant, 10_000); err != nil {
		b.Fatal(err)
	}
	s := whatsapp.New(whatsapp.Options{Settings: env.Settings, BaseURL: env.ProviderURL("whatsapp")})
	channeltest.BenchmarkSend(b, s, func(i int) channel.Message {
		m := message(env)
		m.To = fmt.Sprintf("+1555%07d", i%10_000_000)
		return m
	})
}
