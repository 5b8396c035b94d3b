package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/pulsehub/pulsehub/shared/importer"
	"github.com/pulsehub/pulsehub/shared/shopify"
)

// Shares of orders refunded and cancelled, and of customers who leave a
// cart behind in the last two weeks.
const (
	refundShare    = 0.02
	cancelShare    = 0.01
	abandonEvery   = 16 // one customer in 16
	paidWindow     = 60 * 24 * time.Hour
	eventWindow    = 30 * 24 * time.Hour
	abandonedRange = 14 * 24 * time.Hour
)

type timed struct {
	at time.Time
	d  shopify.Delivery
}

func (d *Dataset) webhooks(today time.Time, byID map[int64]*shopify.Customer, cds []CD, rng *rand.Rand) error {
	var later []timed
	add := func(topic string, id int64, at time.Time, payload any) error {
		w, err := importer.Webhook(ShopDomain, topic, id, at, payload)
		if err != nil {
			return err
		}
		later = append(later, timed{at, w})
		return nil
	}
	for _, c := range d.History.Customers {
		w, err := importer.Webhook(ShopDomain, shopify.TopicCustomersCreate, c.ID, *c.CreatedAt, c)
		if err != nil {
			return err
		}
		d.Webhooks = append(d.Webhooks, w)
	}
	for i := range d.History.Orders {
		o := d.History.Orders[i]
		r := rand.New(rand.NewPCG(uint64(o.ID), 13))
		if err := add(shopify.TopicOrdersCreate, o.ID, o.CreatedAt, o); err != nil {
			return err
		}
		if today.Sub(o.CreatedAt) < paidWindow {
			if err := add(shopify.TopicOrdersPaid, o.ID, o.CreatedAt.Add(time.Minute), o); err != nil {
				return err
			}
		}
		switch x := r.Float64(); {
		case x < cancelShare && o.CreatedAt.Add(2*time.Hour).Before(today):
			at := o.CreatedAt.Add(time.Hour)
			c := o
			c.CancelledAt, c.CancelReason, c.FinancialStatus, c.UpdatedAt = &at, "customer", "refunded", at
			d.History.Orders[i] = c
			d.Cancelled++
			if err := add(shopify.TopicOrdersCancelled, o.ID, at, c); err != nil {
				return err
			}
		case x < cancelShare+refundShare && o.CreatedAt.Add(72*time.Hour).Before(today):
			at := o.CreatedAt.Add(48 * time.Hour)
			ref := shopify.Refund{ID: importer.ID("refund", strconv.FormatInt(o.ID, 10)), OrderID: o.ID, CreatedAt: at, ProcessedAt: &at, Note: "Damaged case",
				Transactions: []shopify.Transaction{{ID: importer.ID("refund-tx", strconv.FormatInt(o.ID, 10)), OrderID: o.ID, Kind: "refund", Status: "success", Amount: o.TotalPrice, Currency: o.Currency}}}
			for _, li := range o.LineItems {
				ref.RefundLineItems = append(ref.RefundLineItems, shopify.RefundLineItem{ID: li.ID + 5, LineItemID: li.ID, Quantity: li.Quantity,
					Subtotal: importer.Money(parseCents(li.Price) * int64(li.Quantity))})
			}
			d.Refunds++
			if err := add(shopify.TopicRefundsCreate, ref.ID, at, ref); err != nil {
				return err
			}
		}
		if today.Sub(o.CreatedAt) < eventWindow {
			d.Collect = append(d.Collect, funnel(o, r)...)
		}
	}
	// Abandoned carts: a checkout started, never completed.
	for i, c := range d.History.Customers {
		if i%abandonEvery != 0 {
			continue
		}
		r := rand.New(rand.NewPCG(uint64(c.ID), 17))
		at := today.Add(-2*time.Hour - time.Duration(r.Int64N(int64(abandonedRange))))
		cd := cds[r.IntN(len(cds))]
		price := int64(999 + r.IntN(900))
		co := shopify.Checkout{ID: importer.ID("checkout", strconv.FormatInt(c.ID, 10)), Token: fmt.Sprintf("demo%016x", c.ID), CartToken: fmt.Sprintf("cart%016x", c.ID),
			Email: c.Email, Phone: c.Phone, CreatedAt: at, UpdatedAt: at, Currency: "USD",
			AbandonedCheckoutURL: "https://" + ShopDomain + "/checkouts/recover/" + strconv.FormatInt(c.ID, 10),
			TotalPrice:           importer.Money(price), SubtotalPrice: importer.Money(price),
			BuyerAcceptsMarketing: c.EmailMarketingConsent.State == "subscribed",
			Customer:              &shopify.Customer{ID: c.ID, Email: c.Email, Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName},
			LineItems:             []shopify.LineItem{{ID: 1, ProductID: cd.ID, VariantID: cd.VariantID, Title: cd.Title + " — " + cd.Artist, SKU: cd.SKU, Quantity: 1, Price: importer.Money(price)}}}
		d.Abandoned++
		if err := add(shopify.TopicCheckoutsCreate, co.ID, at, co); err != nil {
			return err
		}
		d.Collect = append(d.Collect,
			CollectEvent{Event: "view_item", EventID: fmt.Sprintf("demo-%d-cart-view", co.ID), Timestamp: at.Add(-6 * time.Minute).Format(time.RFC3339),
				UserID: strconv.FormatInt(c.ID, 10), Email: c.Email, Properties: map[string]any{"sku": cd.SKU, "title": cd.Title, "price": float64(price) / 100}},
			CollectEvent{Event: "add_to_cart", EventID: fmt.Sprintf("demo-%d-cart-add", co.ID), Timestamp: at.Add(-3 * time.Minute).Format(time.RFC3339),
				UserID: strconv.FormatInt(c.ID, 10), Email: c.Email, Properties: map[string]any{"sku": cd.SKU, "title": cd.Title, "price": float64(price) / 100, "quantity": 1}})
	}
	sort.SliceStable(later, func(i, j int) bool { return later[i].at.Before(later[j].at) })
	for _, t := range later {
		d.Webhooks = append(d.Webhooks, t.d)
	}
	sort.SliceStable(d.Collect, func(i, j int) bool { return d.Collect[i].Timestamp < d.Collect[j].Timestamp })
	return nil
}

