package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulsehub/pulsehub/shared/apperr"
	"github.com/pulsehub/pulsehub/shared/bus"
	"github.com/pulsehub/pulsehub/shared/catalog"
	"github.com/pulsehub/pulsehub/shared/idem"
	"github.com/pulsehub/pulsehub/shared/profile"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

// Idem runs work once per key (idem.Store): Do with its own claim, or a
// claim written in the caller's transaction (Hold) completed afterwards.
type Idem interface {
	Do(ctx context.Context, scope, key string, ttl time.Duration, fn func(ctx context.Context) ([]byte, error)) ([]byte, bool, error)
	profile.Claims
	Complete(ctx context.Context, h idem.Hold, ttl time.Duration) error
	CompleteAll(ctx context.Context, holds []idem.Hold, ttl time.Duration) error
}

// Batch collects the order claims of one queue batch whose follow-up work
// is done, so they are completed together (one write per 25 orders) when
// the batch ends instead of one write each. A claim left open by a crash
// before that only means a redelivery redoes the follow-ups, which are
// idempotent.
type Batch struct {
	mu    sync.Mutex
	holds []idem.Hold
}

func (b *Batch) add(h idem.Hold) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holds = append(b.holds, h)
}

// InBatch returns a Processor that leaves its order claims to b; complete
// them with Complete when the batch ends.
func (p *Processor) InBatch(b *Batch) *Processor {
	q := *p
	q.batch = b
	return &q
}

// Complete completes the claims b collected. Failing only logs: the
// records are done, and their claims' leases run out instead.
func (p *Processor) Complete(ctx context.Context, b *Batch) {
	b.mu.Lock()
	holds := b.holds
	b.holds = nil
	b.mu.Unlock()
	if err := p.idem.CompleteAll(ctx, holds, dedupeTTL); err != nil {
		p.log.WarnContext(ctx, "ingest: could not complete order claims", "claims", len(holds), "error", err)
	}
}

// complete completes an order's claim now, or leaves it to the batch.
func (p *Processor) complete(ctx context.Context, h idem.Hold) error {
	if p.batch != nil {
		p.batch.add(h)
		return nil
	}
	return p.idem.Complete(ctx, h, dedupeTTL)
}

// dedupeScope is the idempotency scope of ingested deliveries.
const dedupeScope = "ingest"

// Publisher publishes domain events (bus.Publisher).
type Publisher interface {
	Publish(ctx context.Context, events ...bus.Event) error
}

// dedupeTTL covers providers' retry windows (Shopify retries for 48 h).
const dedupeTTL = 7 * 24 * time.Hour

// Processor applies envelopes to customer data.
type Processor struct {
	log      *slog.Logger
	profiles *profile.Store
	idem     Idem
	bus      Publisher
	comp     Compliance
	capi     *Conversions // nil: nothing is queued for Meta
	batch    *Batch       // nil: order claims are completed one by one
}

// NewProcessor returns a Processor; capi may be nil (no Conversions API).
func NewProcessor(log *slog.Logger, p *profile.Store, i Idem, b Publisher, c Compliance, capi *Conversions) *Processor {
	return &Processor{log: log, profiles: p, idem: i, bus: b, comp: c, capi: capi}
}

// DedupeKey is the business identity of an envelope. For Shopify it is the
// event id and topic when Shopify sent X-Shopify-Event-Id (one event reaches
// several subscriptions with distinct webhook ids), else the webhook id.
func DedupeKey(e Envelope) string {
	if ev := e.Headers["x-shopify-event-id"]; ev != "" {
		return e.Source + "#evt#" + ev + "#" + e.Topic
	}
	return e.Source + "#" + e.Topic + "#" + e.ID
}

// Process handles one queue message body. Invalid input is apperr.Invalid
// (dead-lettered with the reason); dependency failures are retried.
func (p *Processor) Process(ctx context.Context, body []byte) error {
	env, err := Decode(body)
	if err != nil {
		return err
	}
	if isOrder(env) {
		// Orders claim their delivery inside the order's own transaction
		// (profile.Once): two DynamoDB requests fewer than Do's claim and
		// completion around it.
		err = p.Apply(ctx, env)
	} else {
		_, _, err = p.idem.Do(ctx, dedupeScope, env.Tenant+"#"+DedupeKey(env), dedupeTTL, func(ctx context.Context) ([]byte, error) {
			return nil, p.Apply(ctx, env)
		})
	}
	if err != nil {
		return fmt.Errorf("ingest %s %s %s: %w", env.Source, env.Topic, env.ID, err)
	}
	return nil
}

