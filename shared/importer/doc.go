// Package importer turns order history from elsewhere (a CSV export, the
// CDNOW data set) into Shopify-shaped customers and orders, so they enter
// PulseHub through the same path as live data: signed Shopify webhooks to
// POST /webhooks/shopify. A column mapping says which CSV column holds which
// field; rows of one customer on one day (or sharing an order id) become one
// order.
package importer
