package push_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pulsehub/pulsehub/shared/channel"
	"github.com/pulsehub/pulsehub/shared/channel/channeltest"
	"github.com/pulsehub/pulsehub/shared/channel/push"
	"github.com/pulsehub/pulsehub/shared/local/sandbox"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// devices is an in-memory push.Devices (profile.Store's device methods are
// tested against DynamoDB in package profile).
type devices struct {
	mu      sync.Mutex
	tokens  map[string][]string // customer → tokens, newest first
	removed []string
}

func (d *devices) Devices(_ context.Context, _, cid string) ([]profile.Device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []profile.Device
	for _, t := range d.tokens[cid] {
		out = append(out, profile.Device{Token: t, Platform: "android"})
	}
	return out, nil
}

func (d *devices) RemoveDevice(_ context.Context, _, cid, token string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var keep []string
	for _, t := range d.tokens[cid] {
		if t != token {
			keep = append(keep, t)
		}
	}
	d.tokens[cid] = keep
	d.removed = append(d.removed, token)
	return nil
}

const goodToken = "fGx3kT0bQe2cVd9_aPl:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"

func setup(t *testing.T, cfg *sandbox.Config, tokens ...string) (*channeltest.Env, *push.Sender, *devices) {
	t.Helper()
	env := channeltest.Start(t, cfg)
	d := &devices{tokens: map[string][]string{"c-1": tokens}}
	s := push.New(push.Options{Settings: env.Settings, Devices: d, BaseURL: env.ProviderURL("fcm"), HTTP: &http.Client{Timeout: 300 * time.Millisecond}})
	return env, s, d
}

func message(env *channeltest.Env) channel.Message {
	return channel.Message{Tenant: env.Tenant, CustomerID: "c-1", CampaignID: "spring sale", Variant: "B", Channel: channel.Push,
		Title: "Spring sale", Body: "20% off all LPs", URL: "https://shop.test/sale", ImageURL: "https://shop.test/lp.png"}
}

func TestSendToEachDeviceAndDropGoneTokens(t *testing.T) {
	env, s, d := setup(t, nil, "unregistered-"+goodToken, goodToken)
	res, err := s.Send(context.Background(), message(env))
	if err != nil {
		t.Fatal(err)
	}
	project := env.Integrations["fcm"].Config["projectId"]
	if res.Provider != "fcm" || !strings.HasPrefix(res.ProviderMessageID, "projects/"+project+"/messages/") {
		t.Fatalf("result %+v", res)
	}
	if len(d.removed) != 1 || d.removed[0] != "unregistered-"+goodToken || len(d.tokens["c-1"]) != 1 {
		t.Fatalf("removed %v, left %v", d.removed, d.tokens["c-1"])
	}

	reqs := env.Messaging.Requests("fcm")
	if len(reqs) != 3 || reqs[0].Path != "/token" {
		t.Fatalf("requests %d, first %s", len(reqs), reqs[0].Path)
	}
	// The OAuth 2.0 JWT-bearer grant, signed by the service account's key.
	form, _ := url.ParseQuery(string(reqs[0].Body))
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		t.Fatalf("grant %v", form)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(form.Get("assertion"), claims); err != nil {
		t.Fatal(err)
	}
	var sa struct {
		ClientEmail string `json:"client_email"`
	}
	_ = json.Unmarshal([]byte(env.Integrations["fcm"].Secrets["serviceAccountJson"]), &sa)
	if claims["iss"] != sa.ClientEmail || claims["scope"] != push.Scope || claims["aud"] != env.ProviderURL("fcm")+"/token" {
		t.Fatalf("assertion claims %v", claims)
	}
	for _, r := range reqs[1:] {
		if r.Path != "/v1/projects/"+project+"/messages:send" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ya29.sandbox-") {
			t.Fatalf("send %s auth %q", r.Path, r.Header.Get("Authorization"))
		}
	}
	var body struct {
		Message struct {
			Token        string
			Notification struct{ Title, Body, Image string }
			Data         map[string]string
			Webpush      struct {
				FCMOptions struct{ Link string } `json:"fcm_options"`
			}
			FCMOptions struct {
				AnalyticsLabel string `json:"analytics_label"`
			} `json:"fcm_options"`
		}
	}
	if err := json.Unmarshal(reqs[2].Body, &body); err != nil {
		t.Fatal(err)
	}
	m := body.Message
	if m.Token != goodToken || m.Notification.Title != "Spring sale" || m.Notification.Body != "20% off all LPs" || m.Notification.Image != "https://shop.test/lp.png" {
		t.Errorf("message %+v", m)
	}
	if m.Data["campaignId"] != "spring sale" || m.Data["variant"] != "B" || m.Data["customerId"] != "c-1" || m.Data["url"] != "https://shop.test/sale" {
		t.Errorf("data %v", m.Data)
	}
	if m.Webpush.FCMOptions.Link != "https://shop.test/sale" || m.FCMOptions.AnalyticsLabel != "springsale" {
		t.Errorf("link %q label %q", m.Webpush.FCMOptions.Link, m.FCMOptions.AnalyticsLabel)
	}
	out := env.Sandbox.Outbox.List(sandbox.Filter{Channel: "push", CampaignID: "spring sale"})
	if len(out) != 1 || out[0].To != goodToken || out[0].ProviderMessageID != res.ProviderMessageID {
		t.Fatalf("outbox %+v", out)
	}

	// The access token is reused until it expires.
	if _, err := s.Send(context.Background(), message(env)); err != nil {
		t.Fatal(err)
	}
	tokenCalls := 0
	for _, r := range env.Messaging.Requests("fcm") {
		if r.Path == "/token" {
			tokenCalls++
		}
	}
	if tokenCalls != 1 {
		t.Fatalf("%d token requests for two sends", tokenCalls)
	}
}