// isOrder reports whether env is an order state (the order path of shopify).
func isOrder(env Envelope) bool {
	switch env.Source {
	case SourceShopify, SourceSync, SourceImport:
		switch env.Topic {
		case "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled":
			return true
		}
	}
	return false
}

func invalid(env Envelope, err error) error {
	return apperr.Wrap(apperr.Invalid, err, "%s %s body is not the expected JSON", env.Source, env.Topic)
}

// Apply normalises one envelope (without dedupe; every step is idempotent).
func (p *Processor) Apply(ctx context.Context, env Envelope) error {
	switch env.Source {
	case SourceShopify, SourceSync, SourceImport:
		return p.shopify(ctx, env)
	case SourceCollect:
		return p.collect(ctx, env)
	case SourceTwilio:
		return p.twilio(ctx, env)
	case SourceSendGrid:
		return p.sendgrid(ctx, env)
	case SourceWhatsApp:
		return p.whatsapp(ctx, env)
	case SourceUnsubscribe:
		return p.unsubscribe(ctx, env)
	case SourceMeta:
		// Page/lead callbacks are kept for audit only: leads need a Graph API
		// read that the sync function owns.
		if !json.Valid(env.Body) || env.Body[0] != '{' {
			return invalid(env, fmt.Errorf("not a JSON object"))
		}
		p.log.InfoContext(ctx, "meta callback acknowledged", "topic", env.Topic, "tenant", env.Tenant)
		return nil
	}
	return apperr.E(apperr.Invalid, "unknown source %q", env.Source)
}

func (p *Processor) publish(ctx context.Context, tenant, detailType, id string, detail any) error {
	if p.bus == nil {
		return nil
	}
	return p.bus.Publish(ctx, bus.Event{Tenant: tenant, DetailType: detailType, ID: id, Detail: detail})
}

// Cents parses a non-negative decimal money string ("59.90") into minor units.
func Cents(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return 0, apperr.E(apperr.Invalid, "money value %q is not a decimal amount", s)
	}
	if f < 0 {
		// Prices, totals and refund amounts are never negative in Shopify.
		return 0, apperr.E(apperr.Invalid, "money value %q is negative", s)
	}
	return int64(math.Round(f * 100)), nil
}

func customerIdentity(c *shopify.Customer, email, phone string) profile.Identity {
	id := profile.Identity{Email: email, Phone: phone}
	if c != nil {
		if c.ID != 0 {
			id.ShopifyID = strconv.FormatInt(c.ID, 10)
		}
		if c.Email != "" {
			id.Email = c.Email
		}
		if c.Phone != "" {
			id.Phone = c.Phone
		}
	}
	return id
}

func (p *Processor) shopify(ctx context.Context, env Envelope) error {
	t := env.Tenant
	switch env.Topic {
	case "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled":
		// Every order topic is an upsert ordered by updated_at: an
		// orders/updated for an order never seen (the sync backfill, a missed
		// orders/create) creates it, and the create arriving later is older.
		o, st, err := parseOrder(env)
		if err != nil {
			return err
		}
		return p.order(ctx, env, o, st)
	case "refunds/create":
		r, cents, err := parseRefund(env)
		if err != nil {
			return err
		}
		_, err = p.profiles.ApplyRefund(ctx, t, strconv.FormatInt(r.OrderID, 10), strconv.FormatInt(r.ID, 10), cents, r.CreatedAt)
		if apperr.KindOf(err) == apperr.NotFound {
			// The order may still be on its way: retry until it lands.
			return apperr.Wrap(apperr.Transient, err, "refund before its order")
		}
		return err
	case "customers/create", "customers/update":
		c, cs, skipped, err := parseCustomer(env)
		if err != nil {
			return err
		}
		for _, e := range skipped {
			p.log.WarnContext(ctx, "ingest: consent left unchanged", "tenant", t, "reason", apperr.Message(e))
		}
		return p.customer(ctx, env, c, cs)
	case "customers/email_marketing_consent_update", "customers/marketing_consent_update":
		id, cs, err := parseConsentUpdate(env)
		if err != nil {
			return err
		}
		r, err := p.profiles.Resolve(ctx, t, id)
		if err != nil {
			return err
		}
		return p.consents(ctx, env, r.CustomerID, cs)
	case "checkouts/create", "checkouts/update":
		id, cs, err := parseCheckout(env)
		if err != nil {
			return err
		}
		if id == (profile.Identity{}) {
			return nil // an anonymous checkout cannot be followed up
		}
		r, err := p.profiles.Resolve(ctx, t, id)
		if err != nil {
			return err
		}
		return p.profiles.UpsertCheckout(ctx, t, r.CustomerID, cs)
	case "app/uninstalled", "customers/data_request", "customers/redact", "shop/redact":
		if env.Source != SourceShopify {
			return apperr.E(apperr.Invalid, "%s is accepted from Shopify's signed webhooks only, not from %s", env.Topic, env.Source)
		}
		return p.compliance(ctx, env)
	}
	p.log.WarnContext(ctx, "ingest topic ignored", "source", env.Source, "topic", env.Topic)
	return nil
}

