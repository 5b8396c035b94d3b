// Package store is PulseHub's typed access to its single DynamoDB table.
//
// It owns the mechanics every domain package needs — marshalling,
// conditional writes, transactions, pagination with opaque tamper-evident
// cursors, provisioning from the catalog and versioned data migrations —
// while each domain package (auth, profile, campaign, …) owns its own item
// types and key layout, documented in docs/data-model.md.
//
// Every key starts with the tenant ("T#<tenant>#…") so no call can read
// across tenants by accident; the tenant always comes from a verified token
// or a verified webhook, never from a request body.
package store
