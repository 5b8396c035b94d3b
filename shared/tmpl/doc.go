// Package tmpl renders campaign and flow content: Liquid
// (github.com/osteele/liquid, the language Shopify merchants know) over
// customer, order, checkout, product and shop variables spelled as in
// Shopify (customer.first_name, customer.orders_count, shop.name, …; the
// catalog is Variables(), documented in docs/channels.md). Money is in
// minor units and formats with | money, as in Shopify's Liquid.
//
// Validate reports every problem with the field and the reason: invalid
// Liquid with its line, an unknown variable with the nearest known name
// ("did you mean customer.first_name?"), an unknown filter, a loop beyond
// the limits. Compile validates and parses once; the Template renders
// many times, concurrently.
//
// Content is untrusted input, so rendering is bounded: {% include %} is
// disabled (no file access), ranges are literal and at most MaxRange wide,
// loops nest at most MaxLoopDepth deep, strings and lists a template
// builds are capped (MaxString, MaxList), and output stops at MaxOutput.
package tmpl
