package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/local/gateway"
	"github.com/pulsehub/pulsehub/shared/webhook"
	"github.com/pulsehub/pulsehub/shared/webhook/webhooktest"
)

// The workspace the replay tests post to, and its secrets.
const (
	replayTenant   = "t-replay"
	replayShop     = "demo-store.myshopify.com"
	replayShopKey  = "shop-secret"
	replayMetaKey  = "meta-app-secret"
	replayTwilio   = "twilio-auth-token"
	replayWriteKey = "wk-replay"
	replayMetaPage = "100000000000003" // entry[0].id of events/http-webhook-meta-leadgen.json
	replayWAPhone  = "100000000000011" // phone_number_id of the WhatsApp samples
)

// replayDir resolves the test workspace from exactly the identifiers the
// samples carry.
type replayDir struct{ creds webhook.Credentials }

func (d replayDir) match(got, want string) (string, error) {
	if got == want {
		return replayTenant, nil
	}
	return "", apperr.E(apperr.NotFound, "no workspace for %q", got)
}
func (d replayDir) TenantForShop(_ context.Context, s string) (string, error) {
	return d.match(s, replayShop)
}
func (d replayDir) TenantForWriteKey(_ context.Context, k string) (string, error) {
	return d.match(k, replayWriteKey)
}
func (d replayDir) TenantForMeta(_ context.Context, id string) (string, error) {
	return d.match(id, replayMetaPage)
}
func (d replayDir) TenantForWhatsApp(_ context.Context, id string) (string, error) {
	return d.match(id, replayWAPhone)
}
func (d replayDir) TenantForVerifyToken(context.Context, string, string) (string, error) {
	return "", apperr.E(apperr.NotFound, "no handshake in these tests")
}
func (d replayDir) Credentials(_ context.Context, t string) (webhook.Credentials, error) {
	if t != replayTenant {
		return webhook.Credentials{}, apperr.E(apperr.NotFound, "no workspace %q", t)
	}
	return d.creds, nil
}

// webhookFunction is the webhooks function behind the local API Gateway,
// as `pulsehub dev` serves it, with a fixed directory instead of DynamoDB.
type webhookFunction struct {
	URL      string
	queue    *webhooktest.Queue
	requests atomic.Int64
}

type invoker struct{ h lambda.Handler }

func (i invoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	if function != "webhooks" {
		return nil, fmt.Errorf("only the webhooks function runs in this test, not %q", function)
	}
	return i.h.Invoke(ctx, payload)
}

func newWebhookFunction(t *testing.T, sendgridPublicKey string) *webhookFunction {
	t.Helper()
	f := &webhookFunction{queue: &webhooktest.Queue{}}
	var inv invoker
	gw := gateway.New(catalog.System(), &inv, gateway.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		gw.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	dir := replayDir{creds: webhook.Credentials{
		ShopifySecrets: []string{replayShopKey}, MetaAppSecrets: []string{replayMetaKey}, TwilioAuthToken: replayTwilio,
		SendGridPublicKey: sendgridPublicKey, AllowedOrigins: []string{"https://" + replayShop},
	}}
	// PUBLIC_BASE_URL is the server's own URL, as in `pulsehub dev`.
	h := webhook.New(slog.New(slog.DiscardHandler), dir, f.queue, srv.URL, time.Now)
	inv.h = lambda.NewHandler(h.Handle)
	return f
}

// sendGridKeyFile writes a P-256 private key as openssl ecparam does and
// returns its path and the public key as SendGrid shows it (base64 DER).
func sendGridKeyFile(t *testing.T) (path, public string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "sendgrid.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, base64.StdEncoding.EncodeToString(pub)
}

// replaySamples are the webhook samples in events/, each with what the
// webhooks function must queue for it.
var replaySamples = map[string]struct {
	source, topic string
	envelopes     int
}{
	"http-webhook-shopify-orders-create.json": {ingest.SourceShopify, "orders/create", 1},
	"http-webhook-meta-leadgen.json":          {ingest.SourceMeta, "meta/leadgen", 1},
	"http-webhook-whatsapp-message.json":      {ingest.SourceWhatsApp, "whatsapp/messages", 1},
	"http-webhook-whatsapp-status.json":       {ingest.SourceWhatsApp, "whatsapp/messages", 1},
	"http-webhook-twilio-inbound-sms.json":    {ingest.SourceTwilio, webhook.TopicTwilioInbound, 1},
	"http-webhook-twilio-status.json":         {ingest.SourceTwilio, webhook.TopicTwilioStatus, 1},
	"http-webhook-sendgrid-events.json":       {ingest.SourceSendGrid, webhook.TopicSendGrid, 1},
	"http-collect-batch.json":                 {ingest.SourceCollect, webhook.TopicCollect, 3},
}

func sampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../events/http-webhook-*.json", "../../events/http-collect*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		if _, ok := replaySamples[filepath.Base(f)]; !ok {
			t.Errorf("%s: add what it must queue to replaySamples", f)
		}
	}
	if len(files) != len(replaySamples) {
		t.Fatalf("found %d webhook samples, replaySamples lists %d", len(files), len(replaySamples))
	}
	return files
}

