// Package profile keeps PulseHub's customer data: profiles with their
// incremental aggregates, orders, on-site and engagement events, consent per
// channel, checkouts, and the identity index that resolves a Shopify
// customer id, email, phone or anonymous id to one customer, merging
// profiles (recorded, reversible) when one person shows up under several.
//
// Everything about a customer lives in the partition T#<t>#CUST#<id>, so
// the GDPR export and erasure can work on one partition; the profile item
// lists the identity-index keys it owns (indexKeys) for erasure.
// Personal fields are sealed with package pii; lookups use blind indexes.
package profile
