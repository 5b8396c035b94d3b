package profile

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"
)

// Shards spread the tenant's customer listing over GSI1 partitions.
const Shards = 16

// Shard returns the listing shard of a customer id, as two hex digits.
func Shard(customerID string) string {
	h := fnv.New32a()
	h.Write([]byte(customerID))
	return fmt.Sprintf("%02x", h.Sum32()%Shards)
}

func custPK(tenant, id string) string         { return "T#" + tenant + "#CUST#" + id }
func listPK(tenant, shard string) string      { return "T#" + tenant + "#CUSTOMERS#" + shard }
func idxPK(tenant, kind, value string) string { return "T#" + tenant + "#IDX#" + kind + "#" + value }
func orderGSI(tenant, orderID string) string  { return "T#" + tenant + "#ORDER#" + orderID }

// Item sort keys and prefixes in a customer partition.
const (
	skProfile  = "PROFILE"
	skOrder    = "ORDER#"
	skEvent    = "EVENT#"
	skConsent  = "CONSENT#"
	skMessage  = "MSG#"
	skMerge    = "MERGE#"
	skCheckout = "CHECKOUT#"
	skIndex    = "IDX"
)

// Profile is the item T#<t>#CUST#<id> / PROFILE. Personal fields hold
// pii-sealed values. Money is kept in minor units (cents) to add exactly.
type Profile struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI1PK string `dynamodbav:"GSI1PK,omitempty"` // removed once merged into another profile
	GSI1SK string `dynamodbav:"GSI1SK,omitempty"`

	ID        string `dynamodbav:"id"`
	Email     string `dynamodbav:"email,omitempty"`     // sealed
	Phone     string `dynamodbav:"phone,omitempty"`     // sealed
	FirstName string `dynamodbav:"firstName,omitempty"` // sealed
	LastName  string `dynamodbav:"lastName,omitempty"`  // sealed
	Address   string `dynamodbav:"address,omitempty"`   // sealed JSON of the default address
	ShopifyID string `dynamodbav:"shopifyId,omitempty"`
	Tags      string `dynamodbav:"tags,omitempty"`
	Currency  string `dynamodbav:"currency,omitempty"`

	OrdersCount     int               `dynamodbav:"ordersCount"`
	TotalSpentCents int64             `dynamodbav:"totalSpentCents"`
	FirstOrderAt    string            `dynamodbav:"firstOrderAt,omitempty"`
	LastOrderAt     string            `dynamodbav:"lastOrderAt,omitempty"`
	LastEngagement  map[string]string `dynamodbav:"lastEngagement,omitempty"` // channel → RFC 3339
	Hours           []int             `dynamodbav:"hours,omitempty"`          // 24 counters of activity by UTC hour
	Segments        []string          `dynamodbav:"segments,omitempty"`       // written by the segment function
	IndexKeys       []string          `dynamodbav:"indexKeys,omitempty"`      // identity-index PKs this profile owns
	MergedInto      string            `dynamodbav:"mergedInto,omitempty"`
	Anonymous       bool              `dynamodbav:"anonymous,omitempty"` // known only by an anonymous id so far
	// FieldsAt is the provider time of the newest profile-field update applied:
	// an older payload never overwrites newer fields.
	FieldsAt  string `dynamodbav:"fieldsAt,omitempty"`
	CreatedAt string `dynamodbav:"createdAt"`
	UpdatedAt string `dynamodbav:"updatedAt"`
	Version   int64  `dynamodbav:"version"`
}

// AverageOrderValue is derived, never stored stale.
func (p Profile) AverageOrderValue() float64 {
	if p.OrdersCount <= 0 {
		return 0
	}
	return money(p.TotalSpentCents) / float64(p.OrdersCount)
}

// PreferredHours returns up to three UTC hours with the most activity.
func (p Profile) PreferredHours() []int {
	type hc struct{ h, c int }
	var top []hc
	for h, c := range p.Hours {
		if c == 0 {
			continue
		}
		top = append(top, hc{h, c})
	}
	for i := range top { // tiny insertion sort: 24 items at most
		for j := i; j > 0 && (top[j].c > top[j-1].c || (top[j].c == top[j-1].c && top[j].h < top[j-1].h)); j-- {
			top[j], top[j-1] = top[j-1], top[j]
		}
	}
	out := []int{}
	for i := 0; i < len(top) && i < 3; i++ {
		out = append(out, top[i].h)
	}
	return out
}

// ServiceWindow is how long WhatsApp's customer-service window stays open
// after the customer's last inbound message: inside it free-form messages
// may be sent; outside it only approved templates.
const ServiceWindow = 24 * time.Hour

// WhatsAppWindowOpen reports whether the customer wrote on WhatsApp within
// ServiceWindow before now (lastEngagement["whatsapp"] is set only by
// inbound messages, never by delivery statuses).
func (p Profile) WhatsAppWindowOpen(now time.Time) bool {
	last, err := time.Parse(time.RFC3339Nano, p.LastEngagement["whatsapp"])
	return err == nil && !now.Before(last) && now.Sub(last) < ServiceWindow
}

func money(cents int64) float64 { return math.Round(float64(cents)) / 100 }

// IndexItem is T#<t>#IDX#<kind>#<value> / IDX: one identity → customer.
type IndexItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	CustomerID string `dynamodbav:"customerId"`
	Kind       string `dynamodbav:"kind"`
	At         string `dynamodbav:"at"`
}

