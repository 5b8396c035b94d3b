package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/audit"
	"github.com/pulsehub/pulsehub/shared/profile"
)

// TopicUnsubscribe is the topic of an opt-out through a message's signed
// unsubscribe link (the webhooks function's /unsubscribe/{token} route).
const TopicUnsubscribe = "unsubscribe/link"

// Unsubscribe is the body of an unsubscribe envelope: what the verified
// link said, and how it was used.
type Unsubscribe struct {
	CustomerID string `json:"customerId"`
	Channel    string `json:"channel"`
	CampaignID string `json:"campaignId,omitempty"`
	Variant    string `json:"variant,omitempty"`
	// Method is "one-click" (RFC 8058 List-Unsubscribe-Post, sent by the
	// mailbox provider) or "page" (the recipient confirmed on the landing page).
	Method string `json:"method"`
}

// Unsubscribe methods.
const (
	UnsubscribeOneClick = "one-click"
	UnsubscribePage     = "page"
)

func parseUnsubscribe(env Envelope) (Unsubscribe, error) {
	var u Unsubscribe
	if err := json.Unmarshal(env.Body, &u); err != nil {
		return Unsubscribe{}, invalid(env, err)
	}
	switch {
	case u.CustomerID == "":
		return Unsubscribe{}, invalid(env, fmt.Errorf("unsubscribe names no customer"))
	case !slices.Contains(profile.ConsentChannels, u.Channel):
		return Unsubscribe{}, invalid(env, fmt.Errorf("unsubscribe channel %q is not one of %s", u.Channel, strings.Join(profile.ConsentChannels, ", ")))
	case u.Method != UnsubscribeOneClick && u.Method != UnsubscribePage:
		return Unsubscribe{}, invalid(env, fmt.Errorf("unsubscribe method %q", u.Method))
	}
	return u, nil
}

// unsubscribe records the opt-out on the consent path (consent.changed
// follows when the state changed) and in the workspace's audit log.
func (p *Processor) unsubscribe(ctx context.Context, env Envelope) error {
	u, err := parseUnsubscribe(env)
	if err != nil {
		return err
	}
	// The message may have gone to a profile merged since: Profile
	// follows the merge to the survivor.
	pr, err := p.profiles.Profile(ctx, env.Tenant, u.CustomerID)
	if apperr.KindOf(err) == apperr.NotFound {
		// Erased since the message went out: nobody left to unsubscribe.
		p.log.InfoContext(ctx, "ingest: unsubscribe for an unknown customer", "tenant", env.Tenant, "customer", u.CustomerID)
		return nil
	}
	if err != nil {
		return err
	}
	cid := pr.ID
	detail := u.Method
	if u.CampaignID != "" {
		detail += " " + u.CampaignID
	}
	if err := p.consent(ctx, env, cid, u.Channel, profile.Unsubscribed, detail, env.TriggeredAt); err != nil {
		return err
	}
	if p.comp.Audit == nil {
		return nil
	}
	return p.comp.Audit.Record(ctx, env.Tenant, audit.Entry{Action: audit.CustomerUnsubscribed, At: env.TriggeredAt, Target: cid,
		Detail: map[string]string{"channel": u.Channel, "campaignId": u.CampaignID, "variant": u.Variant, "method": u.Method}})
}

// Collected events that register push devices (docs/channels.md).
const (
	EventPushSubscribed   = "push_subscribed"   // properties: token, platform
	EventPushUnsubscribed = "push_unsubscribed" // properties: token
)

// pushDevice applies a push_subscribed or push_unsubscribed event: the
// device token is kept (sealed) with the customer, push consent follows
// the app's permission, and the token is taken out of the event's
// properties before the event is stored.
func (p *Processor) pushDevice(ctx context.Context, env Envelope, e *collectEvent, cid string) error {
	tok, _ := e.Properties["token"].(string)
	if strings.TrimSpace(tok) == "" {
		return apperr.E(apperr.Invalid, "collect event %s %s needs properties.token (the FCM registration token)", e.Event, e.EventID)
	}
	platform, _ := e.Properties["platform"].(string)
	props := make(map[string]any, len(e.Properties))
	for k, v := range e.Properties {
		if k != "token" {
			props[k] = v
		}
	}
	e.Properties = props
	at := e.Timestamp
	if at.IsZero() {
		at = env.TriggeredAt
	}
	if e.Event == EventPushSubscribed {
		if err := p.profiles.RegisterDevice(ctx, env.Tenant, cid, profile.Device{Token: tok, Platform: platform, SeenAt: at}); err != nil {
			return err
		}
		return p.consent(ctx, env, cid, "push", profile.Subscribed, "device registered", at)
	}
	if err := p.profiles.RemoveDevice(ctx, env.Tenant, cid, tok); err != nil {
		return err
	}
	return p.consent(ctx, env, cid, "push", profile.Unsubscribed, "device unregistered", at)
}
