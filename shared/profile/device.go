package profile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/store"
)

// skDevice prefixes a customer's push device tokens.
const skDevice = "DEVICE#"

// MaxDevices bounds the devices kept per customer; registering one more
// drops the one seen longest ago.
const MaxDevices = 10

// Device is a customer's push device: an FCM registration token.
type Device struct {
	Token    string    `json:"token"`
	Platform string    `json:"platform,omitempty"` // android, ios, web
	SeenAt   time.Time `json:"seenAt"`             // last registration (apps register on every start)
}

// deviceItem is T#<t>#CUST#<id> / DEVICE#<blind index of the token>; the
// token itself is sealed.
type deviceItem struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	Token    string `dynamodbav:"token"` // sealed
	Platform string `dynamodbav:"platform,omitempty"`
	SeenAt   string `dynamodbav:"seenAt"`
}

// MaxDeviceToken bounds a token's length (FCM tokens are ~160 characters).
const MaxDeviceToken = 4096

func (s *Store) deviceKey(ctx context.Context, tenant, cid, token string) (store.Key, error) {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > MaxDeviceToken {
		return store.Key{}, apperr.E(apperr.Invalid, "a device token is 1 to %d characters", MaxDeviceToken)
	}
	idx, err := s.pii.BlindIndex(ctx, tenant, "device", token)
	if err != nil {
		return store.Key{}, err
	}
	return store.Key{PK: custPK(tenant, cid), SK: skDevice + idx}, nil
}

// RegisterDevice records (or refreshes) a push token of the customer and
// keeps at most MaxDevices, dropping the ones seen longest ago.
func (s *Store) RegisterDevice(ctx context.Context, tenant, cid string, d Device) error {
	k, err := s.deviceKey(ctx, tenant, cid, d.Token)
	if err != nil {
		return fmt.Errorf("profile.RegisterDevice %s: %w", cid, err)
	}
	sealed, err := s.pii.Seal(ctx, tenant, strings.TrimSpace(d.Token))
	if err != nil {
		return fmt.Errorf("profile.RegisterDevice %s: %w", cid, err)
	}
	if d.SeenAt.IsZero() {
		d.SeenAt = s.now()
	}
	it := deviceItem{PK: k.PK, SK: k.SK, Token: sealed, Platform: d.Platform, SeenAt: ts(d.SeenAt)}
	// A late, older registration must not move a device's time back.
	cond := store.If(notNewer(it.SeenAt))
	if err := s.t.Put(ctx, it, cond); err != nil && apperr.KindOf(err) != apperr.Conflict {
		return fmt.Errorf("profile.RegisterDevice %s: %w", cid, err)
	}
	items, err := store.QueryAll[deviceItem](ctx, s.t, store.Query{PK: k.PK, SKPrefix: skDevice, Consistent: true}, 0)
	if err != nil {
		return fmt.Errorf("profile.RegisterDevice %s: %w", cid, err)
	}
	if len(items) <= MaxDevices {
		return nil
	}
	slices.SortFunc(items, func(a, b deviceItem) int { return strings.Compare(b.SeenAt, a.SeenAt) })
	for _, old := range items[MaxDevices:] {
		if err := s.t.Delete(ctx, store.Key{PK: old.PK, SK: old.SK}); err != nil {
			return fmt.Errorf("profile.RegisterDevice %s: drop an old device: %w", cid, err)
		}
	}
	return nil
}

// Devices returns the customer's push devices, tokens opened, the most
// recently seen first.
func (s *Store) Devices(ctx context.Context, tenant, cid string) ([]Device, error) {
	items, err := store.QueryAll[deviceItem](ctx, s.t, store.Query{PK: custPK(tenant, cid), SKPrefix: skDevice, Consistent: true}, 0)
	if err != nil {
		return nil, fmt.Errorf("profile.Devices %s: %w", cid, err)
	}
	out := make([]Device, 0, len(items))
	for _, it := range items {
		tok, err := s.pii.Open(ctx, tenant, it.Token)
		if err != nil {
			return nil, fmt.Errorf("profile.Devices %s: %w", cid, err)
		}
		at, _ := time.Parse(time.RFC3339Nano, it.SeenAt)
		out = append(out, Device{Token: tok, Platform: it.Platform, SeenAt: at})
	}
	slices.SortFunc(out, func(a, b Device) int { return b.SeenAt.Compare(a.SeenAt) })
	return out, nil
}

// RemoveDevice forgets a push token (FCM said it is gone, or the app
// unregistered it). Removing an unknown token is not an error.
func (s *Store) RemoveDevice(ctx context.Context, tenant, cid, token string) error {
	k, err := s.deviceKey(ctx, tenant, cid, token)
	if err != nil {
		return fmt.Errorf("profile.RemoveDevice %s: %w", cid, err)
	}
	if err := s.t.Delete(ctx, k); err != nil {
		return fmt.Errorf("profile.RemoveDevice %s: %w", cid, err)
	}
	return nil
}

// notNewer holds when the stored device is absent or not seen after at.
func notNewer(at string) expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name("PK")).Or(expression.Name("seenAt").LessThanEqual(expression.Value(at)))
}
