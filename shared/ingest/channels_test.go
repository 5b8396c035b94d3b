package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/ingest"
	"github.com/pulsehub/pulsehub/shared/profile"
)

func consentOf(t *testing.T, ps *profile.Store, cid, channel string) profile.Consent {
	t.Helper()
	cs, err := ps.Consents(context.Background(), "t1", cid)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Channel == channel {
			return c
		}
	}
	return profile.Consent{}
}

func TestUnsubscribeLinkRecordsConsentAndAudit(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	// Subscribed an hour earlier, through Shopify.
	r, err := h.ps.Resolve(ctx, "t1", profile.Identity{Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.ps.SetConsent(ctx, "t1", r.CustomerID, profile.Consent{Channel: "email", State: profile.Subscribed, Source: "shopify"}, at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	body := ingest.Unsubscribe{CustomerID: r.CustomerID, Channel: "email", CampaignID: "camp-1", Variant: "B", Method: ingest.UnsubscribeOneClick}
	msg := envOf(t, ingest.SourceUnsubscribe, ingest.TopicUnsubscribe, "sha256:link1", at, body)
	process(t, h.p, msg, msg) // a second click dedupes

	c := consentOf(t, h.ps, r.CustomerID, "email")
	if c.State != profile.Unsubscribed || c.Source != ingest.SourceUnsubscribe || c.Detail != "one-click camp-1" {
		t.Fatalf("consent %+v", c)
	}
	if n := count(h.rec, catalog.EventConsentChanged); n != 1 {
		t.Fatalf("%d consent.changed events", n)
	}
	page, err := h.audit.List(ctx, "t1", at.Format("2006-01"), "", 50)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range page.Items {
		if e.Action == audit.CustomerUnsubscribed {
			n++
			if e.Target != r.CustomerID || e.Detail["method"] != "one-click" || e.Detail["campaignId"] != "camp-1" || e.Detail["channel"] != "email" {
				t.Errorf("audit entry %+v", e)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d audit entries", n)
	}
}

func TestUnsubscribeFollowsMergesAndRefusesBadBodies(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	anon, _ := h.ps.Resolve(ctx, "t1", profile.Identity{AnonymousID: "a-1"})
	known, _ := h.ps.Resolve(ctx, "t1", profile.Identity{Email: "bo@example.com"})
	if err := h.ps.Merge(ctx, "t1", known.CustomerID, anon.CustomerID, "test"); err != nil {
		t.Fatal(err)
	}
	// The message went to the id that has since been merged away.
	process(t, h.p, envOf(t, ingest.SourceUnsubscribe, ingest.TopicUnsubscribe, "sha256:l2", time.Now(),
		ingest.Unsubscribe{CustomerID: anon.CustomerID, Channel: "email", Method: ingest.UnsubscribePage}))
	if c := consentOf(t, h.ps, known.CustomerID, "email"); c.State != profile.Unsubscribed || c.Detail != "page" {
		t.Fatalf("survivor's consent %+v", c)
	}
	// An erased (unknown) customer: nothing to do, not an error.
	process(t, h.p, envOf(t, ingest.SourceUnsubscribe, ingest.TopicUnsubscribe, "sha256:l3", time.Now(),
		ingest.Unsubscribe{CustomerID: "c-gone", Channel: "email", Method: ingest.UnsubscribePage}))

	for _, bad := range []ingest.Unsubscribe{
		{Channel: "email", Method: "page"},
		{CustomerID: known.CustomerID, Channel: "fax", Method: "page"},
		{CustomerID: known.CustomerID, Channel: "email", Method: "carrier-pigeon"},
	} {
		err := h.p.Process(ctx, envOf(t, ingest.SourceUnsubscribe, ingest.TopicUnsubscribe, "sha256:"+bad.Channel+bad.Method, time.Now(), bad))
		if err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

func TestPushDeviceEvents(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	token := "fGx3kT0bQe2cVd9_aPl:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	sub := map[string]any{"event": ingest.EventPushSubscribed, "eventId": "e-1", "timestamp": at, "userId": "u-1", "email": "cy@example.com",
		"properties": map[string]any{"token": token, "platform": "android", "app": "shop"}}
	process(t, h.p, envOf(t, ingest.SourceCollect, "collect", "e-1", at, sub))
	r, _ := h.ps.Resolve(ctx, "t1", profile.Identity{Email: "cy@example.com"})
	ds, err := h.ps.Devices(ctx, "t1", r.CustomerID)
	if err != nil || len(ds) != 1 || ds[0].Token != token || ds[0].Platform != "android" {
		t.Fatalf("devices %+v %v", ds, err)
	}
	if c := consentOf(t, h.ps, r.CustomerID, "push"); c.State != profile.Subscribed {
		t.Fatalf("push consent %+v", c)
	}
	// The stored event keeps its other properties, not the token.
	tl, _ := h.ps.Timeline(ctx, "t1", r.CustomerID, 0)
	found := false
	for _, e := range tl {
		if e.Kind == "event" && e.Data["type"] == ingest.EventPushSubscribed {
			props, _ := e.Data["properties"].(map[string]any)
			if _, leaked := props["token"]; leaked || props["app"] != "shop" {
				t.Fatalf("stored properties %v", props)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("the push_subscribed event was not stored")
	}

	unsub := map[string]any{"event": ingest.EventPushUnsubscribed, "eventId": "e-2", "timestamp": at.Add(time.Second), "email": "cy@example.com",
		"properties": map[string]any{"token": token}}
	process(t, h.p, envOf(t, ingest.SourceCollect, "collect", "e-2", at, unsub))
	if ds, _ := h.ps.Devices(ctx, "t1", r.CustomerID); len(ds) != 0 {
		t.Fatalf("devices after push_unsubscribed %+v", ds)
	}
	if c := consentOf(t, h.ps, r.CustomerID, "push"); c.State != profile.Unsubscribed {
		t.Fatalf("push consent %+v", c)
	}
	noToken := map[string]any{"event": ingest.EventPushSubscribed, "eventId": "e-3", "email": "cy@example.com", "properties": map[string]any{}}
	if err := h.p.Process(ctx, envOf(t, ingest.SourceCollect, "collect", "e-3", at, noToken)); err == nil {
		t.Fatal("push_subscribed without a token was accepted")
	}
}