func lines(items []shopify.LineItem) ([]profile.OrderLine, error) {
	out := make([]profile.OrderLine, 0, len(items))
	for _, li := range items {
		if li.Quantity < 0 {
			return nil, apperr.E(apperr.Invalid, "line item %q has quantity %d", li.Title, li.Quantity)
		}
		c, err := Cents(li.Price)
		if err != nil {
			return nil, err
		}
		pid := ""
		if li.ProductID != 0 {
			pid = strconv.FormatInt(li.ProductID, 10)
		}
		out = append(out, profile.OrderLine{ProductID: pid, Title: li.Title, SKU: li.SKU, Quantity: li.Quantity, PriceCent: c})
	}
	return out, nil
}

// parseOrder reads an order payload into the state profile stores (without
// its dedupe claim).
func parseOrder(env Envelope) (shopify.Order, profile.OrderState, error) {
	var o shopify.Order
	if err := json.Unmarshal(env.Body, &o); err != nil || o.ID == 0 {
		return o, profile.OrderState{}, invalid(env, fmt.Errorf("order: %v (id %d)", err, o.ID))
	}
	total, err := Cents(o.TotalPrice)
	if err != nil {
		return o, profile.OrderState{}, err
	}
	ls, err := lines(o.LineItems)
	if err != nil {
		return o, profile.OrderState{}, err
	}
	st := profile.OrderState{OrderID: strconv.FormatInt(o.ID, 10), Name: o.Name, Currency: o.Currency, Financial: o.FinancialStatus,
		CheckoutToken: o.CheckoutToken, Source: env.Source, PlacedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, CancelledAt: o.CancelledAt,
		TotalCents: total, Lines: ls}
	if o.ProcessedAt != nil && !o.ProcessedAt.IsZero() {
		st.PlacedAt = *o.ProcessedAt
	}
	if o.FulfillmentStatus != nil {
		st.Fulfillment = *o.FulfillmentStatus
	}
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = env.TriggeredAt
	}
	if o.Customer != nil {
		// Applied with the order in one write, ordered by the customer's own updated_at.
		f, at := fieldsOf(*o.Customer)
		st.Customer, st.CustomerAt = &f, at
	}
	if st.PlacedAt.IsZero() {
		return o, profile.OrderState{}, invalid(env, fmt.Errorf("order %d has no created_at", o.ID))
	}
	for _, rf := range o.Refunds {
		st.RefundIDs = append(st.RefundIDs, strconv.FormatInt(rf.ID, 10))
		c, err := refunded(rf.Transactions)
		if err != nil {
			return o, profile.OrderState{}, err
		}
		st.RefundedCents += c
	}
	return o, st, nil
}

// refunded sums the successful refund transactions.
func refunded(ts []shopify.Transaction) (int64, error) {
	var sum int64
	for _, tr := range ts {
		if tr.Kind == "refund" && tr.Status != "failure" {
			c, err := Cents(tr.Amount)
			if err != nil {
				return 0, err
			}
			sum += c
		}
	}
	return sum, nil
}

