package importer

import (
	"time"

	"github.com/pulsehub/pulsehub/shared/shopify"
)

// History is what an import creates.
type History struct {
	Customers []shopify.Customer
	Orders    []shopify.Order
}

// FromRows turns parsed rows into customers and orders (one per purchase).
// Order times are the purchase day at noon UTC, as a CSV rarely has times.
func FromRows(rows []Row) History {
	var h History
	custIdx := map[string]int{}
	for _, r := range rows {
		i, ok := custIdx[r.CustomerID]
		if !ok {
			at := r.Date
			i = len(h.Customers)
			custIdx[r.CustomerID] = i
			h.Customers = append(h.Customers, shopify.Customer{ID: ID("customer", r.CustomerID), CreatedAt: &at, UpdatedAt: &at, State: "enabled", Currency: r.Currency, Tags: "imported"})
		}
		c := &h.Customers[i]
		if c.Email == "" {
			c.Email = r.Email
		}
		if c.Phone == "" {
			c.Phone = r.Phone
		}
		if c.FirstName == "" {
			c.FirstName, c.LastName = r.FirstName, r.LastName
		}
		if r.Date.Before(*c.CreatedAt) {
			at := r.Date
			c.CreatedAt, c.UpdatedAt = &at, &at
		}
	}
	for n, p := range Group(rows) {
		c := h.Customers[custIdx[p.CustomerID]]
		at := p.Date
		if at.Hour() == 0 && at.Minute() == 0 {
			at = at.Add(12 * time.Hour)
		}
		h.Orders = append(h.Orders, Order(p, c, 1001+n, at))
	}
	return h
}

// Deliveries are the webhooks that bring h into PulseHub: customers/create
// for every customer, then orders/create for every order.
func Deliveries(shop string, h History) ([]shopify.Delivery, error) {
	out := make([]shopify.Delivery, 0, len(h.Customers)+len(h.Orders))
	for _, c := range h.Customers {
		d, err := Webhook(shop, shopify.TopicCustomersCreate, c.ID, *c.UpdatedAt, c)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	for _, o := range h.Orders {
		d, err := Webhook(shop, shopify.TopicOrdersCreate, o.ID, o.UpdatedAt, o)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
