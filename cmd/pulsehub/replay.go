package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pulsehub/pulsehub/shared/retry"
	"github.com/pulsehub/pulsehub/shared/shopify"
	"github.com/pulsehub/pulsehub/shared/webhook"
)

// Environment variables replay takes a secret from when its flag is not
// given: a flag's value shows in ps and in shell history.
const (
	envShopifySecret = "PULSEHUB_SHOPIFY_SECRET"
	envMetaSecret    = "PULSEHUB_META_SECRET"
	envTwilioToken   = "PULSEHUB_TWILIO_TOKEN"
	envWriteKey      = "PULSEHUB_WRITE_KEY"
)

// replayCommand posts recorded webhooks (API Gateway HTTP API v2 events like
// those in events/) to a running PulseHub, each signed the way its provider
// signs it, so the real verification path accepts them. lookupEnv reads the
// secrets' environment variables.
func replayCommand(lookupEnv func(string) (string, bool)) command {
	return command{
		summary: "replay recorded webhooks (events/http-webhook-*.json, events/http-collect-*.json), each signed as its provider signs it",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := newFlags("replay", "replay FILE.json... [--to http://127.0.0.1:8080] [--secret SHOPIFY_WEBHOOK_SECRET] [--meta-secret APP_SECRET] [--twilio-token AUTH_TOKEN] [--sendgrid-key KEY.pem] [--write-key KEY] [--tenant TENANT_ID] [--public-url URL]", stderr)
			flagUsage := fs.Usage
			fs.Usage = func() {
				flagUsage()
				fmt.Fprintf(stderr, "Secrets can come from the environment instead, out of ps and shell history: $%s, $%s, $%s, $%s (a flag given wins).\n",
					envShopifySecret, envMetaSecret, envTwilioToken, envWriteKey)
			}
			to := fs.String("to", "http://127.0.0.1:8080", "PulseHub's base URL; each file is posted to its own path (a URL ending in /webhooks/shopify, the older form, is read as its base)")
			var c replayer
			fs.StringVar(&c.shopifySecret, "secret", "", "Shopify: the shop's webhook secret (signs /webhooks/shopify; default $"+envShopifySecret+")")
			fs.StringVar(&c.metaSecret, "meta-secret", "", "Meta / WhatsApp: the Meta app secret (signs /webhooks/meta and /webhooks/whatsapp; default $"+envMetaSecret+")")
			fs.StringVar(&c.twilioToken, "twilio-token", "", "Twilio: the workspace's Twilio auth token (signs /webhooks/twilio/…; default $"+envTwilioToken+")")
			sgKey := fs.String("sendgrid-key", "", "SendGrid: PEM file of the ECDSA P-256 private key whose public key the workspace saved as webhookPublicKey (signs /webhooks/sendgrid/…)")
			fs.StringVar(&c.writeKey, "write-key", "", "/collect: the workspace's write key (default $"+envWriteKey+", else the one recorded in the file)")
			fs.StringVar(&c.tenant, "tenant", "", "workspace id put in /webhooks/twilio/{tenantId} and /webhooks/sendgrid/{tenantId} (default: the file's)")
			fs.StringVar(&c.publicURL, "public-url", "", "Twilio: the URL Twilio would have called, i.e. the runtime's PUBLIC_BASE_URL (default: --to)")
			files, err := parseInterspersed(fs, args)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				fs.Usage()
				return errUsage
			}
			for _, s := range []struct {
				v   *string
				env string
			}{{&c.shopifySecret, envShopifySecret}, {&c.metaSecret, envMetaSecret}, {&c.twilioToken, envTwilioToken}, {&c.writeKey, envWriteKey}} {
				if *s.v == "" {
					*s.v, _ = lookupEnv(s.env)
				}
			}
			base, err := replayBase(*to)
			if err != nil {
				return err
			}
			if c.publicURL == "" {
				c.publicURL = base
			}
			c.publicURL = strings.TrimRight(c.publicURL, "/")
			if strings.Contains(c.tenant, "/") {
				return fmt.Errorf("--tenant %q: a workspace id has no slash", c.tenant)
			}
			if *sgKey != "" {
				if c.sendgridKey, err = readSendGridKey(*sgKey); err != nil {
					return err
				}
			}
			c.now = time.Now
			// Read and sign every file before sending any, so a missing
			// secret stops the run before it has half happened.
			var reqs []recorded
			var errs []error
			for _, f := range files {
				r, err := readRecorded(f)
				if err == nil {
					err = c.sign(&r)
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				reqs = append(reqs, r)
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			hc := &http.Client{Timeout: 30 * time.Second}
			for _, r := range reqs {
				status, err := post(ctx, hc, base, r)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s: %s %s → %d\n", r.file, r.provider, r.path, status)
			}
			fmt.Fprintf(stdout, "replayed %d webhooks\n", len(reqs))
			return nil
		},
	}
}

