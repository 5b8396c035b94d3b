package ingest_test

import (
	"context"
	"testing"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/profile"
)

func TestShopifyConsentUpdates(t *testing.T) {
	p, ps, _ := setup(t)
	ctx := context.Background()
	const (
		email = "customers/email_marketing_consent_update"
		sms   = "customers/marketing_consent_update"
	)
	steps := []struct {
		name, topic, body string
		wantErr           apperr.Kind // 0: none
		want              map[string]string
	}{
		{"graphql-cased email opt-in", email, `{"customer_id":77,"email_address":"ann@example.com","email_marketing_consent":{"state":"SUBSCRIBED","opt_in_level":"single_opt_in","consent_updated_at":"2025-02-01T10:00:00Z"}}`,
			0, map[string]string{"email": profile.Subscribed}},
		{"sms redacted", sms, `{"id":77,"phone":"+16136120707","sms_marketing_consent":{"state":"redacted","consent_updated_at":"2025-02-01T10:01:00Z","consent_collected_from":"OTHER"}}`,
			0, map[string]string{"email": profile.Subscribed, "sms": profile.Unsubscribed}},
		{"Shopify's sample (null state) changes nothing", email, `{"customer_id":77,"email_address":null,"email_marketing_consent":{"state":null,"opt_in_level":null,"consent_updated_at":null}}`,
			0, map[string]string{"email": profile.Subscribed, "sms": profile.Unsubscribed}},
		{"unknown state is dead-lettered", email, `{"customer_id":77,"email_marketing_consent":{"state":"opted_out","consent_updated_at":"2025-02-01T10:02:00Z"}}`,
			apperr.Invalid, map[string]string{"email": profile.Subscribed, "sms": profile.Unsubscribed}},
		{"no customer", email, `{"email_marketing_consent":{"state":"subscribed"}}`,
			apperr.Invalid, map[string]string{"email": profile.Subscribed, "sms": profile.Unsubscribed}},
	}
	for i, s := range steps {
		err := p.Process(ctx, env(s.topic, "w"+string(rune('a'+i)), s.body, nil))
		if s.wantErr == 0 && err != nil || s.wantErr != 0 && apperr.KindOf(err) != s.wantErr {
			t.Fatalf("%s: error %v, want kind %v", s.name, err, s.wantErr)
		}
		r, err := ps.Resolve(ctx, "t1", profile.Identity{ShopifyID: "77"})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := ps.Consents(ctx, "t1", r.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range cs {
			got[c.Channel] = c.State
		}
		if len(got) != len(s.want) {
			t.Fatalf("%s: consents %v, want %v", s.name, got, s.want)
		}
		for ch, st := range s.want {
			if got[ch] != st {
				t.Fatalf("%s: consents %v, want %v", s.name, got, s.want)
			}
		}
	}
}
