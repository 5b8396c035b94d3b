package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/channel/email"
	"github.com/pulsehub/pulsehub/shared/channel/sms"
	"github.com/pulsehub/pulsehub/shared/channel/unsubscribe"
	"github.com/pulsehub/pulsehub/shared/channel/whatsapp"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/local"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/pii"
	"github.com/pulsehub/pulsehub/shared/store"
)

// senders builds the channel senders as the send function will: the real
// clients, the runtime's table and keys, PROVIDER_URL_* at the sandbox.
type senders struct {
	email    *email.Sender
	sms      *sms.Sender
	whatsapp *whatsapp.Sender
	unsub    *unsubscribe.Signer
}

func newSenders(t *testing.T, rt *local.Runtime, stateDir string) senders {
	t.Helper()
	ctx := context.Background()
	secret, err := local.CursorSecret(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	tbl := store.New(dynamodb.NewFromConfig(rt.AWS(), local.ForEmulator), rt.Resources().TableName, secret)
	cipher, err := pii.New(ctx, "file:"+filepath.Join(stateDir, "keys"), tbl, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	settings := channel.NewSettings(integration.NewStore(tbl, cipher, time.Now), time.Minute, nil)
	signer := unsubscribe.New(cipher, rt.URL())
	sb := rt.Sandbox()
	smsSender, err := sms.New(sms.Options{Settings: settings, BaseURL: sb.URL("twilio"), PublicURL: rt.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return senders{
		email:    email.New(email.Options{Settings: settings, Unsubscribe: signer, BaseURL: sb.URL("sendgrid")}),
		sms:      smsSender,
		whatsapp: whatsapp.New(whatsapp.Options{Settings: settings, BaseURL: sb.URL("whatsapp")}),
		unsub:    signer,
	}
}

// TestChannelsEndToEnd sends an email, an SMS and a WhatsApp template with
// the real clients through the runtime's sandbox: the providers' signed
// callbacks come back through the webhooks function and ingest as
// message.delivered / message.engaged events, and the email's one-click
// unsubscribe really changes the customer's consent.
func TestChannelsEndToEnd(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Engagement["email"] = sandbox.Model{Delivered: 1, Opened: 1, Unsubscribed: 0}
	cfg.Engagement["sms"] = sandbox.Model{Delivered: 1}
	cfg.Engagement["whatsapp"] = sandbox.Model{Delivered: 1, Opened: 1}
	var mu sync.Mutex
	var bus []events.CloudWatchEvent
	stateDir := t.TempDir()
	p := bootPlatformWith(t, func(o *local.Options) {
		o.Messaging = &cfg
		o.StateDir = stateDir
		o.EventTap = func(e events.CloudWatchEvent) {
			mu.Lock()
			bus = append(bus, e)
			mu.Unlock()
		}
	})
	p.signup("chan", "chan-store.myshopify.com", "chan-secret")
	settings, err := p.rt.Messaging().Connect(p.tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sendgrid", "twilio", "whatsapp"} {
		body, _ := json.Marshal(settings[name])
		if r := p.call("PUT", "/v1/integrations/"+name, p.token, body, nil); r.status != 200 {
			t.Fatalf("PUT /v1/integrations/%s: %d %s", name, r.status, r.raw)
		}
	}
	// A customer subscribed to email, with a phone number.
	now := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	cust := []byte(fmt.Sprintf(`{"id":501,"email":"eve@example.com","phone":"+15555550142","first_name":"Eve","updated_at":%q,`+
		`"email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":%q}}`, now.Format(time.RFC3339), now.Format(time.RFC3339)))
	if r := p.webhook("customers/create", "wh-501", "ev-501", cust, p.secret); r.status != 200 {
		t.Fatalf("customers/create: %d %s", r.status, r.raw)
	}
	var cid string
	eventually(t, "the customer", func() bool {
		c := p.customerByEmail("eve@example.com")
		if c != nil {
			cid = c["id"].(string)
		}
		return c != nil
	})
	consent := func(ch string) string {
		r := p.call("GET", "/v1/customers/"+cid, p.token, nil, nil)
		cs, _ := r.body["consent"].([]any)
		for _, c := range cs {
			if m := c.(map[string]any); m["channel"] == ch {
				return m["state"].(string)
			}
		}
		return ""
	}
	// Ingest records the profile before its consent: wait for both.
	eventually(t, "email consent subscribed", func() bool { return consent("email") == "subscribed" })

	s := newSenders(t, p.rt, stateDir)
	ctx := context.Background()
	base := channel.Message{Tenant: p.tenant, CustomerID: cid, CampaignID: "camp-e2e", Variant: "A"}
	m := base
	m.Channel, m.To, m.Subject, m.Body = channel.Email, "eve@example.com", "Hello Eve", `<p>New LPs are in.</p>`
	emailRes, err := s.email.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	m = base
	m.Channel, m.To, m.Body = channel.SMS, "+15555550142", "New LPs are in. Reply STOP to opt out"
	smsRes, err := s.sms.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	m = base
	m.Channel, m.To, m.Template = channel.WhatsApp, "+15555550142", &channel.Template{Name: "welcome", Language: "en_US", Params: []string{"Demo Records"}}
	waRes, err := s.whatsapp.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}

	// The outbox has all three, with the campaign.
	r := p.call("GET", "/dev/outbox?campaignId=camp-e2e", "", nil, nil)
	if items, _ := r.body["items"].([]any); len(items) != 3 {
		t.Fatalf("outbox: %s", r.raw)
	}
	// Each provider's signed callbacks made it through webhooks and ingest.
	seen := func(detailType, provider, id, status string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range bus {
			var d map[string]any
			_ = json.Unmarshal(e.Detail, &d)
			if e.DetailType == detailType && d["provider"] == provider && d["providerMessageId"] == id && d["status"] == status && d["customerId"] == cid {
				return true
			}
		}
		return false
	}
	emailID, _, _ := strings.Cut(emailRes.ProviderMessageID, ".")
	for _, w := range []struct{ dt, provider, id, status string }{
		{catalog.EventMessageDelivered, "sendgrid", emailID, "delivered"},
		{catalog.EventMessageEngaged, "sendgrid", emailID, "open"},
		{catalog.EventMessageDelivered, "twilio", smsRes.ProviderMessageID, "delivered"},
		{catalog.EventMessageDelivered, "whatsapp", waRes.ProviderMessageID, "delivered"},
		{catalog.EventMessageDelivered, "whatsapp", waRes.ProviderMessageID, "read"},
	} {
		eventually(t, w.dt+" "+w.provider+" "+w.status, func() bool { return seen(w.dt, w.provider, w.id, w.status) })
	}

	// The unsubscribe link: GET only confirms; the one-click POST
	// unsubscribes, through ingest, visible in the API.
	link, err := s.email.UnsubscribeURL(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	res, err := http.Get(p.rt.URL() + u.Path)
	if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %v %v", u.Path, res, err)
	}
	res.Body.Close()
	if consent("email") != "subscribed" {
		t.Fatal("opening the link unsubscribed")
	}
	res, err = http.Post(p.rt.URL()+u.Path, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("one-click: %v %v", res, err)
	}
	res.Body.Close()
	eventually(t, "email consent unsubscribed", func() bool { return consent("email") == "unsubscribed" })
	r = p.call("GET", "/v1/audit?month="+time.Now().UTC().Format("2006-01"), p.token, nil, nil)
	if !strings.Contains(r.raw, `"customer.unsubscribed"`) {
		t.Fatalf("audit: %d %s", r.status, r.raw)
	}
	// A forged link changes nothing.
	res, err = http.Post(p.rt.URL()+u.Path+"x", "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || res.StatusCode != 404 {
		t.Fatalf("forged link: %v %v", res, err)
	}
	res.Body.Close()
}