// parseRefund reads a refunds/create payload and the amount it refunded.
func parseRefund(env Envelope) (shopify.Refund, int64, error) {
	var r shopify.Refund
	if err := json.Unmarshal(env.Body, &r); err != nil || r.OrderID == 0 {
		return r, 0, invalid(env, fmt.Errorf("refund: %v (order_id %d)", err, r.OrderID))
	}
	cents, err := refunded(r.Transactions)
	return r, cents, err
}

// parseCustomer reads a customers/create or customers/update payload and
// the marketing consent it states.
func parseCustomer(env Envelope) (c shopify.Customer, cs []channelConsent, skipped []error, err error) {
	if err := json.Unmarshal(env.Body, &c); err != nil || c.ID == 0 {
		return c, nil, nil, invalid(env, fmt.Errorf("customer: %v (id %d)", err, c.ID))
	}
	// A consent state Shopify does not document drops that channel only:
	// the customer's fields and the other channel still apply.
	for _, ch := range marketingChannels(c.EmailMarketingConsent, c.SMSMarketingConsent) {
		got, ok, err := channelConsentOf(env, ch.name, ch.mc)
		if err != nil {
			skipped = append(skipped, err)
		} else if ok {
			cs = append(cs, got)
		}
	}
	return c, cs, skipped, nil
}

// parseConsentUpdate reads a customers/email_marketing_consent_update
// ({customer_id, email_address, email_marketing_consent}) or
// customers/marketing_consent_update ({id, phone, sms_marketing_consent})
// payload: who it is about and the consent it states.
func parseConsentUpdate(env Envelope) (profile.Identity, []channelConsent, error) {
	var b struct {
		CustomerID   int64                     `json:"customer_id"`
		ID           int64                     `json:"id"`
		EmailAddress string                    `json:"email_address"`
		Phone        string                    `json:"phone"`
		Email        *shopify.MarketingConsent `json:"email_marketing_consent"`
		SMS          *shopify.MarketingConsent `json:"sms_marketing_consent"`
	}
	if err := json.Unmarshal(env.Body, &b); err != nil {
		return profile.Identity{}, nil, invalid(env, err)
	}
	id := b.CustomerID
	if id == 0 {
		id = b.ID
	}
	who := customerIdentity(&shopify.Customer{ID: id}, strings.TrimSpace(b.EmailAddress), strings.TrimSpace(b.Phone))
	if who == (profile.Identity{}) {
		return who, nil, invalid(env, errors.New("consent update names no customer (no customer_id, id, email_address or phone)"))
	}
	cs, err := shopifyConsents(env, b.Email, b.SMS)
	return who, cs, err
}

// channelConsent is one channel's consent as a Shopify payload states it.
type channelConsent struct {
	Channel string // email, sms
	State   string // one of profile's consent states
	Detail  string // Shopify's opt_in_level
	At      time.Time
}

