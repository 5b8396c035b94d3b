package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/integration"
	"github.com/pulsehub/pulsehub/shared/meta"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

// Outbox queues Conversions API events for the sync function (meta.Outbox).
type Outbox interface {
	Add(ctx context.Context, tenant string, e meta.Event) (bool, error)
}

// IntegrationConfig reads an integration's configuration without its
// secrets (integration.Store).
type IntegrationConfig interface {
	Config(ctx context.Context, tenant, name string) (map[string]string, error)
}

// Conversions queues the Conversions API copies of purchases, started
// checkouts, add-to-carts and product views for tenants whose Meta
// integration has a pixel id. Events older than meta.MaxAge are never
// queued. Whether a tenant has a pixel is cached for ttl per instance, so a
// newly saved pixel applies within ttl.
type Conversions struct {
	outbox Outbox
	config IntegrationConfig
	ttl    time.Duration
	now    func() time.Time

	mu     sync.Mutex
	pixels map[string]cachedPixel
}

type cachedPixel struct {
	on  bool
	exp time.Time
}

// maxCachedPixels bounds the per-instance cache.
const maxCachedPixels = 10_000

// NewConversions returns Conversions over the outbox and the integration settings.
func NewConversions(o Outbox, c IntegrationConfig, ttl time.Duration, now func() time.Time) *Conversions {
	if now == nil {
		now = time.Now
	}
	return &Conversions{outbox: o, config: c, ttl: ttl, now: now, pixels: map[string]cachedPixel{}}
}

func (c *Conversions) enabled(ctx context.Context, tenant string) (bool, error) {
	now := c.now()
	c.mu.Lock()
	p, ok := c.pixels[tenant]
	c.mu.Unlock()
	if ok && now.Before(p.exp) {
		return p.on, nil
	}
	cfg, err := c.config.Config(ctx, tenant, integration.Meta)
	if err != nil && apperr.KindOf(err) != apperr.NotFound {
		return false, fmt.Errorf("ingest: meta settings: %w", err)
	}
	on := cfg["pixelId"] != ""
	c.mu.Lock()
	if len(c.pixels) >= maxCachedPixels {
		clear(c.pixels)
	}
	c.pixels[tenant] = cachedPixel{on: on, exp: now.Add(c.ttl)}
	c.mu.Unlock()
	return on, nil
}

// add queues e unless it is older than meta.MaxAge; a time ahead of the
// clock is clamped to now (Meta refuses future event times).
func (c *Conversions) add(ctx context.Context, tenant string, e meta.Event) error {
	now := c.now()
	if e.EventTime < now.Add(-meta.MaxAge).Unix() {
		return nil
	}
	e.EventTime = min(e.EventTime, now.Unix())
	if _, err := c.outbox.Add(ctx, tenant, e); err != nil {
		return fmt.Errorf("ingest: queue %s for meta: %w", e.EventName, err)
	}
	return nil
}

// CAPIEventName maps a collected event name to the Conversions API event it
// is forwarded as, "" when it is not forwarded. Both the GA4 e-commerce
// names the GTM template sends (docs/gtm.md) and Shopify's customer-event
// names are understood. Purchases are not taken from the browser: the
// Shopify order is the source of truth (see purchaseEvent).
func CAPIEventName(collected string) string {
	switch strings.ToLower(strings.TrimSpace(collected)) {
	case "view_item", "product_viewed":
		return meta.EventViewContent
	case "add_to_cart", "product_added_to_cart":
		return meta.EventAddToCart
	case "begin_checkout", "checkout_started":
		return meta.EventInitiateCheckout
	}
	return ""
}

// PurchaseEventID is the event_id of an order's Purchase: the order's
// checkout token (what a storefront Pixel can read at checkout_completed as
// event.data.checkout.token, or {{ checkout.token }} on the thank-you page)
// and, for an order without one (POS, draft or API orders, which have no
// browser Pixel copy), the order id.
func PurchaseEventID(o shopify.Order) string {
	if o.CheckoutToken != "" {
		return o.CheckoutToken
	}
	return strconv.FormatInt(o.ID, 10)
}

// purchaseEvent is the Conversions API Purchase of a Shopify order.
func purchaseEvent(o shopify.Order, customerID string, placed time.Time) meta.Event {
	p := meta.Person{Email: o.Email, Phone: o.Phone, ExternalID: customerID}
	if c := o.Customer; c != nil {
		p.Email = cmpStr(p.Email, c.Email)
		p.Phone = cmpStr(p.Phone, c.Phone)
		p.FirstName, p.LastName = c.FirstName, c.LastName
	}
	if a := o.BillingAddress; a != nil {
		p.FirstName = cmpStr(p.FirstName, a.FirstName)
		p.LastName = cmpStr(p.LastName, a.LastName)
		p.Phone = cmpStr(p.Phone, a.Phone)
		p.City, p.State, p.Zip, p.Country = a.City, cmpStr(a.ProvinceCode, a.Province), a.Zip, cmpStr(a.CountryCode, a.Country)
	}
	if cd := o.ClientDetails; cd != nil {
		p.UserAgent = cd.UserAgent
	}
	// The client IP is left out on purpose: the outbox keeps only hashed
	// personal data (docs/security.md), and Meta wants the IP unhashed.
	src := "other"
	switch {
	case o.SourceName == "pos":
		src = "physical_store"
	case p.UserAgent != "":
		src = "website"
	}
	total, _ := Cents(o.TotalPrice)
	cd := &meta.CustomData{Currency: o.Currency, Value: float64(total) / 100, OrderID: strconv.FormatInt(o.ID, 10), ContentType: "product"}
	for _, li := range o.LineItems {
		id := li.SKU
		if li.ProductID != 0 {
			id = strconv.FormatInt(li.ProductID, 10)
		}
		if id == "" {
			continue
		}
		price, _ := Cents(li.Price)
		cd.ContentIDs = append(cd.ContentIDs, id)
		cd.Contents = append(cd.Contents, meta.Content{ID: id, Quantity: li.Quantity, Price: float64(price) / 100})
		cd.NumItems += li.Quantity
	}
	return meta.Event{EventName: meta.EventPurchase, EventTime: placed.Unix(), EventID: PurchaseEventID(o),
		ActionSource: src, UserData: meta.UserDataOf(p), CustomData: cd}
}

