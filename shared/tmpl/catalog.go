package tmpl

import (
	"sort"
	"strings"
	"time"
)

// Var documents one template variable.
type Var struct {
	Path        string `json:"path"` // e.g. customer.first_name; list elements as order.line_items[].title
	Type        string `json:"type"` // string, number, money (cents, use | money), date, list, url
	Description string `json:"description"`
	// Default is what an empty value renders as. Personal fields render
	// empty, so write {{ customer.first_name | default: "there" }}.
	Default string `json:"default,omitempty"`
}

// catalog is every variable content may use, in Shopify's snake_case
// spelling. Money is in minor units (cents), as in Shopify's Liquid.
var catalog = []Var{
	{"customer.id", "string", "PulseHub customer id", ""},
	{"customer.first_name", "string", "first name", ""},
	{"customer.last_name", "string", "last name", ""},
	{"customer.name", "string", "first and last name", ""},
	{"customer.email", "string", "email address", ""},
	{"customer.phone", "string", "phone number (E.164)", ""},
	{"customer.orders_count", "number", "orders placed", "0"},
	{"customer.total_spent", "money", "lifetime spend, net of refunds", "0"},
	{"customer.average_order_value", "money", "total_spent / orders_count", "0"},
	{"customer.first_order_at", "date", "first order time (use | date: \"%b %d, %Y\")", ""},
	{"customer.last_order_at", "date", "last order time", ""},
	{"customer.tags", "string", "Shopify customer tags, comma-separated", ""},
	{"customer.currency", "string", "the customer's currency (ISO 4217)", ""},

	{"order.id", "string", "Shopify order id of the order the message is about", ""},
	{"order.name", "string", "order name as the shop shows it, e.g. #1001", ""},
	{"order.total_price", "money", "order total", "0"},
	{"order.currency", "string", "order currency", ""},
	{"order.created_at", "date", "when the order was placed", ""},
	{"order.item_count", "number", "items in the order", "0"},
	{"order.line_items", "list", "the order's lines (at most 50)", ""},

	{"checkout.url", "url", "the abandoned checkout's recovery link", ""},
	{"checkout.total_price", "money", "checkout total", "0"},
	{"checkout.currency", "string", "checkout currency", ""},
	{"checkout.item_count", "number", "items in the checkout", "0"},
	{"checkout.line_items", "list", "the checkout's lines (at most 50)", ""},

	{"product.id", "string", "Shopify product id of the featured product", ""},
	{"product.title", "string", "product title", ""},
	{"product.url", "url", "product page", ""},
	{"product.price", "money", "price", "0"},
	{"product.image_url", "url", "main image", ""},

	{"shop.name", "string", "shop name (Shopify integration shopName)", ""},
	{"shop.domain", "string", "shop domain", ""},
	{"shop.url", "url", "storefront URL", ""},
	{"shop.currency", "string", "shop currency", ""},

	{"unsubscribe_url", "url", "the recipient's signed unsubscribe link (email)", ""},
}

// lineItemFields are the fields of each element of a line_items list.
var lineItemFields = []Var{
	{"title", "string", "product title", ""},
	{"quantity", "number", "quantity", "0"},
	{"price", "money", "unit price", "0"},
	{"sku", "string", "SKU", ""},
	{"product_id", "string", "Shopify product id", ""},
}