func TestNoWorkingDevice(t *testing.T) {
	env, s, d := setup(t, nil, "unregistered-1"+goodToken, "bad token!")
	_, err := s.Send(context.Background(), message(env))
	if channel.OutcomeOf(err) != channel.InvalidRecipient || len(d.tokens["c-1"]) != 0 || len(d.removed) != 2 {
		t.Fatalf("err %v, left %v", err, d.tokens["c-1"])
	}
	_, err = s.Send(context.Background(), message(env))
	var ce *channel.Error
	if !errors.As(err, &ce) || ce.Outcome != channel.InvalidRecipient || ce.Code != "no_device" {
		t.Fatalf("with no devices: %v", err)
	}
}

func TestExplicitTokenUnregistered(t *testing.T) {
	env, s, _ := setup(t, nil)
	env.Messaging.Unregister(goodToken)
	m := message(env)
	m.To = goodToken
	_, err := s.Send(context.Background(), m)
	var ce *channel.Error
	if !errors.As(err, &ce) || ce.Outcome != channel.InvalidRecipient || ce.Code != "UNREGISTERED" || ce.Status != 404 {
		t.Fatalf("err %v", err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	otherKey := func() string {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	tests := []struct {
		name    string
		setup   func(env *channeltest.Env)
		faults  *sandbox.Faults
		outcome channel.Outcome
		code    string
	}{
		{name: "not a service account", setup: func(env *channeltest.Env) { env.Set("fcm", "serviceAccountJson", `{"type":"authorized_user"}`) },
			outcome: channel.Failed, code: "not_configured"},
		{name: "key the token endpoint does not know", setup: func(env *channeltest.Env) {
			var sa map[string]string
			_ = json.Unmarshal([]byte(env.Integrations["fcm"].Secrets["serviceAccountJson"]), &sa)
			sa["private_key"] = otherKey()
			b, _ := json.Marshal(sa)
			env.Set("fcm", "serviceAccountJson", string(b))
		}, outcome: channel.Failed, code: "oauth_400"},
		{name: "another project", setup: func(env *channeltest.Env) { env.Set("fcm", "projectId", "someone-elses") },
			outcome: channel.Failed, code: "PERMISSION_DENIED"},
		{name: "quota", faults: &sandbox.Faults{RateLimit429: 1, RetryAfter: sandbox.Duration(90 * time.Second)}, outcome: channel.Retry, code: "QUOTA_EXCEEDED"},
		{name: "unavailable", faults: &sandbox.Faults{Error500: 1}, outcome: channel.Retry, code: "INTERNAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sandbox.DefaultConfig()
			if tt.faults != nil {
				cfg.Faults["fcm"] = *tt.faults
			}
			env, s, d := setup(t, &cfg, goodToken)
			if tt.setup != nil {
				tt.setup(env)
			}
			_, err := s.Send(context.Background(), message(env))
			var ce *channel.Error
			if !errors.As(err, &ce) || ce.Outcome != tt.outcome || ce.Code != tt.code {
				t.Fatalf("got %v", err)
			}
			if tt.name == "quota" && ce.RetryAfter != 90*time.Second {
				t.Errorf("retry after %v", ce.RetryAfter)
			}
			if len(d.removed) != 0 {
				t.Errorf("a working token was removed: %v", d.removed)
			}
		})
	}
}

func BenchmarkFCMRoundTrip(b *testing.B) {
	env := channeltest.Start(b, channeltest.Quiet())
	s := push.New(push.Options{Settings: env.Settings, BaseURL: env.ProviderURL("fcm")})
	channeltest.BenchmarkSend(b, s, func(i int) channel.Message {
		return channel.Message{Tenant: env.Tenant, CustomerID: "c", CampaignID: "bench", Channel: channel.Push,
			To: goodToken + fmt.Sprint(i), Title: "Spring sale", Body: "20% off all LPs", URL: "https://shop.test/sale"}
	})
}
