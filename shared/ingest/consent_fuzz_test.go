package ingest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

// The marketing consent payloads, as Shopify's webhook reference shows them
// (its samples carry null states) and as shops send them.
var consentSeeds = []string{
	`{"customer_id":706405506930370084,"email_address":null,"email_marketing_consent":{"state":null,"opt_in_level":null,"consent_updated_at":null}}`,
	`{"id":706405506930370084,"phone":null,"sms_marketing_consent":{"state":null,"opt_in_level":null,"consent_updated_at":null,"consent_collected_from":"OTHER"}}`,
	`{"customer_id":207119551,"email_address":"bob.norman@mail.example.com","email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"2024-08-26T12:52:49-04:00"}}`,
	`{"id":207119551,"phone":"+16136120707","sms_marketing_consent":{"state":"unsubscribed","opt_in_level":"single_opt_in","consent_updated_at":"2023-02-13T10:18:48-05:00","consent_collected_from":"SHOPIFY"}}`,
	`{"customer_id":77,"email_marketing_consent":{"state":"pending","opt_in_level":"confirmed_opt_in"},"sms_marketing_consent":{"state":"redacted"}}`,
	`{"customer_id":77,"email_marketing_consent":{"state":"SUBSCRIBED","opt_in_level":"SINGLE_OPT_IN","consent_updated_at":"0001-01-01T00:00:00Z"}}`,
	`{"email_address":"ann@example.com","email_marketing_consent":{"state":"invalid"}}`,
	`{"customer_id":77,"email_marketing_consent":{"state":"opted_in"}}`,
	`{"email_marketing_consent":{"state":"subscribed"}}`,
	`{"customer_id":"77"}`,
}

// checkConsents fails unless cs holds at most one statement per channel,
// email first, each with a known state and a time.
func checkConsents(t *testing.T, cs []channelConsent) {
	t.Helper()
	known := []string{profile.Subscribed, profile.Unsubscribed, profile.NotSubscribed, profile.Pending}
	if len(cs) > 2 || (len(cs) == 2 && (cs[0].Channel != "email" || cs[1].Channel != "sms")) {
		t.Fatalf("channels %+v", cs)
	}
	for _, c := range cs {
		if (c.Channel != "email" && c.Channel != "sms") || !slices.Contains(known, c.State) || c.At.IsZero() {
			t.Fatalf("accepted consent %+v", c)
		}
	}
}

func FuzzParseConsentUpdate(f *testing.F) {
	for _, s := range consentSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		topic := "customers/email_marketing_consent_update"
		who, cs, err := parseConsentUpdate(fuzzEnv(SourceShopify, topic, []byte(body)))
		if err != nil {
			mustInvalid(t, err)
			return
		}
		if who == (profile.Identity{}) {
			t.Fatal("accepted a consent update that names no customer")
		}
		checkConsents(t, cs)
		// What was read, written back in Shopify's shape, reads the same:
		// the mapping is a fixed point and drops nothing it kept.
		again, err := shopifyConsents(fuzzEnv(SourceShopify, topic, nil), restConsent(cs, "email"), restConsent(cs, "sms"))
		if err != nil || len(again) != len(cs) {
			t.Fatalf("re-read %+v: %+v, %v", cs, again, err)
		}
		for i := range cs {
			if again[i].Channel != cs[i].Channel || again[i].State != cs[i].State || again[i].Detail != cs[i].Detail || !again[i].At.Equal(cs[i].At) {
				t.Fatalf("re-read %+v as %+v", cs[i], again[i])
			}
		}
	})
}

// restConsent is channel's statement in cs in Shopify's REST shape.
func restConsent(cs []channelConsent, channel string) *shopify.MarketingConsent {
	for _, c := range cs {
		if c.Channel == channel {
			at := c.At
			return &shopify.MarketingConsent{State: c.State, OptInLevel: c.Detail, ConsentUpdatedAt: &at}
		}
	}
	return nil
}

