package shopify

import "time"

// The types below are the REST webhook payload shapes (the subset PulseHub
// reads), e.g. the body of an orders/create or customers/update webhook.
// Money is a decimal string, as Shopify sends it.

// Customer is the payload of customers/create and customers/update, and the
// customer embedded in an order or checkout.
type Customer struct {
	ID                    int64             `json:"id"`
	AdminGraphQLAPIID     string            `json:"admin_graphql_api_id,omitempty"`
	Email                 string            `json:"email,omitempty"`
	Phone                 string            `json:"phone,omitempty"`
	FirstName             string            `json:"first_name,omitempty"`
	LastName              string            `json:"last_name,omitempty"`
	CreatedAt             *time.Time        `json:"created_at,omitempty"`
	UpdatedAt             *time.Time        `json:"updated_at,omitempty"`
	OrdersCount           int               `json:"orders_count"`
	TotalSpent            string            `json:"total_spent,omitempty"`
	State                 string            `json:"state,omitempty"`
	Tags                  string            `json:"tags"`
	VerifiedEmail         bool              `json:"verified_email"`
	Currency              string            `json:"currency,omitempty"`
	EmailMarketingConsent *MarketingConsent `json:"email_marketing_consent,omitempty"`
	SMSMarketingConsent   *MarketingConsent `json:"sms_marketing_consent,omitempty"`
	DefaultAddress        *Address          `json:"default_address,omitempty"`
}

// MarketingConsent is email_marketing_consent / sms_marketing_consent.
// State is subscribed, not_subscribed, unsubscribed, redacted or pending.
type MarketingConsent struct {
	State                string     `json:"state"`
	OptInLevel           string     `json:"opt_in_level,omitempty"`
	ConsentUpdatedAt     *time.Time `json:"consent_updated_at,omitempty"`
	ConsentCollectedFrom string     `json:"consent_collected_from,omitempty"`
}

// Address is a customer or order address.
type Address struct {
	FirstName    string `json:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty"`
	Address1     string `json:"address1,omitempty"`
	City         string `json:"city,omitempty"`
	Province     string `json:"province,omitempty"`
	ProvinceCode string `json:"province_code,omitempty"`
	Zip          string `json:"zip,omitempty"`
	Country      string `json:"country,omitempty"`
	CountryCode  string `json:"country_code,omitempty"`
	Phone        string `json:"phone,omitempty"`
}

// Order is the payload of orders/create, orders/updated, orders/paid,
// orders/cancelled and orders/fulfilled.
type Order struct {
	ID                    int64      `json:"id"`
	AdminGraphQLAPIID     string     `json:"admin_graphql_api_id,omitempty"`
	Name                  string     `json:"name,omitempty"`
	OrderNumber           int        `json:"order_number,omitempty"`
	Email                 string     `json:"email,omitempty"`
	Phone                 string     `json:"phone,omitempty"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
	ProcessedAt           *time.Time `json:"processed_at,omitempty"`
	CancelledAt           *time.Time `json:"cancelled_at"`
	CancelReason          string     `json:"cancel_reason,omitempty"`
	ClosedAt              *time.Time `json:"closed_at"`
	Currency              string     `json:"currency"`
	TotalPrice            string     `json:"total_price"`
	SubtotalPrice         string     `json:"subtotal_price"`
	TotalTax              string     `json:"total_tax"`
	TotalDiscounts        string     `json:"total_discounts"`
	FinancialStatus       string     `json:"financial_status,omitempty"`
	FulfillmentStatus     *string    `json:"fulfillment_status"`
	BuyerAcceptsMarketing bool       `json:"buyer_accepts_marketing"`
	CheckoutToken         string     `json:"checkout_token,omitempty"`
	SourceName            string     `json:"source_name,omitempty"`
	Tags                  string     `json:"tags"`
	Customer              *Customer  `json:"customer,omitempty"`
	LineItems             []LineItem `json:"line_items"`
	Refunds               []Refund   `json:"refunds"`
	BillingAddress        *Address   `json:"billing_address,omitempty"`
	// Browser context Shopify records with the order; it feeds the Conversions API.
	BrowserIP     string         `json:"browser_ip,omitempty"`
	ClientDetails *ClientDetails `json:"client_details,omitempty"`
}

// ClientDetails is the browser the order was placed from.
type ClientDetails struct {
	BrowserIP string `json:"browser_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// LineItem is one line of an order or checkout.
type LineItem struct {
	ID        int64  `json:"id"`
	ProductID int64  `json:"product_id,omitempty"`
	VariantID int64  `json:"variant_id,omitempty"`
	Title     string `json:"title"`
	SKU       string `json:"sku,omitempty"`
	Vendor    string `json:"vendor,omitempty"`
	Quantity  int    `json:"quantity"`
	Price     string `json:"price"`
}

// Refund is the payload of refunds/create and an element of Order.Refunds.
type Refund struct {
	ID              int64            `json:"id"`
	OrderID         int64            `json:"order_id"`
	CreatedAt       time.Time        `json:"created_at"`
	ProcessedAt     *time.Time       `json:"processed_at,omitempty"`
	Note            string           `json:"note,omitempty"`
	RefundLineItems []RefundLineItem `json:"refund_line_items"`
	Transactions    []Transaction    `json:"transactions"`
}

// RefundLineItem is a refunded quantity of one line item.
type RefundLineItem struct {
	ID         int64  `json:"id"`
	LineItemID int64  `json:"line_item_id"`
	Quantity   int    `json:"quantity"`
	Subtotal   string `json:"subtotal"`
}

// Transaction is a payment movement; refunds carry kind "refund".
type Transaction struct {
	ID       int64  `json:"id"`
	OrderID  int64  `json:"order_id"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Checkout is the payload of checkouts/create and checkouts/update. A
// checkout whose CompletedAt stays empty is an abandoned cart.
type Checkout struct {
	ID                    int64      `json:"id"`
	Token                 string     `json:"token"`
	CartToken             string     `json:"cart_token,omitempty"`
	Email                 string     `json:"email,omitempty"`
	Phone                 string     `json:"phone,omitempty"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
	CompletedAt           *time.Time `json:"completed_at"`
	AbandonedCheckoutURL  string     `json:"abandoned_checkout_url,omitempty"`
	Currency              string     `json:"currency"`
	TotalPrice            string     `json:"total_price"`
	SubtotalPrice         string     `json:"subtotal_price"`
	BuyerAcceptsMarketing bool       `json:"buyer_accepts_marketing"`
	Customer              *Customer  `json:"customer,omitempty"`
	LineItems             []LineItem `json:"line_items"`
}

// Webhook topics PulseHub sends or replays.
const (
	TopicCustomersCreate = "customers/create"
	TopicCustomersUpdate = "customers/update"
	TopicOrdersCreate    = "orders/create"
	TopicOrdersUpdated   = "orders/updated"
	TopicOrdersPaid      = "orders/paid"
	TopicOrdersCancelled = "orders/cancelled"
	TopicOrdersFulfilled = "orders/fulfilled"
	TopicRefundsCreate   = "refunds/create"
	TopicCheckoutsCreate = "checkouts/create"
	TopicCheckoutsUpdate = "checkouts/update"
)