// collectedEvent is the Conversions API copy of a collected browser event;
// ok is false for events that are not forwarded. The user agent comes from
// the envelope (the webhooks function copies the request's), fbp / fbc from
// properties when the tag sends Meta's _fbp / _fbc cookies.
func collectedEvent(e collectEvent, env Envelope, person meta.Person, at time.Time) (meta.Event, bool) {
	name := CAPIEventName(e.Event)
	if name == "" {
		return meta.Event{}, false
	}
	person.UserAgent = env.Headers["user-agent"]
	person.Fbp, person.Fbc = propString(e.Properties, "fbp"), propString(e.Properties, "fbc")
	ev := meta.Event{EventName: name, EventTime: at.Unix(), EventID: e.EventID, ActionSource: "website",
		EventSourceURL: propString(e.Properties, "url"), UserData: meta.UserDataOf(person)}
	ev.CustomData = ecommerceData(e.Properties)
	return ev, true
}

// ecommerceData reads GA4's e-commerce object (properties.ecommerce:
// currency, value, items[{item_id, price, quantity}]), falling back to
// top-level currency / value properties.
func ecommerceData(props map[string]any) *meta.CustomData {
	src := props
	if ec, ok := props["ecommerce"].(map[string]any); ok {
		src = ec
	}
	cd := &meta.CustomData{Currency: strings.ToUpper(propString(src, "currency")), Value: propNumber(src, "value"), ContentType: "product"}
	items, _ := src["items"].([]any)
	for _, raw := range items {
		it, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		id := cmpStr(propString(it, "item_id"), propString(it, "id"))
		if id == "" {
			continue
		}
		q := 1
		if f := propNumber(it, "quantity"); f >= 1 && f <= maxQuantity {
			q = int(f)
		}
		cd.ContentIDs = append(cd.ContentIDs, id)
		cd.Contents = append(cd.Contents, meta.Content{ID: id, Quantity: q, Price: propNumber(it, "price")})
		cd.NumItems += q
	}
	if cd.Currency == "" && cd.Value == 0 && len(cd.ContentIDs) == 0 {
		return nil
	}
	return cd
}

func propString(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	return ""
}

// propNumber reads a number or numeric string; 0 when absent or not
// finite ("NaN", "1e400" parse, but JSON cannot encode them, and the outbox
// stores the event as JSON).
func propNumber(m map[string]any, k string) float64 {
	var f float64
	switch v := m[k].(type) {
	case float64:
		f = v
	case json.Number:
		f, _ = v.Float64()
	case string:
		f, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// maxQuantity bounds a browser-sent item quantity: beyond it the number is
// noise, and summing such numbers would overflow num_items.
const maxQuantity = 1_000_000

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// queuePurchase queues an order's Purchase. It runs for every state of the
// order that is not cancelled, not only its first: the outbox keeps one
// copy per event id, so a redelivery after a failed queueing still queues
// it, and a second sighting (webhook and sync) does not send it twice.
func (p *Processor) queuePurchase(ctx context.Context, env Envelope, o shopify.Order, customerID string, placed time.Time) error {
	if p.capi == nil || o.CancelledAt != nil || env.Source == SourceImport {
		return nil // imported history is not a live conversion
	}
	on, err := p.capi.enabled(ctx, env.Tenant)
	if err != nil || !on {
		return err
	}
	return p.capi.add(ctx, env.Tenant, purchaseEvent(o, customerID, placed))
}

// queueCollected queues the Conversions API copy of a collected event.
// When the event itself names nobody, the known customer's contact details
// (opened from the profile) improve Meta's match.
func (p *Processor) queueCollected(ctx context.Context, env Envelope, e collectEvent, customerID string, at time.Time) error {
	if p.capi == nil || CAPIEventName(e.Event) == "" {
		return nil
	}
	on, err := p.capi.enabled(ctx, env.Tenant)
	if err != nil || !on {
		return err
	}
	person := meta.Person{Email: e.Email, Phone: e.Phone, ExternalID: customerID}
	if person.Email == "" && person.Phone == "" {
		c, err := p.contact(ctx, env.Tenant, customerID)
		if err != nil {
			return err
		}
		person.Email, person.Phone, person.FirstName, person.LastName = c.Email, c.Phone, c.FirstName, c.LastName
	}
	ev, _ := collectedEvent(e, env, person, at)
	return p.capi.add(ctx, env.Tenant, ev)
}

// contact opens a known customer's contact details (none for an anonymous visitor).
func (p *Processor) contact(ctx context.Context, tenant, id string) (profile.Customer, error) {
	pr, err := p.profiles.Profile(ctx, tenant, id)
	if err != nil {
		return profile.Customer{}, fmt.Errorf("ingest: profile for meta: %w", err)
	}
	if pr.Anonymous {
		return profile.Customer{}, nil
	}
	return p.profiles.View(ctx, tenant, pr)
}