// Order is T#<t>#CUST#<id> / ORDER#<placedAt>#<orderId>.
type Order struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`

	OrderID       string      `dynamodbav:"orderId"`
	Name          string      `dynamodbav:"name,omitempty"`
	PlacedAt      string      `dynamodbav:"placedAt"`
	UpdatedAt     string      `dynamodbav:"providerUpdatedAt"` // provider time of this state
	Currency      string      `dynamodbav:"currency,omitempty"`
	TotalCents    int64       `dynamodbav:"totalCents"`
	RefundedCents int64       `dynamodbav:"refundedCents"`
	RefundIDs     []string    `dynamodbav:"refundIds,omitempty"`
	Financial     string      `dynamodbav:"financialStatus,omitempty"`
	Fulfillment   string      `dynamodbav:"fulfillmentStatus,omitempty"`
	CancelledAt   string      `dynamodbav:"cancelledAt,omitempty"`
	CheckoutToken string      `dynamodbav:"checkoutToken,omitempty"`
	Source        string      `dynamodbav:"source,omitempty"`
	Lines         []OrderLine `dynamodbav:"lines,omitempty"`
	// Counted/CountedCents are what this order currently contributes to the
	// profile's aggregates, so a later state adjusts them by the difference.
	Counted      bool  `dynamodbav:"counted"`
	CountedCents int64 `dynamodbav:"countedCents"`
}

// OrderLine is a product line of an order (no personal data).
type OrderLine struct {
	ProductID string `dynamodbav:"productId,omitempty" json:"productId,omitempty"`
	Title     string `dynamodbav:"title" json:"title"`
	SKU       string `dynamodbav:"sku,omitempty" json:"sku,omitempty"`
	Quantity  int    `dynamodbav:"quantity" json:"quantity"`
	PriceCent int64  `dynamodbav:"priceCents" json:"-"`
}

// Event is T#<t>#CUST#<id> / EVENT#<at>#<eventId>: an on-site event or an
// engagement with a message.
type Event struct {
	PK         string         `dynamodbav:"PK"`
	SK         string         `dynamodbav:"SK"`
	EventID    string         `dynamodbav:"eventId"`
	Type       string         `dynamodbav:"type"`              // page_view, add_to_cart, email.open, sms.delivered, …
	Channel    string         `dynamodbav:"channel,omitempty"` // web, email, sms, whatsapp
	Source     string         `dynamodbav:"source"`
	At         string         `dynamodbav:"at"`
	Properties map[string]any `dynamodbav:"properties,omitempty"`
}

// Consent is T#<t>#CUST#<id> / CONSENT#<channel>.
type Consent struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	Channel   string `dynamodbav:"channel"`
	State     string `dynamodbav:"state"` // subscribed, unsubscribed, not_subscribed, pending
	Source    string `dynamodbav:"source"`
	Detail    string `dynamodbav:"detail,omitempty"` // e.g. the keyword or opt-in level
	UpdatedAt string `dynamodbav:"providerAt"`       // provider time: older never overwrites
	// FutureStated is the time a statement dated ahead of the clock gave
	// (it was recorded as of when it arrived); kept across later states so
	// the same statement sent again does not count as new.
	FutureStated string `dynamodbav:"futureStated,omitempty"`
}

// Consent states.
const (
	Subscribed    = "subscribed"
	Unsubscribed  = "unsubscribed"
	NotSubscribed = "not_subscribed"
	Pending       = "pending"
)

// Checkout is T#<t>#CUST#<id> / CHECKOUT#<token>. While it is open it sits
// in GSI2 under CHECKOUT-DUE, sorted by when it counts as abandoned.
type Checkout struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	GSI2PK string `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK string `dynamodbav:"GSI2SK,omitempty"`

	Tenant      string      `dynamodbav:"tenant"`
	CustomerID  string      `dynamodbav:"customerId"`
	Token       string      `dynamodbav:"token"`
	UpdatedAt   string      `dynamodbav:"providerUpdatedAt"`
	TotalCents  int64       `dynamodbav:"totalCents"`
	Currency    string      `dynamodbav:"currency,omitempty"`
	URL         string      `dynamodbav:"url,omitempty"`
	CompletedAt string      `dynamodbav:"completedAt,omitempty"`
	AbandonedAt string      `dynamodbav:"abandonedAt,omitempty"`
	Lines       []OrderLine `dynamodbav:"lines,omitempty"`
}

// MergeRecord is T#<t>#CUST#<survivor> / MERGE#<at>#<mergedId>: enough to
// undo the merge (the merged profile as it was, the index keys and the
// items moved from its partition).
type MergeRecord struct {
	PK          string   `dynamodbav:"PK"`
	SK          string   `dynamodbav:"SK"`
	SurvivorID  string   `dynamodbav:"survivorId"`
	MergedID    string   `dynamodbav:"mergedId"`
	At          string   `dynamodbav:"at"`
	Reason      string   `dynamodbav:"reason"`
	MovedKeys   []string `dynamodbav:"movedKeys,omitempty"` // SKs moved into the survivor partition
	IndexKeys   []string `dynamodbav:"indexKeys,omitempty"` // index PKs re-pointed to the survivor
	MergedState []byte   `dynamodbav:"mergedState"`         // the merged profile item, JSON
	Undone      bool     `dynamodbav:"undone,omitempty"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// sortTS is a fixed-width timestamp for sort keys (lexical = chronological).
func sortTS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