// Variables returns the documented variables, list elements included as
// "order.line_items[].title", sorted by path.
func Variables() []Var {
	out := make([]Var, 0, len(catalog)+2*len(lineItemFields))
	for _, v := range catalog {
		out = append(out, v)
		if v.Type == "list" {
			for _, f := range lineItemFields {
				f.Path = v.Path + "[]." + f.Path
				out = append(out, f)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// known maps each path to its type, with list element fields under
// "<list path>[].<field>".
var known = func() map[string]string {
	m := map[string]string{}
	for _, v := range Variables() {
		m[v.Path] = v.Type
	}
	return m
}()

// roots are the top-level names.
var roots = func() map[string]bool {
	m := map[string]bool{}
	for p := range known {
		r, _, _ := strings.Cut(p, ".")
		m[r] = true
	}
	return m
}()

// MaxLines bounds the line items a list holds when rendered.
const MaxLines = 50

// Data is what one message renders from. Money is in minor units.
type Data struct {
	Customer       Customer
	Order          *Order
	Checkout       *Checkout
	Product        *Product
	Shop           Shop
	UnsubscribeURL string
}

// Customer is the recipient.
type Customer struct {
	ID, FirstName, LastName, Email, Phone, Tags, Currency string
	OrdersCount                                           int
	TotalSpentCents                                       int64
	FirstOrderAt, LastOrderAt                             time.Time
}

// Order is the order a message is about (a thank-you, a review request).
type Order struct {
	ID, Name, Currency string
	TotalCents         int64
	CreatedAt          time.Time
	Lines              []Line
}

// Checkout is an abandoned checkout.
type Checkout struct {
	URL, Currency string
	TotalCents    int64
	Lines         []Line
}

// Line is an order or checkout line.
type Line struct {
	Title, SKU, ProductID string
	Quantity              int
	PriceCents            int64
}

// Product is a featured product.
type Product struct {
	ID, Title, URL, ImageURL string
	PriceCents               int64
}

// Shop is the merchant's store.
type Shop struct {
	Name, Domain, URL, Currency string
}

// bindings turns d into Liquid's variables. Every catalog variable is
// present (empty when unknown), so `default` filters apply.
func (d Data) bindings() map[string]any {
	c := d.Customer
	aov := int64(0)
	if c.OrdersCount > 0 {
		aov = (c.TotalSpentCents + int64(c.OrdersCount)/2) / int64(c.OrdersCount)
	}
	name := strings.TrimSpace(c.FirstName + " " + c.LastName)
	b := map[string]any{
		"customer": map[string]any{
			"id": c.ID, "first_name": c.FirstName, "last_name": c.LastName, "name": name, "email": c.Email, "phone": c.Phone,
			"orders_count": c.OrdersCount, "total_spent": c.TotalSpentCents, "average_order_value": aov,
			"first_order_at": date(c.FirstOrderAt), "last_order_at": date(c.LastOrderAt), "tags": c.Tags, "currency": c.Currency,
		},
		"shop":            map[string]any{"name": d.Shop.Name, "domain": d.Shop.Domain, "url": d.Shop.URL, "currency": d.Shop.Currency},
		"unsubscribe_url": d.UnsubscribeURL,
	}
	o := map[string]any{"id": "", "name": "", "total_price": int64(0), "currency": "", "created_at": "", "item_count": 0, "line_items": []any{}}
	if d.Order != nil {
		o = map[string]any{"id": d.Order.ID, "name": d.Order.Name, "total_price": d.Order.TotalCents, "currency": d.Order.Currency,
			"created_at": date(d.Order.CreatedAt), "item_count": items(d.Order.Lines), "line_items": lines(d.Order.Lines)}
	}
	b["order"] = o
	ck := map[string]any{"url": "", "total_price": int64(0), "currency": "", "item_count": 0, "line_items": []any{}}
	if d.Checkout != nil {
		ck = map[string]any{"url": d.Checkout.URL, "total_price": d.Checkout.TotalCents, "currency": d.Checkout.Currency,
			"item_count": items(d.Checkout.Lines), "line_items": lines(d.Checkout.Lines)}
	}
	b["checkout"] = ck
	p := map[string]any{"id": "", "title": "", "url": "", "price": int64(0), "image_url": ""}
	if d.Product != nil {
		p = map[string]any{"id": d.Product.ID, "title": d.Product.Title, "url": d.Product.URL, "price": d.Product.PriceCents, "image_url": d.Product.ImageURL}
	}
	b["product"] = p
	return b
}

// date renders a time as RFC 3339 (the date filter reads it), "" when zero.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func items(ls []Line) int {
	n := 0
	for _, l := range ls {
		n += l.Quantity
	}
	return n
}

func lines(ls []Line) []any {
	if len(ls) > MaxLines {
		ls = ls[:MaxLines]
	}
	out := make([]any, len(ls))
	for i, l := range ls {
		out[i] = map[string]any{"title": l.Title, "quantity": l.Quantity, "price": l.PriceCents, "sku": l.SKU, "product_id": l.ProductID}
	}
	return out
}

// Sample is a plausible customer for previews and tests.
func Sample(shop Shop) Data {
	t := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	return Data{
		Customer: Customer{ID: "c_sample", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+15555550100",
			OrdersCount: 3, TotalSpentCents: 18750, FirstOrderAt: t.AddDate(-1, 0, 0), LastOrderAt: t, Currency: "USD"},
		Order: &Order{ID: "1001", Name: "#1001", Currency: "USD", TotalCents: 5990, CreatedAt: t,
			Lines: []Line{{Title: "Blue Train (LP)", Quantity: 1, PriceCents: 3490, SKU: "LP-001"}, {Title: "Kind of Blue (LP)", Quantity: 1, PriceCents: 2500}}},
		Checkout: &Checkout{URL: "https://" + shop.Domain + "/checkouts/sample", Currency: "USD", TotalCents: 3490,
			Lines: []Line{{Title: "A Love Supreme (LP)", Quantity: 1, PriceCents: 3490}}},
		Product:        &Product{ID: "42", Title: "A Love Supreme (LP)", URL: shop.URL + "/products/a-love-supreme", PriceCents: 3490},
		Shop:           shop,
		UnsubscribeURL: "https://example.com/unsubscribe/sample",
	}
}
