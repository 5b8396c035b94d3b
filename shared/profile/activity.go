package profile

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// On-site and engagement events, and consent per channel.

// RecordEvent stores an on-site or engagement event once (by event id) and
// updates the activity hours and the channel's last engagement.
func (s *Store) RecordEvent(ctx context.Context, tenant, cid string, e Event, at time.Time) (bool, error) {
	e.PK, e.SK, e.At = custPK(tenant, cid), skEvent+sortTS(at)+"#"+e.EventID, ts(at)
	applied := false
	_, _, err := s.mutate(ctx, tenant, cid, func(p *Profile) (bool, []store.TxOp, error) {
		var prev Event
		err := s.t.Get(ctx, store.Key{PK: e.PK, SK: e.SK}, &prev)
		if err == nil {
			return false, nil, nil // already recorded
		}
		if apperr.KindOf(err) != apperr.NotFound {
			return false, nil, err
		}
		bumpHour(p, at)
		if e.Channel != "" && engaged(e.Type) {
			if p.LastEngagement == nil {
				p.LastEngagement = map[string]string{}
			}
			if ts(at) > p.LastEngagement[e.Channel] {
				p.LastEngagement[e.Channel] = ts(at)
			}
		}
		applied = true
		return true, []store.TxOp{s.t.TxPut(e, store.IfAbsent())}, nil
	})
	if err != nil {
		return false, fmt.Errorf("profile.RecordEvent %s/%s: %w", cid, e.EventID, err)
	}
	return applied, nil
}

// consentSkew is how far ahead of this clock a consent statement may be dated.
const consentSkew = 5 * time.Minute

// SetConsent records a channel's consent state as of provider time at. An
// older statement never overwrites a newer one. changed reports a new state.
func (s *Store) SetConsent(ctx context.Context, tenant, cid string, c Consent, at time.Time) (changed bool, err error) {
	stated, now := ts(at), s.now()
	future := at.After(now.Add(consentSkew))
	if future {
		// A statement dated ahead of our clock (a provider's clock error)
		// counts as of now, or it would outrank every real one after it.
		at = now
	}
	c.PK, c.SK, c.UpdatedAt = custPK(tenant, cid), skConsent+c.Channel, ts(at)
	for range attempts {
		var prev Consent
		err := s.t.Get(ctx, store.Key{PK: c.PK, SK: c.SK}, &prev)
		exists := err == nil
		if err != nil && apperr.KindOf(err) != apperr.NotFound {
			return false, fmt.Errorf("profile.SetConsent %s: %w", cid, err)
		}
		if exists && (c.UpdatedAt <= prev.UpdatedAt || future && prev.FutureStated == stated) {
			return false, nil // older, or the same future-dated statement again
		}
		c.FutureStated = prev.FutureStated
		if future {
			c.FutureStated = stated
		}
		cond := store.IfAbsent()
		if exists {
			cond = store.If(expression.Name("providerAt").Equal(expression.Value(prev.UpdatedAt)))
		}
		err = s.t.Put(ctx, c, cond)
		if err == nil {
			return !exists || prev.State != c.State, nil
		}
		if apperr.KindOf(err) != apperr.Conflict {
			return false, fmt.Errorf("profile.SetConsent %s: %w", cid, err)
		}
	}
	return false, apperr.E(apperr.Transient, "consent of %s is busy; retry", cid)
}

// Consents returns a customer's consent per channel.
func (s *Store) Consents(ctx context.Context, tenant, cid string) ([]Consent, error) {
	return store.QueryAll[Consent](ctx, s.t, store.Query{PK: custPK(tenant, cid), SKPrefix: skConsent, Consistent: true}, 0)
}

// ConsentChannels are the channels whose consent the customer detail shows.
var ConsentChannels = []string{"email", "sms", "whatsapp", "push"}

// ChannelConsent is the current consent on one channel, as the API shows it.
type ChannelConsent struct {
	Channel   string `json:"channel"`
	State     string `json:"state"`               // not_subscribed when nothing was ever recorded
	UpdatedAt string `json:"updatedAt,omitempty"` // provider time of the last change
	Source    string `json:"source,omitempty"`    // the source that reported it (shopify, twilio, ...)
}

// ConsentByChannel returns the customer's current consent on each of
// ConsentChannels, in that order. A channel never recorded is
// not_subscribed: marketing needs an explicit opt-in.
func (s *Store) ConsentByChannel(ctx context.Context, tenant, cid string) ([]ChannelConsent, error) {
	cs, err := s.Consents(ctx, tenant, cid)
	if err != nil {
		return nil, fmt.Errorf("profile.ConsentByChannel %s: %w", cid, err)
	}
	out := make([]ChannelConsent, 0, len(ConsentChannels))
	for _, ch := range ConsentChannels {
		cc := ChannelConsent{Channel: ch, State: NotSubscribed}
		for _, c := range cs {
			if c.Channel == ch {
				cc.State, cc.UpdatedAt, cc.Source = c.State, c.UpdatedAt, c.Source
			}
		}
		out = append(out, cc)
	}
	return out, nil
}
