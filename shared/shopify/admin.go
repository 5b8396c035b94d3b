package shopify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OrdersQuery and CustomersQuery read one page of records updated at or
// after a time, oldest update first, so a saved cursor resumes a run and the
// newest updated_at seen becomes the next run's starting point.
const OrdersQuery = `query PulseHubOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name email phone createdAt updatedAt processedAt cancelledAt cancelReason closedAt
      currencyCode displayFinancialStatus displayFulfillmentStatus tags sourceName
      totalPriceSet { shopMoney { amount currencyCode } }
      subtotalPriceSet { shopMoney { amount } }
      totalTaxSet { shopMoney { amount } }
      totalDiscountsSet { shopMoney { amount } }
      customer { id legacyResourceId email phone firstName lastName }
      lineItems(first: 10) {
        nodes { id title quantity sku vendor originalUnitPriceSet { shopMoney { amount } } product { legacyResourceId } variant { legacyResourceId } }
      }
    }
  }
}`

const CustomersQuery = `query PulseHubCustomers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId email phone firstName lastName createdAt updatedAt state tags verifiedEmail
      numberOfOrders amountSpent { amount currencyCode }
      emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
      smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt consentCollectedFrom }
      defaultAddress { firstName lastName address1 city province provinceCode zip country countryCodeV2 phone }
    }
  }
}`

// PageInfo is a connection's pageInfo.
type PageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

// UpdatedSinceQuery is the search syntax selecting records updated at or after t.
func UpdatedSinceQuery(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return "updated_at:>='" + t.UTC().Format(time.RFC3339) + "'"
}

// OrdersPage is one page of orders in REST shape.
type OrdersPage struct {
	Orders   []Order
	PageInfo PageInfo
}

// Orders reads up to first orders updated at or after since, after cursor.
func (c *Client) Orders(ctx context.Context, since time.Time, after string, first int) (OrdersPage, error) {
	var data struct {
		Orders struct {
			PageInfo PageInfo   `json:"pageInfo"`
			Nodes    []gqlOrder `json:"nodes"`
		} `json:"orders"`
	}
	if err := c.Do(ctx, OrdersQuery, pageVars(since, after, first), &data); err != nil {
		return OrdersPage{}, fmt.Errorf("shopify.Orders after %q: %w", after, err)
	}
	p := OrdersPage{PageInfo: data.Orders.PageInfo, Orders: make([]Order, 0, len(data.Orders.Nodes))}
	for _, n := range data.Orders.Nodes {
		p.Orders = append(p.Orders, n.rest())
	}
	return p, nil
}

// CustomersPage is one page of customers in REST shape.
type CustomersPage struct {
	Customers []Customer
	PageInfo  PageInfo
}

// Customers reads up to first customers updated at or after since, after cursor.
func (c *Client) Customers(ctx context.Context, since time.Time, after string, first int) (CustomersPage, error) {
	var data struct {
		Customers struct {
			PageInfo PageInfo      `json:"pageInfo"`
			Nodes    []gqlCustomer `json:"nodes"`
		} `json:"customers"`
	}
	if err := c.Do(ctx, CustomersQuery, pageVars(since, after, first), &data); err != nil {
		return CustomersPage{}, fmt.Errorf("shopify.Customers after %q: %w", after, err)
	}
	p := CustomersPage{PageInfo: data.Customers.PageInfo, Customers: make([]Customer, 0, len(data.Customers.Nodes))}
	for _, n := range data.Customers.Nodes {
		p.Customers = append(p.Customers, n.rest())
	}
	return p, nil
}

func pageVars(since time.Time, after string, first int) map[string]any {
	if first <= 0 || first > 250 {
		first = 100 // 250 is Shopify's maximum page size
	}
	v := map[string]any{"first": first}
	if after != "" {
		v["after"] = after
	}
	if q := UpdatedSinceQuery(since); q != "" {
		v["query"] = q
	}
	return v
}

// GraphQL node shapes, as read by the queries above.

type money struct {
	ShopMoney struct {
		Amount       string `json:"amount"`
		CurrencyCode string `json:"currencyCode"`
	} `json:"shopMoney"`
}

