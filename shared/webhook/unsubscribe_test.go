package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulsehub/pulsehub/shared/channel/unsubscribe"
	"github.com/pulsehub/pulsehub/shared/ingest"
)

// linkKey is a fixed per-workspace MAC key (what pii.Cipher gives in production).
type linkKey struct{}

func (linkKey) BlindIndex(_ context.Context, tenant, kind, value string) (string, error) {
	m := hmac.New(sha256.New, []byte("k-"+tenant))
	m.Write([]byte(kind + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil)), nil
}

func TestUnsubscribeLink(t *testing.T) {
	h, q := newTestHandler(t, "")
	signer := unsubscribe.New(linkKey{}, testPublicURL)
	h.unsub = signer
	tok, err := signer.Token(context.Background(), unsubscribe.Claims{Tenant: testTenant, CustomerID: "c-5", Channel: "email", CampaignID: "camp-1", Variant: "B"})
	if err != nil {
		t.Fatal(err)
	}
	path := "/unsubscribe/" + tok

	// GET only shows the confirmation: a link scanner unsubscribes nobody.
	res := invoke(t, h, httpEvent("GET", path, "", nil))
	if res.StatusCode != 200 || !strings.Contains(res.Body, `<form method="post">`) || !strings.Contains(res.Body, "marketing emails") ||
		res.Headers["Content-Type"] != "text/html; charset=utf-8" || res.Headers["Referrer-Policy"] != "no-referrer" || res.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("GET: %d %v %s", res.StatusCode, res.Headers, res.Body)
	}
	if q.Len() != 0 {
		t.Fatal("GET queued an unsubscribe")
	}

	for _, tt := range []struct{ body, method string }{
		{"List-Unsubscribe=One-Click", ingest.UnsubscribeOneClick},
		{"", ingest.UnsubscribePage},
	} {
		ev := httpEvent("POST", path, tt.body, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		ev.PathParameters = map[string]string{"token": tok}
		res = invoke(t, h, ev)
		if res.StatusCode != 200 || !strings.Contains(res.Body, "You will not receive marketing emails") {
			t.Fatalf("POST %q: %d %s", tt.body, res.StatusCode, res.Body)
		}
		envs := q.Take(t)
		if len(envs) != 1 {
			t.Fatalf("%d envelopes", len(envs))
		}
		e := envs[0]
		if e.Source != ingest.SourceUnsubscribe || e.Topic != ingest.TopicUnsubscribe || e.Tenant != testTenant || !strings.HasPrefix(e.ID, "sha256:") {
			t.Fatalf("envelope %+v", e)
		}
		var u ingest.Unsubscribe
		if err := json.Unmarshal(e.Body, &u); err != nil {
			t.Fatal(err)
		}
		if u != (ingest.Unsubscribe{CustomerID: "c-5", Channel: "email", CampaignID: "camp-1", Variant: "B", Method: tt.method}) {
			t.Fatalf("body %+v", u)
		}
	}

	// A forged or damaged link: 404, nothing queued.
	for _, bad := range []string{"/unsubscribe/" + tok[:len(tok)-3], "/unsubscribe/nope", "/unsubscribe/"} {
		res = invoke(t, h, httpEvent("POST", bad, "List-Unsubscribe=One-Click", nil))
		if res.StatusCode != 404 || !strings.Contains(res.Body, "not valid") || q.Len() != 0 {
			t.Fatalf("%s: %d %s (queued %d)", bad, res.StatusCode, res.Body, q.Len())
		}
	}
}