func replay(args ...string) (code int, stdout, stderr string) {
	return replayEnv(nil, args...)
}

// replayEnv runs replay with env as the whole environment.
func replayEnv(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code = run(context.Background(), append([]string{"replay"}, args...), &out, &errb, lookup)
	return code, out.String(), errb.String()
}

// TestReplay replays every sample through the local API Gateway into the
// real webhooks handler: each must pass its provider's verification and
// queue what the sample stands for, in the --tenant workspace.
func TestReplay(t *testing.T) {
	keyFile, pub := sendGridKeyFile(t)
	fn := newWebhookFunction(t, pub)
	secrets := []string{"--to", fn.URL, "--secret", replayShopKey, "--meta-secret", replayMetaKey, "--twilio-token", replayTwilio,
		"--sendgrid-key", keyFile, "--write-key", replayWriteKey, "--tenant", replayTenant}
	files := sampleFiles(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := replaySamples[filepath.Base(f)]
			code, stdout, stderr := replay(append([]string{f}, secrets...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "replayed 1 webhooks") {
				t.Fatalf("stdout %q", stdout)
			}
			envs := fn.queue.Take(t)
			if len(envs) != want.envelopes {
				t.Fatalf("queued %d envelopes, want %d: %+v", len(envs), want.envelopes, envs)
			}
			for _, e := range envs {
				if e.Source != want.source || e.Topic != want.topic || e.Tenant != replayTenant {
					t.Fatalf("queued %s %s for %s, want %s %s for %s", e.Source, e.Topic, e.Tenant, want.source, want.topic, replayTenant)
				}
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		code, stdout, stderr := replay(append(files, secrets...)...)
		if code != 0 || !strings.Contains(stdout, fmt.Sprintf("replayed %d webhooks", len(files))) {
			t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
		}
		fn.queue.Take(t)
	})
	t.Run("--to in the older /webhooks/shopify form", func(t *testing.T) {
		code, _, stderr := replay("../../events/http-webhook-shopify-orders-create.json", "--secret", replayShopKey, "--to", fn.URL+"/webhooks/shopify")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if envs := fn.queue.Take(t); len(envs) != 1 || envs[0].Topic != "orders/create" {
			t.Fatalf("queued %+v", envs)
		}
	})
	t.Run("the write key recorded in the file", func(t *testing.T) {
		// The sample carries the demo's key, which this workspace does not
		// have: the recorded key is what was sent, and it is refused.
		code, _, stderr := replay("../../events/http-collect-batch.json", "--to", fn.URL)
		if code != 1 || !strings.Contains(stderr, "http-collect-batch.json: POST /collect answered 401") || !strings.Contains(stderr, "write key is not valid") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

// TestReplayErrors: a secret that is missing is named with its file and
// flag before anything is sent; a wrong one is PulseHub's 401, named too.
func TestReplayErrors(t *testing.T) {
	keyFile, pub := sendGridKeyFile(t)
	ev := func(name string) string { return "../../events/" + name }
	p384 := filepath.Join(t.TempDir(), "p384.pem")
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k384)
	if err := os.WriteFile(p384, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	notKey := filepath.Join(t.TempDir(), "public.pem")
	if err := os.WriteFile(notKey, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		code      int
		want      []string // each must be in stderr
		wantSends int64    // requests that reached the server
	}{
		{"no files", []string{}, 2, []string{"usage: pulsehub replay FILE.json..."}, 0},
		{"shopify without --secret", []string{ev("http-webhook-shopify-orders-create.json")}, 1,
			[]string{"http-webhook-shopify-orders-create.json: a Shopify webhook is signed with the shop's webhook secret; pass --secret"}, 0},
		{"twilio without --twilio-token", []string{ev("http-webhook-twilio-inbound-sms.json"), "--tenant", replayTenant}, 1,
			[]string{"http-webhook-twilio-inbound-sms.json: a Twilio webhook is signed with the workspace's Twilio auth token; pass --twilio-token"}, 0},
		{"every missing secret, before sending anything", []string{ev("http-webhook-shopify-orders-create.json"), ev("http-webhook-whatsapp-message.json"),
			ev("http-webhook-meta-leadgen.json"), ev("http-webhook-twilio-status.json"), ev("http-webhook-sendgrid-events.json"), "--secret", replayShopKey}, 1,
			[]string{"http-webhook-whatsapp-message.json: a Meta or WhatsApp callback is signed with the Meta app secret; pass --meta-secret",
				"http-webhook-meta-leadgen.json: a Meta or WhatsApp callback", "http-webhook-twilio-status.json: a Twilio webhook", "pass --twilio-token",
				"http-webhook-sendgrid-events.json: a SendGrid event webhook is signed with the private key of the workspace's webhookPublicKey; pass --sendgrid-key KEY.pem"}, 0},
		{"wrong twilio token", []string{ev("http-webhook-twilio-inbound-sms.json"), "--tenant", replayTenant, "--twilio-token", "not-the-token"}, 1,
			[]string{"http-webhook-twilio-inbound-sms.json: POST /webhooks/twilio/t-replay answered 401", "is --twilio-token the workspace's auth token"}, 1},
		{"twilio signed for another public URL", []string{ev("http-webhook-twilio-status.json"), "--tenant", replayTenant, "--twilio-token", replayTwilio,
			"--public-url", "https://hooks.example.test"}, 1, []string{"answered 401"}, 1},
		{"sendgrid without --tenant keeps the file's workspace", []string{ev("http-webhook-sendgrid-events.json"), "--sendgrid-key", keyFile}, 1,
			[]string{"POST /webhooks/sendgrid/t-demo answered 401"}, 1},
		{"meta secret of another app", []string{ev("http-webhook-meta-leadgen.json"), "--meta-secret", "other"}, 1,
			[]string{"http-webhook-meta-leadgen.json: POST /webhooks/meta answered 401"}, 1},
		{"sendgrid key of another curve", []string{ev("http-webhook-sendgrid-events.json"), "--sendgrid-key", p384}, 1,
			[]string{"--sendgrid-key " + p384 + ": SendGrid signs with ECDSA P-256"}, 0},
		{"sendgrid key file without a private key", []string{ev("http-webhook-sendgrid-events.json"), "--sendgrid-key", notKey}, 1,
			[]string{"no PEM private key found", "openssl ecparam -name prime256v1 -genkey"}, 0},
		{"sendgrid key file missing", []string{ev("http-webhook-sendgrid-events.json"), "--sendgrid-key", "nope.pem"}, 1, []string{"--sendgrid-key: open nope.pem"}, 0},
		{"not a webhook", []string{ev("http-get-me.json")}, 1, []string{"http-get-me.json: a GET request; replay sends the POSTs providers make"}, 0},
		{"not an event", []string{"replay_test.go"}, 1, []string{"replay_test.go: not an API Gateway HTTP event"}, 0},
		{"--to without a scheme", []string{ev("http-collect-batch.json"), "--to", "127.0.0.1:8080"}, 1, []string{`--to "127.0.0.1:8080": want PulseHub's base URL`}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := newWebhookFunction(t, pub)
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--to") {
				args = append(args, "--to", fn.URL)
			}
			code, _, stderr := replay(args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if n := fn.requests.Load(); n != tt.wantSends {
				t.Errorf("%d requests reached PulseHub, want %d", n, tt.wantSends)
			}
			if envs := fn.queue.Take(t); len(envs) != 0 {
				t.Errorf("a refused replay queued %+v", envs)
			}
		})
	}
}

// TestReplaySecretsFromEnv: each secret flag falls back to its environment
// variable, and a flag given wins over the variable.
func TestReplaySecretsFromEnv(t *testing.T) {
	fn := newWebhookFunction(t, "")
	ev := func(name string) string { return "../../events/" + name }
	secrets := []struct {
		file, flag, env, value string
	}{
		{ev("http-webhook-shopify-orders-create.json"), "--secret", "PULSEHUB_SHOPIFY_SECRET", replayShopKey},
		{ev("http-webhook-meta-leadgen.json"), "--meta-secret", "PULSEHUB_META_SECRET", replayMetaKey},
		{ev("http-webhook-whatsapp-message.json"), "--meta-secret", "PULSEHUB_META_SECRET", replayMetaKey},
		{ev("http-webhook-twilio-status.json"), "--twilio-token", "PULSEHUB_TWILIO_TOKEN", replayTwilio},
		// The file records the demo's write key, which this workspace refuses.
		{ev("http-collect-batch.json"), "--write-key", "PULSEHUB_WRITE_KEY", replayWriteKey},
	}
	for _, s := range secrets {
		tests := []struct {
			name     string
			env      string // the variable's value ("" unset)
			flag     string // the flag's value ("" not passed)
			accepted bool
		}{
			{"env without the flag", s.value, "", true},
			{"flag wins over a wrong env", "wrong", s.value, true},
			{"a wrong flag wins over env", s.value, "wrong", false},
		}
		for _, tt := range tests {
			t.Run(filepath.Base(s.file)+"/"+tt.name, func(t *testing.T) {
				env := map[string]string{}
				if tt.env != "" {
					env[s.env] = tt.env
				}
				args := []string{s.file, "--to", fn.URL, "--tenant", replayTenant}
				if tt.flag != "" {
					args = append(args, s.flag, tt.flag)
				}
				code, _, stderr := replayEnv(env, args...)
				envs := fn.queue.Take(t)
				if tt.accepted && (code != 0 || len(envs) == 0) {
					t.Fatalf("exit %d, queued %d: %s", code, len(envs), stderr)
				}
				if !tt.accepted && (code != 1 || !strings.Contains(stderr, "answered 401") || len(envs) != 0) {
					t.Fatalf("exit %d, queued %d, want a 401: %s", code, len(envs), stderr)
				}
			})
		}
	}
	t.Run("missing names the variable too", func(t *testing.T) {
		code, _, stderr := replayEnv(map[string]string{"PULSEHUB_META_SECRET": replayMetaKey}, ev("http-webhook-shopify-orders-create.json"), "--to", fn.URL)
		if code != 1 || !strings.Contains(stderr, "pass --secret or set PULSEHUB_SHOPIFY_SECRET") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("usage names the variables", func(t *testing.T) {
		code, _, stderr := replayEnv(nil, "--help")
		for _, v := range []string{"$PULSEHUB_SHOPIFY_SECRET", "$PULSEHUB_META_SECRET", "$PULSEHUB_TWILIO_TOKEN", "$PULSEHUB_WRITE_KEY"} {
			if code != 0 || !strings.Contains(stderr, v) {
				t.Errorf("exit %d, usage lacks %s:\n%s", code, v, stderr)
			}
		}
	})
}

// TestReadRecordedDropsHeaders: what the gateway or the HTTP client sets and
// every recorded signature stay behind, whatever their case; the rest is sent.
func TestReadRecordedDropsHeaders(t *testing.T) {
	file := filepath.Join(t.TempDir(), "event.json")
	ev := `{"rawPath":"/webhooks/meta","requestContext":{"http":{"method":"POST"}},"body":"{}","headers":{
		"Host":"127.0.0.1:8080","Content-Length":"2","X-Forwarded-For":"127.0.0.1","X-Amzn-Trace-Id":"Root=1",
		"X-Hub-Signature":"sha1=00","X-Hub-Signature-256":"sha256=00","X-Twilio-Signature":"abc",
		"X-Twilio-Email-Event-Webhook-Timestamp":"1","X-Shopify-Hmac-Sha256":"abc",
		"Content-Type":"application/json","User-Agent":"facebookexternalua","X-Shopify-Topic":"orders/create"}}`
	if err := os.WriteFile(file, []byte(ev), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := readRecorded(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Host", "Content-Length", "X-Forwarded-For", "X-Amzn-Trace-Id", "X-Hub-Signature", "X-Hub-Signature-256",
		"X-Twilio-Signature", "X-Twilio-Email-Event-Webhook-Timestamp", "X-Shopify-Hmac-Sha256"} {
		if v := r.header.Get(h); v != "" {
			t.Errorf("%s: %q kept, want it dropped", h, v)
		}
	}
	for h, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "facebookexternalua", "X-Shopify-Topic": "orders/create"} {
		if v := r.header.Get(h); v != want {
			t.Errorf("%s: %q, want %q kept", h, v, want)
		}
	}
}
