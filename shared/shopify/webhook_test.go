package shopify

import (
	"context"
	"encoding/base64"
	"testing"
)

// Vector computed the way Shopify's documentation does it:
//
//	echo -n '{"id":1}' | openssl dgst -sha256 -hmac 'hush' -binary | base64
func TestSignMatchesOpenSSL(t *testing.T) {
	const want = "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY="
	if got := Sign("hush", []byte(`{"id":1}`)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Valid("hush", []byte(`{"id":1}`), want) {
		t.Fatal("Valid rejected its own signature")
	}
	for _, bad := range []string{"", "!!", Sign("other", []byte(`{"id":1}`)), Sign("hush", []byte(`{"id":2}`))} {
		if Valid("hush", []byte(`{"id":1}`), bad) {
			t.Errorf("Valid accepted %q", bad)
		}
	}
}

func TestDeliveryRequestHeaders(t *testing.T) {
	d := Delivery{Topic: TopicOrdersCreate, ShopDomain: "s.myshopify.com", WebhookID: "w1", EventID: "e1", Body: []byte(`{}`)}
	req, err := d.NewRequest(context.Background(), "http://x/webhooks/shopify", "k")
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{HeaderTopic: "orders/create", HeaderShopDomain: "s.myshopify.com", HeaderWebhookID: "w1", HeaderEventID: "e1", HeaderHmac: Sign("k", []byte(`{}`))} {
		if got := req.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	f.Add([]byte(`{"id":1}`), "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		if !Valid("hush", body, Sign("hush", body)) {
			t.Fatal("Valid rejected Sign's output")
		}
		// Anything accepted must decode to exactly the expected MAC.
		if Valid("hush", body, header) {
			got, _ := base64.StdEncoding.Strict().DecodeString(header)
			want, _ := base64.StdEncoding.DecodeString(Sign("hush", body))
			if string(got) != string(want) {
				t.Fatalf("Valid accepted %q", header)
			}
		}
	})
}