type legacy struct {
	LegacyResourceID string `json:"legacyResourceId"`
}

type gqlOrder struct {
	ID                       string     `json:"id"`
	LegacyResourceID         string     `json:"legacyResourceId"`
	Name                     string     `json:"name"`
	Email                    string     `json:"email"`
	Phone                    string     `json:"phone"`
	CreatedAt                time.Time  `json:"createdAt"`
	UpdatedAt                time.Time  `json:"updatedAt"`
	ProcessedAt              *time.Time `json:"processedAt"`
	CancelledAt              *time.Time `json:"cancelledAt"`
	CancelReason             string     `json:"cancelReason"`
	ClosedAt                 *time.Time `json:"closedAt"`
	CurrencyCode             string     `json:"currencyCode"`
	DisplayFinancialStatus   string     `json:"displayFinancialStatus"`
	DisplayFulfillmentStatus string     `json:"displayFulfillmentStatus"`
	Tags                     []string   `json:"tags"`
	SourceName               string     `json:"sourceName"`
	TotalPriceSet            money      `json:"totalPriceSet"`
	SubtotalPriceSet         money      `json:"subtotalPriceSet"`
	TotalTaxSet              money      `json:"totalTaxSet"`
	TotalDiscountsSet        money      `json:"totalDiscountsSet"`
	Customer                 *struct {
		ID               string `json:"id"`
		LegacyResourceID string `json:"legacyResourceId"`
		Email            string `json:"email"`
		Phone            string `json:"phone"`
		FirstName        string `json:"firstName"`
		LastName         string `json:"lastName"`
	} `json:"customer"`
	LineItems struct {
		Nodes []struct {
			ID                   string  `json:"id"`
			Title                string  `json:"title"`
			Quantity             int     `json:"quantity"`
			SKU                  string  `json:"sku"`
			Vendor               string  `json:"vendor"`
			OriginalUnitPriceSet money   `json:"originalUnitPriceSet"`
			Product              *legacy `json:"product"`
			Variant              *legacy `json:"variant"`
		} `json:"nodes"`
	} `json:"lineItems"`
}

func (n gqlOrder) rest() Order {
	o := Order{
		ID: atoi(n.LegacyResourceID), AdminGraphQLAPIID: n.ID, Name: n.Name, Email: n.Email, Phone: n.Phone,
		CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, ProcessedAt: n.ProcessedAt, CancelledAt: n.CancelledAt,
		CancelReason: strings.ToLower(n.CancelReason), ClosedAt: n.ClosedAt, Currency: n.CurrencyCode,
		TotalPrice: n.TotalPriceSet.ShopMoney.Amount, SubtotalPrice: n.SubtotalPriceSet.ShopMoney.Amount,
		TotalTax: n.TotalTaxSet.ShopMoney.Amount, TotalDiscounts: n.TotalDiscountsSet.ShopMoney.Amount,
		FinancialStatus: strings.ToLower(n.DisplayFinancialStatus), Tags: strings.Join(n.Tags, ", "),
		SourceName: n.SourceName, LineItems: []LineItem{}, Refunds: []Refund{},
	}
	if o.Currency == "" {
		o.Currency = n.TotalPriceSet.ShopMoney.CurrencyCode
	}
	// REST reports an unfulfilled order's fulfillment_status as null.
	if fs := strings.ToLower(n.DisplayFulfillmentStatus); fs != "" && fs != "unfulfilled" {
		o.FulfillmentStatus = &fs
	}
	if num, ok := strings.CutPrefix(n.Name, "#"); ok {
		o.OrderNumber = int(atoi(num))
	}
	if cu := n.Customer; cu != nil {
		o.Customer = &Customer{ID: atoi(cu.LegacyResourceID), AdminGraphQLAPIID: cu.ID, Email: cu.Email, Phone: cu.Phone, FirstName: cu.FirstName, LastName: cu.LastName}
	}
	for _, li := range n.LineItems.Nodes {
		l := LineItem{ID: atoi(lastSegment(li.ID)), Title: li.Title, Quantity: li.Quantity, SKU: li.SKU, Vendor: li.Vendor, Price: li.OriginalUnitPriceSet.ShopMoney.Amount}
		if li.Product != nil {
			l.ProductID = atoi(li.Product.LegacyResourceID)
		}
		if li.Variant != nil {
			l.VariantID = atoi(li.Variant.LegacyResourceID)
		}
		o.LineItems = append(o.LineItems, l)
	}
	return o
}

