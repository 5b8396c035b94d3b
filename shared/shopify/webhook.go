package shopify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"
)

// Webhook headers Shopify sets on every delivery.
const (
	HeaderHmac        = "X-Shopify-Hmac-Sha256"
	HeaderTopic       = "X-Shopify-Topic"
	HeaderShopDomain  = "X-Shopify-Shop-Domain"
	HeaderWebhookID   = "X-Shopify-Webhook-Id"
	HeaderEventID     = "X-Shopify-Event-Id"
	HeaderTriggeredAt = "X-Shopify-Triggered-At"
	HeaderAPIVersion  = "X-Shopify-API-Version"
)

// Sign returns the X-Shopify-Hmac-Sha256 value for body: the base64 of the
// HMAC-SHA256 of the raw bytes keyed with the app's client secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Valid reports whether header is the signature of body under secret,
// comparing in constant time.
func Valid(secret string, body []byte, header string) bool {
	got, err := base64.StdEncoding.Strict().DecodeString(header)
	if err != nil || secret == "" {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Delivery is one webhook delivery as Shopify would make it.
type Delivery struct {
	Topic       string
	ShopDomain  string
	WebhookID   string // unique per delivery attempt set; the dedupe key
	EventID     string // the same for one event across topics
	TriggeredAt time.Time
	APIVersion  string
	Body        []byte
}

// NewRequest builds the signed POST of d to url, with Shopify's headers.
func (d Delivery) NewRequest(ctx context.Context, url, secret string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return nil, fmt.Errorf("shopify: webhook request %s: %w", d.Topic, err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set(HeaderHmac, Sign(secret, d.Body))
	h.Set(HeaderTopic, d.Topic)
	h.Set(HeaderShopDomain, d.ShopDomain)
	h.Set(HeaderWebhookID, d.WebhookID)
	if d.EventID != "" {
		h.Set(HeaderEventID, d.EventID)
	}
	if !d.TriggeredAt.IsZero() {
		h.Set(HeaderTriggeredAt, d.TriggeredAt.UTC().Format(time.RFC3339Nano))
	}
	v := d.APIVersion
	if v == "" {
		v = DefaultAPIVersion
	}
	h.Set(HeaderAPIVersion, v)
	return req, nil
}