// replayBase reads --to: PulseHub's base URL without a trailing slash.
func replayBase(to string) (string, error) {
	base := strings.TrimSuffix(strings.TrimRight(to, "/"), "/webhooks/shopify")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--to %q: want PulseHub's base URL, e.g. http://127.0.0.1:8080", to)
	}
	return base, nil
}

// Providers, named by the route a recorded event was sent to.
const (
	provShopify  = "shopify"
	provMeta     = "meta"
	provWhatsApp = "whatsapp"
	provTwilio   = "twilio"
	provSendGrid = "sendgrid"
	provCollect  = "collect"
)

// providerOf maps a webhooks route path to its provider ("" when none).
func providerOf(path string) string {
	switch {
	case path == "/webhooks/shopify":
		return provShopify
	case path == "/webhooks/meta":
		return provMeta
	case path == "/webhooks/whatsapp":
		return provWhatsApp
	case strings.HasPrefix(path, "/webhooks/twilio/"):
		return provTwilio
	case strings.HasPrefix(path, "/webhooks/sendgrid/"):
		return provSendGrid
	case path == "/collect":
		return provCollect
	}
	return ""
}

// recorded is one webhook read from an event file, ready to post.
type recorded struct {
	file     string
	provider string
	path     string // escaped path and query, as posted under the base URL
	header   http.Header
	body     []byte
}

// dropped reports a recorded header replay never sends (name in lower
// case): what the gateway or the HTTP client sets, and every provider's
// signature (replay makes its own).
func dropped(name string) bool {
	switch name {
	case "host", "content-length", "connection", "accept-encoding",
		"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id",
		"x-shopify-hmac-sha256", "x-hub-signature", "x-hub-signature-256", "x-twilio-signature",
		"x-twilio-email-event-webhook-signature", "x-twilio-email-event-webhook-timestamp":
		return true
	}
	return false
}

// readRecorded reads an API Gateway HTTP API (payload 2.0) event file.
func readRecorded(file string) (recorded, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return recorded{}, err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		return recorded{}, fmt.Errorf("%s: not an API Gateway HTTP event: %v", file, err)
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	r := recorded{file: file, provider: providerOf(path), path: path, header: http.Header{}}
	if m := ev.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		return recorded{}, fmt.Errorf("%s: a %s request; replay sends the POSTs providers make", file, m)
	}
	if r.provider == "" {
		return recorded{}, fmt.Errorf("%s: path %q is not a webhook route (/webhooks/shopify, /webhooks/meta, /webhooks/whatsapp, /webhooks/twilio/{tenantId}, /webhooks/sendgrid/{tenantId}, /collect)", file, path)
	}
	if ev.RawQueryString != "" {
		r.path += "?" + ev.RawQueryString
	}
	r.body = []byte(ev.Body)
	if ev.IsBase64Encoded {
		if r.body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return recorded{}, fmt.Errorf("%s: isBase64Encoded but the body is not base64: %v", file, err)
		}
	}
	if len(r.body) == 0 {
		return recorded{}, fmt.Errorf("%s: the event has no body", file)
	}
	for k, v := range ev.Headers {
		if !dropped(strings.ToLower(k)) {
			r.header.Set(k, v)
		}
	}
	return r, nil
}

// replayer holds what replay signs with, one credential per provider.
type replayer struct {
	shopifySecret, metaSecret, twilioToken, writeKey string
	sendgridKey                                      *ecdsa.PrivateKey
	tenant                                           string
	publicURL                                        string // what Twilio signs: PUBLIC_BASE_URL
	now                                              func() time.Time
}

// missing is the error for a file whose provider needs a flag not given
// (env, when not "", is the variable that can stand in for it).
func missing(r recorded, what, flag, env string) error {
	if env != "" {
		return fmt.Errorf("%s: %s; pass %s or set %s", r.file, what, flag, env)
	}
	return fmt.Errorf("%s: %s; pass %s", r.file, what, flag)
}