// FuzzShopifyConsents drives the state mapping with any state and time,
// as a customers/update payload or the sync's GraphQL conversion may carry.
func FuzzShopifyConsents(f *testing.F) {
	f.Add("subscribed", "single_opt_in", "2024-08-26T12:52:49-04:00", "NOT_SUBSCRIBED")
	f.Add("REDACTED", "", "", "pending")
	f.Add(" Invalid ", "confirmed_opt_in", "0001-01-01T00:00:00Z", "")
	f.Add("subscribed\x00", "", "", "unknown")
	f.Fuzz(func(t *testing.T, emailState, level, updated, smsState string) {
		email := &shopify.MarketingConsent{State: emailState, OptInLevel: level}
		if at, err := time.Parse(time.RFC3339, updated); err == nil {
			email.ConsentUpdatedAt = &at
		}
		sms := &shopify.MarketingConsent{State: smsState}
		cs, err := shopifyConsents(fuzzEnv(SourceShopify, "customers/update", nil), email, sms)
		if err != nil {
			mustInvalid(t, err)
			// Only a stated, unknown state is refused, and the detail names it.
			if _, e1 := consentState(emailState); e1 == nil || strings.TrimSpace(emailState) == "" {
				if _, e2 := consentState(smsState); e2 == nil || strings.TrimSpace(smsState) == "" {
					t.Fatalf("refused known or empty states %q, %q: %v", emailState, smsState, err)
				}
			}
			return
		}
		checkConsents(t, cs)
		stated := 0
		for _, s := range []string{emailState, smsState} {
			if strings.TrimSpace(s) != "" {
				stated++
			}
		}
		if len(cs) != stated {
			t.Fatalf("%d statements from %q, %q: %+v", len(cs), emailState, smsState, cs)
		}
		for _, c := range cs {
			if c.Channel == "email" && email.ConsentUpdatedAt != nil && !email.ConsentUpdatedAt.IsZero() && !c.At.Equal(*email.ConsentUpdatedAt) {
				t.Fatalf("email consent at %s, payload said %s", c.At, email.ConsentUpdatedAt)
			}
		}
	})
}

func TestConsentState(t *testing.T) {
	for in, want := range map[string]string{
		"subscribed": profile.Subscribed, "SUBSCRIBED": profile.Subscribed, " pending ": profile.Pending,
		"not_subscribed": profile.NotSubscribed, "NOT_SUBSCRIBED": profile.NotSubscribed, "unsubscribed": profile.Unsubscribed,
		"redacted": profile.Unsubscribed, "REDACTED": profile.Unsubscribed, "invalid": profile.NotSubscribed,
	} {
		if got, err := consentState(in); err != nil || got != want {
			t.Errorf("consentState(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"opted_in", "subscribed!", "not subscribed", "yes"} {
		if got, err := consentState(in); err == nil {
			t.Errorf("consentState(%q) = %q, want an error", in, got)
		}
	}
}

// A customers/update payload with an unknown consent state keeps the
// customer and the other channel; only that channel is skipped, with a
// reason naming the channel and value. A consent-only topic with such a
// state is still refused whole (parseConsentUpdate).
func TestParseCustomerSkipsUnknownConsent(t *testing.T) {
	body := `{"id":77,"email":"ann@example.com","email_marketing_consent":{"state":"opted_in"},"sms_marketing_consent":{"state":"subscribed"}}`
	c, cs, skipped, err := parseCustomer(fuzzEnv(SourceShopify, "customers/update", []byte(body)))
	if err != nil || c.ID != 77 {
		t.Fatalf("customer refused for one unknown consent state: %v", err)
	}
	if len(cs) != 1 || cs[0].Channel != "sms" || cs[0].State != "subscribed" {
		t.Fatalf("consents %+v, want sms subscribed only", cs)
	}
	if len(skipped) != 1 || !strings.Contains(apperr.Message(skipped[0]), `email marketing consent state "opted_in"`) {
		t.Fatalf("skipped %v, want the email channel named with its state", skipped)
	}
	_, _, err = parseConsentUpdate(fuzzEnv(SourceShopify, "customers/email_marketing_consent_update", []byte(`{"customer_id":77,"email_marketing_consent":{"state":"opted_in"}}`)))
	mustInvalid(t, err)
}