// funnel is the on-site path to a recent order: a page view, product views,
// add to cart and checkout, with the ids a Pixel would use.
func funnel(o shopify.Order, r *rand.Rand) []CollectEvent {
	uid, anon := strconv.FormatInt(o.Customer.ID, 10), fmt.Sprintf("anon-%d", o.Customer.ID)
	ev := func(name, suffix string, before time.Duration, props map[string]any) CollectEvent {
		return CollectEvent{Event: name, EventID: fmt.Sprintf("demo-%d-%s", o.ID, suffix), Timestamp: o.CreatedAt.Add(-before).Format(time.RFC3339),
			UserID: uid, AnonymousID: anon, Email: o.Email, Properties: props}
	}
	out := []CollectEvent{ev("page_view", "page", 20*time.Minute, map[string]any{"url": "https://" + ShopDomain + "/"})}
	for i, li := range o.LineItems {
		p := map[string]any{"sku": li.SKU, "title": li.Title, "price": float64(parseCents(li.Price)) / 100, "productId": li.ProductID}
		out = append(out, ev("view_item", "view-"+strconv.Itoa(i), time.Duration(15-i)*time.Minute, p))
		q := map[string]any{"sku": li.SKU, "title": li.Title, "price": p["price"], "quantity": li.Quantity, "productId": li.ProductID}
		out = append(out, ev("add_to_cart", "add-"+strconv.Itoa(i), time.Duration(8-i)*time.Minute, q))
	}
	out = append(out, ev("begin_checkout", "checkout", 3*time.Minute, map[string]any{"value": float64(parseCents(o.TotalPrice)) / 100, "currency": o.Currency}))
	if r.Float64() < 0.3 {
		out = append(out, ev("page_view", "page-return", -24*time.Hour, map[string]any{"url": "https://" + ShopDomain + "/collections/new"}))
	}
	return out
}