// shopifyConsents reads email and SMS marketing consent, email first. A
// channel the payload says nothing about (absent, or a null state, as in
// Shopify's sample payloads) is left out; a state outside Shopify's
// documented set is invalid rather than stored as it came.
func shopifyConsents(env Envelope, email, sms *shopify.MarketingConsent) ([]channelConsent, error) {
	var out []channelConsent
	for _, ch := range marketingChannels(email, sms) {
		c, ok, err := channelConsentOf(env, ch.name, ch.mc)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

type marketingChannel struct {
	name string
	mc   *shopify.MarketingConsent
}

func marketingChannels(email, sms *shopify.MarketingConsent) []marketingChannel {
	return []marketingChannel{{"email", email}, {"sms", sms}}
}

// channelConsentOf reads one channel's consent; ok is false when the
// payload states none.
func channelConsentOf(env Envelope, channel string, mc *shopify.MarketingConsent) (c channelConsent, ok bool, err error) {
	if mc == nil || strings.TrimSpace(mc.State) == "" {
		return channelConsent{}, false, nil
	}
	state, err := consentState(mc.State)
	if err != nil {
		return channelConsent{}, false, apperr.Wrap(apperr.Invalid, err, "%s %s: %s marketing consent state %q is not one Shopify documents", env.Source, env.Topic, channel, mc.State)
	}
	at := env.TriggeredAt
	if mc.ConsentUpdatedAt != nil && !mc.ConsentUpdatedAt.IsZero() {
		at = *mc.ConsentUpdatedAt
	}
	return channelConsent{Channel: channel, State: state, Detail: mc.OptInLevel, At: at}, true, nil
}

// consentState maps Shopify's marketing state (REST lower case, GraphQL
// upper case) to profile's consent states.
func consentState(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "subscribed":
		return profile.Subscribed, nil
	case "not_subscribed":
		return profile.NotSubscribed, nil
	case "unsubscribed":
		return profile.Unsubscribed, nil
	case "pending":
		return profile.Pending, nil
	case "redacted":
		// The customer's data was erased in Shopify: never market again.
		return profile.Unsubscribed, nil
	case "invalid":
		// Shopify cannot market to the address either; there is no
		// opt-in to rely on, and no opt-out was stated.
		return profile.NotSubscribed, nil
	}
	return "", errors.New("unknown marketing state")
}

// parseCheckout reads a checkout payload and who it belongs to (a zero
// Identity for an anonymous checkout).
func parseCheckout(env Envelope) (profile.Identity, profile.CheckoutState, error) {
	var c shopify.Checkout
	if err := json.Unmarshal(env.Body, &c); err != nil || c.Token == "" {
		return profile.Identity{}, profile.CheckoutState{}, invalid(env, fmt.Errorf("checkout: %v (no token)", err))
	}
	total, err := Cents(c.TotalPrice)
	if err != nil {
		return profile.Identity{}, profile.CheckoutState{}, err
	}
	ls, err := lines(c.LineItems)
	if err != nil {
		return profile.Identity{}, profile.CheckoutState{}, err
	}
	return customerIdentity(c.Customer, c.Email, c.Phone), profile.CheckoutState{Token: c.Token, Currency: c.Currency,
		URL: c.AbandonedCheckoutURL, UpdatedAt: c.UpdatedAt, CompletedAt: c.CompletedAt, TotalCents: total, Lines: ls}, nil
}

func (p *Processor) order(ctx context.Context, env Envelope, o shopify.Order, st profile.OrderState) error {
	t := env.Tenant
	total := st.TotalCents
	if p.idem != nil {
		st.Once = &profile.Once{Claims: p.idem, Scope: dedupeScope, Key: t + "#" + DedupeKey(env), TTL: dedupeTTL}
	}
	cid, res, err := p.profiles.ApplyCustomerOrder(ctx, t, customerIdentity(o.Customer, o.Email, o.Phone), st)
	if err != nil {
		return err
	}
	if res.Duplicate && res.Hold == nil {
		return nil // applied and followed up before
	}
	// What follows is outside the order's transaction; the claim stays
	// open until it is done, so a redelivery after a crash redoes it.
	if o.CheckoutToken != "" {
		if err := p.profiles.CompleteCheckout(ctx, t, cid, o.CheckoutToken, st.PlacedAt); err != nil {
			return err
		}
	}
	if err := p.queuePurchase(ctx, env, o, cid, st.PlacedAt); err != nil {
		return err
	}
	if res.Created {
		err := p.publish(ctx, t, catalog.EventOrderCreated, "order#"+st.OrderID, map[string]any{
			"customerId": cid, "orderId": st.OrderID, "total": float64(total) / 100, "currency": st.Currency,
			"placedAt": st.PlacedAt.UTC().Format(time.RFC3339), "checkoutToken": st.CheckoutToken, "source": env.Source})
		if err != nil {
			return err
		}
	}
	if res.Hold != nil {
		return p.complete(ctx, *res.Hold)
	}
	return nil
}

// fieldsOf reads the profile fields of a Shopify customer and the time
// they are as of (zero when the payload has no updated_at: never newer).
func fieldsOf(c shopify.Customer) (profile.Fields, time.Time) {
	at := time.Time{}
	if c.UpdatedAt != nil {
		at = *c.UpdatedAt
	}
	f := profile.Fields{Email: c.Email, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName, Tags: c.Tags, Currency: c.Currency}
	if c.DefaultAddress != nil {
		b, _ := json.Marshal(c.DefaultAddress)
		f.Address = string(b)
	}
	return f, at
}

func (p *Processor) customerFields(ctx context.Context, t, cid string, c shopify.Customer) error {
	f, at := fieldsOf(c)
	_, err := p.profiles.UpdateFields(ctx, t, cid, f, at)
	return err
}

func (p *Processor) customer(ctx context.Context, env Envelope, c shopify.Customer, cs []channelConsent) error {
	r, err := p.profiles.Resolve(ctx, env.Tenant, customerIdentity(&c, "", ""))
	if err != nil {
		return err
	}
	if err := p.customerFields(ctx, env.Tenant, r.CustomerID, c); err != nil {
		return err
	}
	if err := p.consents(ctx, env, r.CustomerID, cs); err != nil {
		return err
	}
	return p.publish(ctx, env.Tenant, catalog.EventCustomerUpdated, "customer#"+r.CustomerID+"#"+env.ID, map[string]any{"customerId": r.CustomerID})
}

func (p *Processor) consents(ctx context.Context, env Envelope, cid string, cs []channelConsent) error {
	for _, c := range cs {
		if err := p.consent(ctx, env, cid, c.Channel, c.State, c.Detail, c.At); err != nil {
			return err
		}
	}
	return nil
}

func (p *Processor) consent(ctx context.Context, env Envelope, cid, channel, state, detail string, at time.Time) error {
	changed, err := p.profiles.SetConsent(ctx, env.Tenant, cid, profile.Consent{Channel: channel, State: state, Source: env.Source, Detail: detail}, at)
	if err != nil || !changed {
		return err
	}
	return p.publish(ctx, env.Tenant, catalog.EventConsentChanged, "consent#"+cid+"#"+channel+"#"+at.UTC().Format(time.RFC3339Nano), map[string]any{
		"customerId": cid, "channel": channel, "state": state, "at": at.UTC().Format(time.RFC3339Nano), "source": env.Source})
}

// collectEvent mirrors webhook.CollectEvent (the envelope body of "collect").
type collectEvent struct {
	Event       string         `json:"event"`
	EventID     string         `json:"eventId"`
	Timestamp   time.Time      `json:"timestamp"`
	UserID      string         `json:"userId"`
	AnonymousID string         `json:"anonymousId"`
	Email       string         `json:"email"`
	Phone       string         `json:"phone"`
	Properties  map[string]any `json:"properties"`
}

// identity is who a collected event is about.
func (e collectEvent) identity() profile.Identity {
	return profile.Identity{AnonymousID: e.AnonymousID, UserID: e.UserID, Email: e.Email, Phone: e.Phone}
}

// parseCollect reads the body of a "collect" envelope: an event with its
// name, id and someone it is about. Bad input is apperr.Invalid.
func parseCollect(env Envelope) (collectEvent, error) {
	var e collectEvent
	if err := json.Unmarshal(env.Body, &e); err != nil || e.EventID == "" || e.Event == "" {
		return collectEvent{}, invalid(env, fmt.Errorf("collect event: %v (event %q, eventId %q)", err, e.Event, e.EventID))
	}
	// profile.Resolve refuses an identity with every field blank too; saying
	// so here names the collect fields.
	if blank(e.AnonymousID) && blank(e.UserID) && blank(e.Email) && blank(e.Phone) {
		return collectEvent{}, invalid(env, errors.New("collect event names nobody (no anonymousId, userId, email or phone)"))
	}
	return e, nil
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

func (p *Processor) collect(ctx context.Context, env Envelope) error {
	e, err := parseCollect(env)
	if err != nil {
		return err
	}
	r, err := p.profiles.Resolve(ctx, env.Tenant, e.identity())
	if err != nil {
		return err
	}
	at := e.Timestamp
	if at.IsZero() {
		at = env.TriggeredAt
	}
	if e.Event == EventPushSubscribed || e.Event == EventPushUnsubscribed {
		if err := p.pushDevice(ctx, env, &e, r.CustomerID); err != nil {
			return err
		}
	}
	if _, err = p.profiles.RecordEvent(ctx, env.Tenant, r.CustomerID, profile.Event{EventID: e.EventID, Type: e.Event, Channel: "web", Source: env.Source, Properties: e.Properties}, at); err != nil {
		return err
	}
	return p.queueCollected(ctx, env, e, r.CustomerID, at)
}