type gqlConsent struct {
	MarketingState       string     `json:"marketingState"`
	MarketingOptInLevel  string     `json:"marketingOptInLevel"`
	ConsentUpdatedAt     *time.Time `json:"consentUpdatedAt"`
	ConsentCollectedFrom string     `json:"consentCollectedFrom"`
}

func (g *gqlConsent) rest() *MarketingConsent {
	if g == nil {
		return nil
	}
	return &MarketingConsent{State: strings.ToLower(g.MarketingState), OptInLevel: strings.ToLower(g.MarketingOptInLevel),
		ConsentUpdatedAt: g.ConsentUpdatedAt, ConsentCollectedFrom: g.ConsentCollectedFrom}
}

type gqlCustomer struct {
	ID               string    `json:"id"`
	LegacyResourceID string    `json:"legacyResourceId"`
	Email            string    `json:"email"`
	Phone            string    `json:"phone"`
	FirstName        string    `json:"firstName"`
	LastName         string    `json:"lastName"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	State            string    `json:"state"`
	Tags             []string  `json:"tags"`
	VerifiedEmail    bool      `json:"verifiedEmail"`
	NumberOfOrders   string    `json:"numberOfOrders"` // UnsignedInt64 is a string in JSON
	AmountSpent      struct {
		Amount       string `json:"amount"`
		CurrencyCode string `json:"currencyCode"`
	} `json:"amountSpent"`
	EmailMarketingConsent *gqlConsent `json:"emailMarketingConsent"`
	SMSMarketingConsent   *gqlConsent `json:"smsMarketingConsent"`
	DefaultAddress        *struct {
		FirstName     string `json:"firstName"`
		LastName      string `json:"lastName"`
		Address1      string `json:"address1"`
		City          string `json:"city"`
		Province      string `json:"province"`
		ProvinceCode  string `json:"provinceCode"`
		Zip           string `json:"zip"`
		Country       string `json:"country"`
		CountryCodeV2 string `json:"countryCodeV2"`
		Phone         string `json:"phone"`
	} `json:"defaultAddress"`
}

func (n gqlCustomer) rest() Customer {
	created, updated := n.CreatedAt, n.UpdatedAt
	c := Customer{
		ID: atoi(n.LegacyResourceID), AdminGraphQLAPIID: n.ID, Email: n.Email, Phone: n.Phone,
		FirstName: n.FirstName, LastName: n.LastName, CreatedAt: &created, UpdatedAt: &updated,
		OrdersCount: int(atoi(n.NumberOfOrders)), TotalSpent: n.AmountSpent.Amount, Currency: n.AmountSpent.CurrencyCode,
		State: strings.ToLower(n.State), Tags: strings.Join(n.Tags, ", "), VerifiedEmail: n.VerifiedEmail,
		EmailMarketingConsent: n.EmailMarketingConsent.rest(), SMSMarketingConsent: n.SMSMarketingConsent.rest(),
	}
	if a := n.DefaultAddress; a != nil {
		c.DefaultAddress = &Address{FirstName: a.FirstName, LastName: a.LastName, Address1: a.Address1, City: a.City,
			Province: a.Province, ProvinceCode: a.ProvinceCode, Zip: a.Zip, Country: a.Country, CountryCode: a.CountryCodeV2, Phone: a.Phone}
	}
	return c
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// lastSegment returns the numeric tail of a GID like gid://shopify/LineItem/42.
func lastSegment(gid string) string {
	if i := strings.LastIndexByte(gid, '/'); i >= 0 {
		return gid[i+1:]
	}
	return gid
}

// GID returns the GraphQL global id of a REST id, e.g. GID("Order", 1).
func GID(kind string, id int64) string {
	return "gid://shopify/" + kind + "/" + strconv.FormatInt(id, 10)
}