// sign sets the headers r's provider authenticates with.
func (c replayer) sign(r *recorded) error {
	switch r.provider {
	case provShopify:
		if c.shopifySecret == "" {
			return missing(*r, "a Shopify webhook is signed with the shop's webhook secret", "--secret", envShopifySecret)
		}
		if r.header.Get(shopify.HeaderTopic) == "" || r.header.Get(shopify.HeaderShopDomain) == "" || r.header.Get(shopify.HeaderWebhookID) == "" {
			return fmt.Errorf("%s: X-Shopify-Topic, -Shop-Domain and -Webhook-Id headers are required", r.file)
		}
		r.header.Set(shopify.HeaderHmac, shopify.Sign(c.shopifySecret, r.body))
	case provMeta, provWhatsApp:
		if c.metaSecret == "" {
			return missing(*r, "a Meta or WhatsApp callback is signed with the Meta app secret", "--meta-secret", envMetaSecret)
		}
		r.header.Set("X-Hub-Signature-256", webhook.SignMeta(c.metaSecret, r.body))
	case provTwilio:
		if c.twilioToken == "" {
			return missing(*r, "a Twilio webhook is signed with the workspace's Twilio auth token", "--twilio-token", envTwilioToken)
		}
		c.retarget(r, "/webhooks/twilio/")
		sig, err := webhook.SignTwilio(c.twilioToken, c.publicURL+r.path, r.body)
		if err != nil {
			return fmt.Errorf("%s: %w", r.file, err)
		}
		r.header.Set("X-Twilio-Signature", sig)
	case provSendGrid:
		if c.sendgridKey == nil {
			return missing(*r, "a SendGrid event webhook is signed with the private key of the workspace's webhookPublicKey", "--sendgrid-key KEY.pem", "")
		}
		c.retarget(r, "/webhooks/sendgrid/")
		ts := strconv.FormatInt(c.now().Unix(), 10)
		sig, err := webhook.SignSendGrid(c.sendgridKey, ts, r.body)
		if err != nil {
			return fmt.Errorf("%s: %w", r.file, err)
		}
		r.header.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
		r.header.Set("X-Twilio-Email-Event-Webhook-Signature", sig)
	case provCollect:
		// The write key is public (it ships in the storefront's tag), so a
		// recorded one is used as is; --write-key overrides it.
		if c.writeKey != "" {
			r.header.Set("X-PulseHub-Key", c.writeKey)
		} else if r.header.Get("X-PulseHub-Key") == "" && !bodyHasWriteKey(r.body) {
			return missing(*r, "a /collect batch needs a write key and none is recorded", "--write-key", envWriteKey)
		}
	}
	return nil
}

// retarget puts --tenant into a /webhooks/{provider}/{tenantId} path.
func (c replayer) retarget(r *recorded, prefix string) {
	if c.tenant == "" {
		return
	}
	query := ""
	if i := strings.IndexByte(r.path, '?'); i >= 0 {
		query = r.path[i:]
	}
	r.path = prefix + url.PathEscape(c.tenant) + query
}

// readSendGridKey reads a PEM ECDSA P-256 private key (SEC 1 "EC PRIVATE
// KEY" as openssl ecparam writes it, or PKCS #8 "PRIVATE KEY").
func readSendGridKey(file string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--sendgrid-key: %w", err)
	}
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		var key any
		switch blk.Type {
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		default:
			continue // e.g. the EC PARAMETERS block openssl ecparam writes first
		}
		if err != nil {
			return nil, fmt.Errorf("--sendgrid-key %s: %s block: %v", file, blk.Type, err)
		}
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("--sendgrid-key %s: SendGrid signs with ECDSA P-256; this is a %T", file, key)
		}
		return k, nil
	}
	return nil, fmt.Errorf("--sendgrid-key %s: no PEM private key found (make one with: openssl ecparam -name prime256v1 -genkey -noout -out %s)", file, file)
}

func bodyHasWriteKey(body []byte) bool {
	var v struct {
		WriteKey string `json:"writeKey"`
	}
	return json.Unmarshal(body, &v) == nil && v.WriteKey != ""
}

// post sends r to base+r.path, retrying 429, 5xx and connection errors a
// few times; any other non-2xx answer is an error naming the file.
func post(ctx context.Context, hc *http.Client, base string, r recorded) (int, error) {
	status, msg, err := retry.HTTP(ctx, hc, 5, retry.Backoff{Base: 200 * time.Millisecond, Max: 3 * time.Second},
		func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+r.path, bytes.NewReader(r.body))
			if err == nil {
				req.Header = r.header.Clone()
			}
			return req, err
		})
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s: POST %s: %w", r.file, r.path, err)
	case status/100 == 2:
		return status, nil
	case retry.RetryableStatus(status):
		return 0, fmt.Errorf("%s: POST %s: answered %d: %s", r.file, r.path, status, bytes.TrimSpace(msg))
	}
	return 0, fmt.Errorf("%s: POST %s answered %d: %s%s", r.file, r.path, status, bytes.TrimSpace(msg), hint(r, status))
}

// hint says what to check when PulseHub refused a signature.
func hint(r recorded, status int) string {
	if status != http.StatusUnauthorized {
		return ""
	}
	switch r.provider {
	case provShopify:
		return " (is --secret the shop's webhook secret, and the shop domain connected?)"
	case provMeta:
		return " (is --meta-secret the app secret, and entry[0].id one of the workspace's Meta page/app/pixel ids?)"
	case provWhatsApp:
		return " (is --meta-secret the app secret, and the phone_number_id the workspace's WhatsApp number?)"
	case provTwilio:
		return " (is --twilio-token the workspace's auth token, --tenant its id, and --public-url the runtime's PUBLIC_BASE_URL?)"
	case provSendGrid:
		return " (does the workspace's webhookPublicKey match --sendgrid-key, and is --tenant its id?)"
	case provCollect:
		return " (is --write-key the workspace's write key?)"
	}
	return ""
}
